"""Klaviyo profiles (and list membership), via the bulk profile import API.

Settings: KLAVIYO_API_KEY (env, private key), optional `config.list_id` (profiles are
added to that list); KLAVIYO_BASE_URL overrides https://a.klaviyo.com.

- Upsert: POST /api/profile-bulk-import-jobs, <= 10,000 profiles and 5 MB per request,
  answered 202 with a job id. Identifiers email / phone (E.164) / external_id; field
  mapping keys that are standard profile attributes (first_name, ...) go there, the rest
  into `properties`.
- Partial failure: asynchronous, reported by the job's import-errors; a 202 acknowledges
  the batch.
- Clear: "" (Klaviyo ignores null, so null cannot clear a field).
- Remove: not supported (bulk import cannot remove); use on_leave ignore or clear_fields.
- Consent withdrawn: POST /api/profile-suppression-bulk-create-jobs (<= 100 profiles by
  email): Klaviyo suppresses the address, so no email goes to it whatever lists it is on.
- Erase: POST /api/data-privacy-deletion-jobs, one profile (by email, else phone) per call.
- Rate limit: 10/s burst, 150/min steady. Purpose: email_marketing only.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from cdp.activate.delivery import RateLimit
from cdp.activate.destinations.base import Destination, SyncRow
from cdp.identifiers import MissingIdentifier, email_for_destination, phone_for_destination

REVISION = "2024-10-15"
PROFILE_ATTRIBUTES = frozenset({"first_name", "last_name", "organization", "title", "image", "locale"})


class KlaviyoDestination(Destination):
    batch_size: ClassVar[int] = 10_000
    max_payload_bytes: ClassVar[int | None] = 5_000_000
    rate_limits = (RateLimit(10, 1), RateLimit(150, 60))
    concurrency: ClassVar[int] = 3
    purposes = ("email_marketing",)
    config_keys = frozenset({"list_id"})
    operation_batch_sizes: ClassVar[dict[str, int]] = {"withdraw": 100}
    credential_env = ("KLAVIYO_API_KEY",)
    base_url_env = "KLAVIYO_BASE_URL"
    default_base_url = "https://a.klaviyo.com"
    supported_operations = frozenset({"upsert", "clear"})
    partial_failure = "asynchronous: the bulk import job's import-errors; 202 acknowledges the batch"
    clears_field_with = '"" (null is ignored by Klaviyo)'
    withdraws_consent_with = "profile suppression bulk job (by email)"
    erases_with = "POST /api/data-privacy-deletion-jobs"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Klaviyo-API-Key {self.secret('KLAVIYO_API_KEY')}",
            "revision": REVISION,
            "Accept": "application/vnd.api+json",
            "Content-Type": "application/vnd.api+json",
        }

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        if row.operation == "withdraw":
            if row.identifier("email") is None:
                raise MissingIdentifier("no email to suppress")
            return {"type": "profile", "attributes": {"email": email_for_destination(str(row.identifier("email")))}}
        attributes: dict[str, Any] = {}
        if row.identifier("email") is not None:
            attributes["email"] = email_for_destination(str(row.identifier("email")))
        if row.identifier("phone") is not None:
            attributes["phone_number"] = phone_for_destination(str(row.identifier("phone")))
        if row.identifier("external_id") is not None:
            attributes["external_id"] = str(row.identifier("external_id"))
        if not attributes:
            raise MissingIdentifier("no email, phone or external_id")
        properties: dict[str, Any] = {}
        for name, value in row.fields.items():
            value = "" if row.operation == "clear" or value is None else value
            (attributes if name in PROFILE_ATTRIBUTES else properties)[name] = value
        if properties:
            attributes["properties"] = properties
        return {"type": "profile", "attributes": attributes}

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        if operation == "withdraw":
            job = {"type": "profile-suppression-bulk-create-job", "attributes": {"profiles": {"data": items}}}
            self.post("/api/profile-suppression-bulk-create-jobs", content=_body(job))
            return {}
        job: dict[str, Any] = {
            "type": "profile-bulk-import-job",
            "attributes": {"profiles": {"data": items}},
        }
        if self.config("list_id") and operation == "upsert":
            job["relationships"] = {"lists": {"data": [{"type": "list", "id": self.config("list_id")}]}}
        self.post("/api/profile-bulk-import-jobs", content=_body(job))
        return {}

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        for person in people:
            if person.get("email"):
                profile = {"email": email_for_destination(str(person["email"]))}
            elif person.get("phone"):
                profile = {"phone_number": phone_for_destination(str(person["phone"]))}
            else:
                continue  # nothing Klaviyo could find them by
            job = {
                "type": "data-privacy-deletion-job",
                "attributes": {"profile": {"data": {"type": "profile", "attributes": profile}}},
            }
            self.post("/api/data-privacy-deletion-jobs", content=_body(job))
        return {}


def _body(job: dict[str, Any]) -> str:
    return json.dumps({"data": job}, separators=(",", ":"), default=str)


DESTINATION = KlaviyoDestination
