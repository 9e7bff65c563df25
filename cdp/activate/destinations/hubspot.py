"""HubSpot CRM objects (contacts by default), via batch upsert.

Settings: HUBSPOT_ACCESS_TOKEN (env, private app token); `config.object_type` (default
contacts), `config.id_property` (default email; must be an identifier of the sync),
optional `config.batch_size`; HUBSPOT_BASE_URL overrides https://api.hubapi.com.

- Upsert: POST /crm/v3/objects/{object_type}/batch/upsert, <= 100 inputs per call, each
  {"idProperty", "id", "properties"}.
- Partial failure: 207 multi-status with `errors[]`, each naming the ids in `context.ids`.
- Clear: property set to "" (HubSpot's way to empty a property).
- Remove: not supported here (archiving needs HubSpot record ids); use ignore or clear_fields.
- Rate limit: 190 requests per 10 s (private apps); 429 carries Retry-After.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cdp.activate.delivery import RateLimit
from cdp.activate.destinations.base import Destination, SyncRow
from cdp.identifiers import MissingIdentifier, email_for_destination


class HubspotDestination(Destination):
    batch_size: ClassVar[int] = 100
    max_payload_bytes: ClassVar[int | None] = 3_000_000
    rate_limits = (RateLimit(190, 10),)
    concurrency: ClassVar[int] = 4
    credential_env = ("HUBSPOT_ACCESS_TOKEN",)
    base_url_env = "HUBSPOT_BASE_URL"
    default_base_url = "https://api.hubapi.com"
    supported_operations = frozenset({"upsert", "clear"})
    partial_failure = "207 multi-status with errors[].context.ids"
    clears_field_with = 'property set to ""'

    def __init__(self, spec, context) -> None:
        super().__init__(spec, context)
        self.batch_size = min(int(self.config("batch_size", self.batch_size)), 100)
        self.id_property = str(self.config("id_property", "email"))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret('HUBSPOT_ACCESS_TOKEN')}"}

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        identifier = row.identifier(self.id_property)
        if identifier is None:
            raise MissingIdentifier(f"no {self.id_property}")
        identifier = email_for_destination(str(identifier)) if self.id_property == "email" else str(identifier)
        properties = {
            name: "" if row.operation == "clear" or value is None else str(value) for name, value in row.fields.items()
        }
        return {"idProperty": self.id_property, "id": identifier, "properties": properties}

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        object_type = self.config("object_type", "contacts")
        response = self.post(f"/crm/v3/objects/{object_type}/batch/upsert", json={"inputs": items})
        if response.status_code != 207:
            return {}
        position = {item["id"]: index for index, item in enumerate(items)}
        failures: dict[int, str] = {}
        for error in response.json().get("errors") or []:
            for failed_id in (error.get("context") or {}).get("ids") or []:
                if failed_id in position:
                    failures[position[failed_id]] = f"{error.get('category', 'ERROR')}: {error.get('message', '')}"
        return failures


DESTINATION = HubspotDestination
