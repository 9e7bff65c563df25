"""The nightly schedule: the whole job at 02:00 in CDP_SCHEDULE_TIMEZONE (default UTC)."""

from __future__ import annotations

import dagster as dg

from cdp import settings

NIGHTLY_CRON = "0 2 * * *"
TIMEZONE_ENV = "CDP_SCHEDULE_TIMEZONE"  # checked in cdp/settings.py


def nightly_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="nightly_at_2am",
        job=job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone=settings.schedule_timezone(),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Ingest every source, dbt build (identity included), then every declared sync.",
    )
