"""HubSpot CRM objects (contacts by default), via batch upsert.

Settings: HUBSPOT_ACCESS_TOKEN (env, private app token); `config.object_type` (default
contacts), `config.id_property` (default cdp_customer_id), optional `config.batch_size`;
with purpose email_marketing also `config.subscription_id` (the email subscription type
people leave when their consent is withdrawn). HUBSPOT_BASE_URL overrides
https://api.hubapi.com. Purpose: email_marketing (HubSpot sends marketing email to them)
or service (a CRM for account managers).

- Upsert: POST /crm/v3/objects/{object_type}/batch/upsert, <= 100 inputs per call, each
  {"idProperty", "id", "properties"}. The id is the sync's key (the customer id) in the
  unique property `cdp_customer_id`, which cdp creates on first use (POST
  /crm/v3/properties/{object_type}, hasUniqueValue); the email is a property, so when it
  changes the same contact is updated instead of a second one being created.
  A contact HubSpot already has under the email (from a form, or upserted by email by an
  earlier release) is adopted: upserted by email once, receiving its cdp_customer_id.
  `config.id_property: email` upserts by email as before (an email change then makes a
  new contact).
- Partial failure: 207 multi-status with `errors[]`, each naming the ids in `context.ids`.
- Clear: property set to "" (HubSpot's way to empty a property).
- Remove: not supported here (archiving needs HubSpot record ids); use ignore or clear_fields.
- Consent withdrawn: POST /communication-preferences/v3/unsubscribe per contact, from
  `config.subscription_id` (an answer that they are already unsubscribed is success).
- Erase: POST /crm/v3/objects/contacts/gdpr-delete per contact, by email (else by the
  id property); 404 counts as done.
- Rate limit: 190 requests per 10 s (private apps); 429 carries Retry-After, and every
  answer X-HubSpot-RateLimit-Remaining / -Interval-Milliseconds: when the remaining
  requests of the window are down to what may be in flight, everyone pauses for the
  interval; X-HubSpot-RateLimit-Daily-Remaining 0 pauses until the retries run out.
"""

from __future__ import annotations

import threading
from typing import Any, ClassVar

from cdp.activate.delivery import BatchRejected, RateLimit
from cdp.activate.destinations.base import Destination, SyncRow
from cdp.identifiers import MissingIdentifier, email_for_destination

OWN_ID_PROPERTY = "cdp_customer_id"
UNSUBSCRIBE_EXPLANATION = "Consent to email marketing withdrawn at the source (synced by cdp)."


