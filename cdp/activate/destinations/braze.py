"""Braze user profiles, via /users/track.

Settings: BRAZE_API_KEY and BRAZE_REST_ENDPOINT (env; the instance's REST endpoint,
e.g. https://rest.iad-01.braze.com).

- Upsert: POST /users/track with <= 75 attribute objects, each keyed by external_id
  (or email when no external_id is mapped); phone in E.164.
- Partial failure: 201 with `errors[]` entries naming `input_array` and `index`.
- Clear: the attribute set to null (Braze removes it).
- Remove: not supported (deleting Braze users is not a segment's call); use ignore or
  clear_fields. Rate limit: 3,000 requests per 3 s. Purpose: email_marketing only.
- Consent withdrawn: /users/track with `email_subscribe: "unsubscribed"` (Braze's email
  subscription state), keyed like the upsert; no other attribute is sent.
- Erase: POST /users/delete, <= 50 external_ids per call (email_addresses for people sent
  without one; one kind of identifier per call, as Braze requires).
"""

from __future__ import annotations

from typing import Any, ClassVar

from cdp.activate.delivery import RateLimit
from cdp.activate.destinations.base import Destination, SyncRow
from cdp.identifiers import MissingIdentifier, email_for_destination, phone_for_destination


class BrazeDestination(Destination):
    batch_size: ClassVar[int] = 75
    max_payload_bytes: ClassVar[int | None] = 4_000_000
    rate_limits = (RateLimit(3000, 3),)
    concurrency: ClassVar[int] = 8
    purposes = ("email_marketing",)
    credential_env = ("BRAZE_API_KEY", "BRAZE_REST_ENDPOINT")
    base_url_env = "BRAZE_REST_ENDPOINT"
    supported_operations = frozenset({"upsert", "clear"})
    partial_failure = "201 with errors[] (input_array, index)"
    clears_field_with = "null"
    withdraws_consent_with = 'email_subscribe set to "unsubscribed"'
    erases_with = "POST /users/delete"
    erase_batch_size: ClassVar[int] = 50

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret('BRAZE_API_KEY')}"}

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        if row.identifier("external_id") is not None:
            attributes["external_id"] = str(row.identifier("external_id"))
        if row.identifier("email") is not None:
            attributes["email"] = email_for_destination(str(row.identifier("email")))
        if "external_id" not in attributes and "email" not in attributes:
            raise MissingIdentifier("no external_id or email")
        if row.operation == "withdraw":
            return {**attributes, "email_subscribe": "unsubscribed"}
        if row.identifier("phone") is not None:
            attributes["phone"] = phone_for_destination(str(row.identifier("phone")))
        for name, value in row.fields.items():
            attributes[name] = None if row.operation == "clear" else value
        return attributes

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        answer = self.post("/users/track", json={"attributes": items}).json()
        return {
            int(error["index"]): str(error.get("type", "refused"))
            for error in answer.get("errors") or []
            if error.get("input_array", "attributes") == "attributes" and "index" in error
        }

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        external_ids = [str(person["external_id"]) for person in people if person.get("external_id")]
        emails = [
            email_for_destination(str(person["email"]))
            for person in people
            if person.get("email") and not person.get("external_id")
        ]
        for kind, values in (("external_ids", external_ids), ("email_addresses", emails)):
            if values:
                self.post("/users/delete", json={kind: values})
        return {}


DESTINATION = BrazeDestination
