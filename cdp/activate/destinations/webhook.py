"""Webhook destination: JSON batches POSTed to your URL, signed with HMAC-SHA256.

Settings: the URL from `config.url` (usually `{{ env_var('CDP_WEBHOOK_URL') }}` in the
segment YAML) or the CDP_WEBHOOK_URL environment variable; the signing secret from
CDP_WEBHOOK_SECRET. Optional config: `batch_size` (default 500), `rate_per_s` (default 50),
`concurrency` (default 4).

Body: {"sync": name, "run_id": id, "operation": "upsert"|"remove"|"clear"|"withdraw"|"erase",
"rows": [{"key": pk, "operation": op, "identifiers": {...}, "fields": {...}}]}.
`withdraw`: the person's consent for the sync's purpose is gone (fields empty); the
receiver must stop messaging them. `erase`: the right to be forgotten; each row holds only
the identifiers cdp sent (`key` empty); the receiver must delete them.
Header `X-CDP-Signature: sha256=<hex HMAC-SHA256 of the raw body with the secret>`.
A receiver may answer 200 with {"errors": [{"index": i, "message": "..."}]} to refuse rows.
Purpose: any, declared per sync (email_marketing, ads or service).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, ClassVar

from cdp.activate.delivery import RateLimit
from cdp.activate.destinations.base import Destination, SyncRow

SIGNATURE_HEADER = "X-CDP-Signature"


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookDestination(Destination):
    batch_size: ClassVar[int] = 500
    max_payload_bytes: ClassVar[int | None] = 5_000_000
    rate_limits = (RateLimit(50, 1),)
    concurrency: ClassVar[int] = 4
    credential_env = ("CDP_WEBHOOK_SECRET",)
    config_keys = frozenset({"url", "batch_size", "rate_per_s", "concurrency"})
    supported_operations = frozenset({"upsert", "remove", "clear"})
    partial_failure = "200 with an errors array of row indexes"
    clears_field_with = "operation clear with fields set to null"
    withdraws_consent_with = "a signed batch with operation withdraw"
    erases_with = "a signed batch with operation erase"
    erase_batch_size: ClassVar[int] = 500

    def __init__(self, spec, context) -> None:
        super().__init__(spec, context)
        self.url = self.config("url") or context.env.get("CDP_WEBHOOK_URL", "")
        rows = int(self.config("batch_size", self.batch_size))
        self.batch_size = rows  # per-sync override of the declared default
        self.concurrency = int(self.config("concurrency", self.concurrency))
        if self.config("rate_per_s"):
            self.rate_limits = (RateLimit(float(self.config("rate_per_s")), 1),)

    def missing_settings(self) -> list[str]:
        return super().missing_settings() + ([] if self.url else ["CDP_WEBHOOK_URL (or config.url)"])

    @property
    def base_url(self) -> str:
        return ""  # the full URL is the request target

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        fields = {} if row.operation == "withdraw" else row.fields
        fields = dict.fromkeys(row.fields) if row.operation == "clear" else fields
        return {"key": row.primary_key, "operation": row.operation, "identifiers": row.identifiers, "fields": fields}

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        rows = [
            {"key": "", "operation": "erase", "identifiers": {k: v for k, v in person.items() if k != "customer_id"}}
            for person in people
        ]
        return self.send("erase", rows)

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        body = json.dumps(
            {"sync": self.spec.name, "run_id": self.context.run_id, "operation": operation, "rows": items},
            separators=(",", ":"),
            default=str,
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self.secret("CDP_WEBHOOK_SECRET"), body),
        }
        response = self.post(self.url, content=body, headers=headers)
        return _row_errors(response)


def _row_errors(response) -> dict[int, str]:
    try:
        errors = response.json().get("errors") or []
    except (ValueError, AttributeError):
        return {}
    return {int(error["index"]): str(error.get("message", "refused")) for error in errors}


DESTINATION = WebhookDestination