class HubspotDestination(Destination):
    batch_size: ClassVar[int] = 100
    max_payload_bytes: ClassVar[int | None] = 3_000_000
    rate_limits = (RateLimit(190, 10),)
    concurrency: ClassVar[int] = 4
    purposes = ("email_marketing", "service")
    config_keys = frozenset({"object_type", "id_property", "batch_size", "subscription_id"})
    credential_env = ("HUBSPOT_ACCESS_TOKEN",)
    base_url_env = "HUBSPOT_BASE_URL"
    default_base_url = "https://api.hubapi.com"
    supported_operations = frozenset({"upsert", "clear"})
    partial_failure = "207 multi-status with errors[].context.ids"
    clears_field_with = 'property set to ""'
    withdraws_consent_with = "POST /communication-preferences/v3/unsubscribe (config.subscription_id)"
    erases_with = "POST /crm/v3/objects/contacts/gdpr-delete"

    def __init__(self, spec, context) -> None:
        super().__init__(spec, context)
        self.batch_size = min(int(self.config("batch_size", self.batch_size)), 100)
        self.id_property = str(self.config("id_property", OWN_ID_PROPERTY))
        self.object_type = str(self.config("object_type", "contacts"))

    def missing_settings(self) -> list[str]:
        # With email marketing, a withdrawn consent needs the subscription type to leave.
        needs_subscription = self.spec.purpose == "email_marketing" and not self.config("subscription_id")
        return super().missing_settings() + (["config.subscription_id"] if needs_subscription else [])

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret('HUBSPOT_ACCESS_TOKEN')}"}

    def pacing_hint(self, response) -> float | None:
        headers = response.headers
        if headers.get("X-HubSpot-RateLimit-Daily-Remaining") == "0":
            return float(self.context.policy.max_retry_after_s)
        remaining = headers.get("X-HubSpot-RateLimit-Remaining")
        if remaining is None or not remaining.lstrip("-").isdigit() or int(remaining) > self.concurrency:
            return None
        interval_ms = headers.get("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
        return int(interval_ms) / 1000 if interval_ms.isdigit() else 10.0

    def open(self) -> None:
        super().open()
        self.id_property_ready = self.id_property != OWN_ID_PROPERTY
        self.id_property_lock = threading.Lock()

    def _ensure_id_property(self) -> None:
        """Create the unique `cdp_customer_id` property the first time (409: someone else just did).

        Checked before the first upsert of a run (not on open: a run with nothing to send
        sends nothing)."""
        with self.id_property_lock:  # the other workers wait: their upserts need the property
            if not self.id_property_ready:
                self._create_id_property()
                self.id_property_ready = True

    def _create_id_property(self) -> None:
        try:
            self.sender.request("GET", f"/crm/v3/properties/{self.object_type}/{OWN_ID_PROPERTY}")
            return
        except BatchRejected as error:
            if not str(error).startswith("404"):
                raise
        definition = {
            "name": OWN_ID_PROPERTY,
            "label": "cdp customer id",
            "description": "The customer's stable id in cdp; cdp upserts by it.",
            "type": "string",
            "fieldType": "text",
            "groupName": "contactinformation",
            "hasUniqueValue": True,
        }
        try:
            self.post(f"/crm/v3/properties/{self.object_type}", json=definition)
        except BatchRejected as error:
            if not str(error).startswith("409"):
                raise

    def _id(self, row: SyncRow) -> str:
        if self.id_property == OWN_ID_PROPERTY:
            return row.primary_key
        identifier = row.identifier(self.id_property)
        if identifier is None:
            raise MissingIdentifier(f"no {self.id_property}")
        return email_for_destination(str(identifier)) if self.id_property == "email" else str(identifier)

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        if row.operation == "withdraw":
            if row.identifier("email") is None:
                raise MissingIdentifier("no email to unsubscribe")
            return {"emailAddress": email_for_destination(str(row.identifier("email")))}
        properties = {
            name: "" if row.operation == "clear" or value is None else str(value) for name, value in row.fields.items()
        }
        if self.id_property != "email" and row.identifier("email") is not None and row.operation != "clear":
            properties["email"] = email_for_destination(str(row.identifier("email")))
        return {"idProperty": self.id_property, "id": self._id(row), "properties": properties}

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        if operation == "withdraw":
            return self._unsubscribe(items)
        self._ensure_id_property()
        failures, conflicts = self._upsert(items)
        if conflicts:  # contacts HubSpot already has by email (a form, an earlier release): adopt them
            adopted = [self._adoption(items[index]) for index in conflicts]
            again, _ = self._upsert(adopted)
            failures.update({conflicts[position]: error for position, error in again.items()})
        return failures

    def _upsert(self, items: list[dict[str, Any]]) -> tuple[dict[int, str], list[int]]:
        """Refused rows {index: error}, and the indexes refused because the email is taken."""
        response = self.post(f"/crm/v3/objects/{self.object_type}/batch/upsert", json={"inputs": items})
        if response.status_code != 207:
            return {}, []
        position = {item["id"]: index for index, item in enumerate(items)}
        failures: dict[int, str] = {}
        conflicts: list[int] = []
        for error in response.json().get("errors") or []:
            taken = self.id_property == OWN_ID_PROPERTY and _email_taken(error)
            for failed_id in (error.get("context") or {}).get("ids") or []:
                if failed_id not in position:
                    continue
                if taken and items[position[failed_id]]["properties"].get("email"):
                    conflicts.append(position[failed_id])
                else:
                    failures[position[failed_id]] = f"{error.get('category', 'ERROR')}: {error.get('message', '')}"
        return failures, conflicts

    @staticmethod
    def _adoption(item: dict[str, Any]) -> dict[str, Any]:
        """Upsert by email, giving the existing contact our id, so later upserts find it."""
        properties = item["properties"]
        return {
            "idProperty": "email",
            "id": properties["email"],
            "properties": {**properties, OWN_ID_PROPERTY: item["id"]},
        }

    def _unsubscribe(self, items: list[dict[str, Any]]) -> dict[int, str]:
        failures: dict[int, str] = {}
        for index, item in enumerate(items):
            body = {
                **item,
                "subscriptionId": str(self.config("subscription_id")),
                "legalBasis": "CONSENT_WITH_NOTICE",
                "legalBasisExplanation": UNSUBSCRIBE_EXPLANATION,
            }
            try:
                self.post("/communication-preferences/v3/unsubscribe", json=body)
            except BatchRejected as error:
                if "already" not in str(error).lower():  # already unsubscribed is what we wanted
                    failures[index] = str(error)
        return failures

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        failures: dict[int, str] = {}
        for index, person in enumerate(people):
            if person.get("email"):
                body = {"objectId": email_for_destination(str(person["email"])), "idProperty": "email"}
            elif person.get("customer_id") and self.id_property == OWN_ID_PROPERTY:
                body = {"objectId": str(person["customer_id"]), "idProperty": OWN_ID_PROPERTY}
            else:
                continue
            try:
                self.post("/crm/v3/objects/contacts/gdpr-delete", json=body)
            except BatchRejected as error:
                if not str(error).startswith("404"):
                    failures[index] = str(error)
        return failures


def _email_taken(error: dict[str, Any]) -> bool:
    # HubSpot refuses a new contact whose email another contact has: CONFLICT, "already exists".
    return error.get("category") == "CONFLICT" or "already exists" in str(error.get("message", "")).lower()


DESTINATION = HubspotDestination
