"""What every destination declares, and the shared plumbing of the HTTP ones.

A destination module defines one subclass of `Destination` named `destination`-style in
`DESTINATION` (see `__init__.py`). Its class attributes are the facts from the API's
documentation the engine honours: batch size, payload limit, rate limits, concurrency,
consent purpose, how it reports partial failure and how it clears a field. Its methods
turn a sync row into the API's item (normalising and hashing identifiers) and send one
batch, returning the rows the destination refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from cdp.activate.delivery import DeliveryPolicy, RateLimit, Sender, json_size
from cdp.activate.specs import SyncSpec
from cdp.errors import CdpError

ConsentPurpose = Literal["email_marketing", "ads"]
# Operations the engine sends: "upsert" (add or update), "remove" and "clear" (rows that
# left the segment, per the sync's on_leave).
Operation = Literal["upsert", "remove", "clear"]


@dataclass(frozen=True)
class SyncRow:
    """One row to deliver: its key, what happened to it, and the record to send.

    For upserts `record` is the current mapped row; for remove/clear it is the record
    last acknowledged by the destination (the row may no longer exist in the segment).
    """

    primary_key: str
    operation: str  # add | update | remove | clear
    identifiers: dict[str, Any]
    fields: dict[str, Any]

    def identifier(self, name: str) -> Any:
        value = self.identifiers.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value


@dataclass(frozen=True)
class RunContext:
    """What a destination may know about the run: ids, where the warehouse is, secrets source."""

    run_id: str
    started_at: str  # compact UTC timestamp, for file names
    warehouse_path: Path
    env: Mapping[str, str]
    policy: DeliveryPolicy


class Destination:
    """Base class: declared limits plus `prepare` and `send`."""

    batch_size: ClassVar[int] = 1000
    max_payload_bytes: ClassVar[int | None] = None
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()
    concurrency: ClassVar[int] = 1
    consent_purpose: ClassVar[ConsentPurpose | None] = None
    credential_env: ClassVar[tuple[str, ...]] = ()  # required secrets, from the environment only
    base_url_env: ClassVar[str | None] = None  # overrides default_base_url (tests point it at a local server)
    default_base_url: ClassVar[str] = ""
    required_config: ClassVar[tuple[str, ...]] = ()
    supported_operations: ClassVar[frozenset[str]] = frozenset({"upsert"})
    mixed_operations: ClassVar[bool] = False  # True: one stream of all operations (the file destination)
    membership_ttl_days: ClassVar[int | None] = None  # re-send members last sent longer ago than this
    keyed_by_identifiers: ClassVar[bool] = False  # members are their identifiers: retire old ones on change
    partial_failure: ClassVar[str] = ""
    clears_field_with: ClassVar[str] = ""

    def __init__(self, spec: SyncSpec, context: RunContext) -> None:
        self.spec = spec
        self.context = context
        self.sender: Sender | None = None
        # Destinations without a purpose of their own (file, webhook) may declare one per
        # sync (`config.consent: email_marketing | ads`); a declared purpose cannot be lifted.
        declared = spec.config.get("consent")
        if self.consent_purpose is None and declared:
            if declared not in ("email_marketing", "ads"):
                raise CdpError(f"sync {spec.name}: config.consent: {declared!r} is not email_marketing or ads")
            self.consent_purpose = declared

    # -- settings -------------------------------------------------------------------
    def secret(self, name: str) -> str:
        return self.context.env.get(name, "")

    def config(self, key: str, default: Any = None) -> Any:
        value = self.spec.config.get(key, default)
        return default if value in ("", None) else value

    def missing_settings(self) -> list[str]:
        """Names (never values) of what is not set: env variables and config keys."""
        missing = [name for name in self.credential_env if not self.secret(name)]
        missing += [f"config.{key}" for key in self.required_config if self.config(key) is None]
        return missing

    def unsupported_reason(self) -> str | None:
        """Why this sync cannot run against this destination, if it cannot."""
        operation = {"remove": "remove", "clear_fields": "clear"}.get(self.spec.on_leave or "")
        if operation is None or operation in self.supported_operations:
            return None
        choices = ["ignore"] + [
            leave for leave, op in (("remove", "remove"), ("clear_fields", "clear")) if op in self.supported_operations
        ]
        return (
            f"destination {self.spec.destination} cannot {operation} rows that leave the segment "
            f"(on_leave: {self.spec.on_leave}); declare on_leave: {' or '.join(choices)}"
        )

    @property
    def base_url(self) -> str:
        override = self.context.env.get(self.base_url_env, "") if self.base_url_env else ""
        return (override or self.default_base_url).rstrip("/")

    def headers(self) -> dict[str, str]:
        return {}

    # -- lifecycle ------------------------------------------------------------------
    def open(self) -> None:
        self.sender = Sender(
            self.base_url, self.headers(), self.rate_limits, self.context.policy, concurrency=self.concurrency
        )

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()

    @property
    def requests_sent(self) -> int:
        return self.sender.requests_sent if self.sender else 0

    # -- per batch ------------------------------------------------------------------
    def prepare(self, row: SyncRow) -> Any:
        """The API's item for this row; raise IdentifierError when it cannot be built."""
        raise NotImplementedError

    def item_size(self, item: Any) -> int:
        return json_size(item)

    def send(self, operation: str, items: list[Any]) -> dict[int, str]:
        """Deliver one batch. Return {index in items: error} for rows the destination refused.

        Raise BatchRejected when the whole request is refused (the engine splits the batch),
        DeliveryFailed when retries ran out (nothing acknowledged).
        """
        raise NotImplementedError

    def post(self, path: str, **kwargs: Any):
        assert self.sender is not None, "open() first"
        return self.sender.request("POST", path, **kwargs)
