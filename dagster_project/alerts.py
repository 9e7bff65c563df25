"""Failure reporting: every failed step is logged, and posted to a webhook when one is set.

CDP_ALERT_WEBHOOK_URL   optional; receives a JSON POST {"text", "job", "run_id", "step", "error"}
                        (the shape Slack / Teams / Mattermost incoming webhooks accept as `text`).
"""

import os

import dagster as dg
import httpx
from dagster import HookContext

WEBHOOK_ENV = "CDP_ALERT_WEBHOOK_URL"


@dg.failure_hook(name="report_failure")
def report_failure(context: HookContext) -> None:
    error = (str(context.op_exception or "").strip().splitlines() or ["unknown error"])[0][:500]
    step = context.op.name
    alert = {
        "text": f"cdp: {context.job_name} run {context.run_id[:8]} failed in {step}: {error}",
        "job": context.job_name,
        "run_id": context.run_id,
        "step": step,
        "error": error,
    }
    context.log.error(alert["text"])
    post_alert(alert, context.log)


def post_alert(alert: dict, log) -> None:
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        return
    try:
        httpx.post(url, json=alert, timeout=10).raise_for_status()
    except httpx.HTTPError as error:  # a broken alert channel must not hide the original failure
        log.warning(f"could not post the failure alert to {WEBHOOK_ENV}: {error}")
