"""Meta (Facebook) Customer File Custom Audiences, via the Marketing API.

Settings: META_ACCESS_TOKEN (env), `config.audience_id`; META_BASE_URL overrides
https://graph.facebook.com/v21.0.

- Add: POST /{audience_id}/users; remove: DELETE /{audience_id}/users; body
  {"payload": {"schema": [...], "data": [[...], ...]}}, <= 10,000 rows per request.
- Identifiers -> schema: email -> EMAIL (trimmed, lowercased), phone -> PHONE (digits
  with country code, no "+"), country -> COUNTRY (lowercase ISO-2), first_name -> FN,
  last_name -> LN (lowercased), external_id -> EXTERN_ID; each SHA-256 hex. A missing
  value is sent as "".
- Partial failure: 200 with num_invalid_entries, which does not say which rows: the batch
  is taken, but every row of it is recorded as `unconfirmed` (sync_log and sync_state),
  the count goes to the run's `invalid_entries` and the run is partial.
- Consent withdrawn and erase (right to be forgotten): the DELETE above, with the
  identifiers last sent.
- Audiences have no fields to clear. Purpose: ads only.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from cdp.activate.delivery import RateLimit, Unconfirmed
from cdp.activate.destinations.base import Destination, SyncRow, erase_by_removal
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
    purposes = ("ads",)
    credential_env = ("META_ACCESS_TOKEN",)
    base_url_env = "META_BASE_URL"
    default_base_url = "https://graph.facebook.com/v21.0"
    required_config = ("audience_id",)
    keyed_by_identifiers = True
    supported_operations = frozenset({"upsert", "remove"})
    partial_failure = "200 with num_invalid_entries (counted, not attributable to rows)"
    clears_field_with = "n/a (audience membership only)"
    withdraws_consent_with = "DELETE /{audience_id}/users"
    erases_with = "DELETE /{audience_id}/users"
    erase_batch_size: ClassVar[int] = 10_000

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
        method = "POST" if operation == "upsert" else "DELETE"  # remove, withdraw
        response = self.sender.request(method, f"/{self.config('audience_id')}/users", json=body)
        invalid = int((response.json() or {}).get("num_invalid_entries") or 0)
        if not invalid:
            return {}
        self.invalid_entries += invalid
        log.warning("sync %s: Meta reported %s invalid entries in a batch of %s", self.spec.name, invalid, len(items))
        unconfirmed = Unconfirmed(f"Meta counted {invalid} invalid entries in this batch of {len(items)}")
        return dict.fromkeys(range(len(items)), unconfirmed)

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        return erase_by_removal(self, people)


DESTINATION = MetaCustomAudiencesDestination
