"""Meta (Facebook) Customer File Custom Audiences, via the Marketing API.

Settings: META_ACCESS_TOKEN (env), `config.audience_id`; META_BASE_URL overrides
https://graph.facebook.com/v21.0.

- Add: POST /{audience_id}/users; remove: DELETE /{audience_id}/users; body
  {"payload": {"schema": [...], "data": [[...], ...]}}, <= 10,000 rows per request.
- Identifiers -> schema: email -> EMAIL (trimmed, lowercased), phone -> PHONE (digits
  with country code, no "+"), country -> COUNTRY (lowercase ISO-2), first_name -> FN,
  last_name -> LN (lowercased), external_id -> EXTERN_ID; each SHA-256 hex. A missing
  value is sent as "".
- Partial failure: 200 with num_invalid_entries (not attributable to rows): logged, the
  batch counts as acknowledged.
- Audiences have no fields to clear. Consent purpose: ads.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from cdp.activate.delivery import RateLimit
from cdp.activate.destinations.base import Destination, SyncRow
from cdp.identifiers import MissingIdentifier, email_for_destination, meta_phone, sha256_hex

log = logging.getLogger(__name__)


def _lower(value: str) -> str:
    return value.strip().lower()


# identifier name in the sync spec -> (Meta schema key, normaliser before hashing)
SCHEMA = {
    "email": ("EMAIL", email_for_destination),
    "phone": ("PHONE", meta_phone),
    "country": ("COUNTRY", _lower),
    "first_name": ("FN", _lower),
    "last_name": ("LN", _lower),
    "external_id": ("EXTERN_ID", str.strip),
}


class MetaCustomAudiencesDestination(Destination):
    batch_size: ClassVar[int] = 10_000
    max_payload_bytes: ClassVar[int | None] = 50_000_000
    rate_limits = (RateLimit(5, 1),)
    concurrency: ClassVar[int] = 1  # adds and removes of one audience stay in order
    consent_purpose = "ads"
    credential_env = ("META_ACCESS_TOKEN",)
    base_url_env = "META_BASE_URL"
    default_base_url = "https://graph.facebook.com/v21.0"
    required_config = ("audience_id",)
    keyed_by_identifiers = True
    supported_operations = frozenset({"upsert", "remove"})
    partial_failure = "200 with num_invalid_entries (counted, not attributable to rows)"
    clears_field_with = "n/a (audience membership only)"

    def __init__(self, spec, context) -> None:
        super().__init__(spec, context)
        self.columns = [name for name in spec.identifiers if name in SCHEMA]

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret('META_ACCESS_TOKEN')}"}

    def prepare(self, row: SyncRow) -> list[str]:
        country = row.identifier("country")
        hashed = []
        for name in self.columns:
            value = row.identifier(name)
            if value is None:
                hashed.append("")
                continue
            normalise = SCHEMA[name][1]
            plain = normalise(str(value), country) if name == "phone" else normalise(str(value))
            hashed.append(sha256_hex(plain))
        if not any(hashed[index] for index, name in enumerate(self.columns) if name != "country"):
            raise MissingIdentifier("no email, phone, name or external_id to match on")
        return hashed

    def send(self, operation: str, items: list[list[str]]) -> dict[int, str]:
        body = {"payload": {"schema": [SCHEMA[name][0] for name in self.columns], "data": items}}
        method = "DELETE" if operation == "remove" else "POST"
        response = self.sender.request(method, f"/{self.config('audience_id')}/users", json=body)
        invalid = (response.json() or {}).get("num_invalid_entries", 0)
        if invalid:
            log.warning(
                "sync %s: Meta reported %s invalid entries in a batch of %s", self.spec.name, invalid, len(items)
            )
        return {}


DESTINATION = MetaCustomAudiencesDestination
