"""What every destination declares, and the shared plumbing of the HTTP ones.

A destination module defines one subclass of `Destination` named `destination`-style in
`DESTINATION` (see `__init__.py`). Its class attributes are the facts from the API's
documentation the engine honours: batch size, payload limit, rate limits, concurrency,
the consent purposes a sync to it may declare, the config keys it reads, how it reports
partial failure, how it clears a field, how it records a withdrawn consent and how it
deletes a person. Its methods turn a sync row into the API's item (normalising and hashing
identifiers) and send one batch, returning the rows the destination refused.

Purposes (docs/architecture.md, "Consent purposes"): every sync declares `purpose`.
Email tools take only `email_marketing`, ad audiences only `ads`; file, webhook and CRM
syncs choose, and only they may declare `service` (no marketing consent needed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from cdp.activate.delivery import DeliveryPolicy, RateLimit, Sender, Unconfirmed, json_size
from cdp.activate.specs import SyncSpec
from cdp.errors import CdpError
from cdp.identifiers import MissingIdentifier

Purpose = Literal["email_marketing", "ads", "service"]
PURPOSES: tuple[Purpose, ...] = ("email_marketing", "ads", "service")
MARKETING_PURPOSES: tuple[Purpose, ...] = ("email_marketing", "ads")
# Operations the engine sends: "upsert" (add or update), "remove" and "clear" (rows that
# left the segment, per the sync's on_leave), "withdraw" (consent withdrawn: the
# destination's own opt-out, never a request that can subscribe).
Operation = Literal["upsert", "remove", "clear", "withdraw"]


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
    purposes: ClassVar[tuple[Purpose, ...]] = PURPOSES  # what a sync to it may declare
    config_keys: ClassVar[frozenset[str]] = frozenset()  # what a sync's `config` may hold
    credential_env: ClassVar[tuple[str, ...]] = ()  # required secrets, from the environment only
    base_url_env: ClassVar[str | None] = None  # overrides default_base_url (tests point it at a local server)
    default_base_url: ClassVar[str] = ""
    required_config: ClassVar[tuple[str, ...]] = ()
    supported_operations: ClassVar[frozenset[str]] = frozenset({"upsert"})
    mixed_operations: ClassVar[bool] = False  # True: one stream of all operations (the file destination)
    membership_ttl_days: ClassVar[int | None] = None  # re-send members last sent longer ago than this
    keyed_by_identifiers: ClassVar[bool] = False  # members are their identifiers: retire old ones on change
    operation_batch_sizes: ClassVar[dict[str, int]] = {}  # where an operation's endpoint takes fewer rows
    partial_failure: ClassVar[str] = ""
    clears_field_with: ClassVar[str] = ""
    withdraws_consent_with: ClassVar[str] = ""
    erases_with: ClassVar[str] = ""  # the deletion API; "" = none
    erase_batch_size: ClassVar[int] = 1

    def __init__(self, spec: SyncSpec, context: RunContext) -> None:
        problems = self.spec_problems(spec)
        if problems:
            raise CdpError(f"sync {spec.name}: {'; '.join(problems)}")
        self.spec = spec
        self.context = context
        self.sender: Sender | None = None
        self.invalid_entries = 0  # rows the destination counted invalid without naming them
        self._requests_before = 0

    @classmethod
    def spec_problems(cls, spec: SyncSpec) -> list[str]:
        """What is wrong with a sync spec for this destination (read with the manifest)."""
        problems = []
        if spec.purpose is None:
            problems.append(
                f"purpose: required; declare what its people agreed to: {' or '.join(cls.purposes)} "
                "(docs/architecture.md, Consent purposes)"
            )
        elif spec.purpose not in cls.purposes:
            problems.append(
                f"purpose: {spec.purpose!r} is not allowed for {spec.destination}; it takes {' or '.join(cls.purposes)}"
            )
        allowed = cls.config_keys | frozenset(cls.required_config)
        for key in sorted(set(spec.config) - allowed):
            hint = " (the consent purpose is now the sync's `purpose:`)" if key == "consent" else ""
            known = ", ".join(sorted(allowed)) or "none"
            problems.append(f"config.{key}: unknown for {spec.destination}{hint}; it reads: {known}")
        return problems

    @property
    def consent_purpose(self) -> Purpose | None:
        """The consent the engine checks before sending; None for `service` syncs."""
        return self.spec.purpose if self.spec.purpose in MARKETING_PURPOSES else None

    def batch_size_for(self, operation: str) -> int:
        return min(self.batch_size, self.operation_batch_sizes.get(operation, self.batch_size))

    def pacing_hint(self, response) -> float | None:
        """Seconds every worker should pause, read from the API's documented rate-limit headers."""
        return None

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
            self.base_url,
            self.headers(),
            self.rate_limits,
            self.context.policy,
            concurrency=self.concurrency,
            pacing_hint=self.pacing_hint,
        )

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()
            self._requests_before += self.sender.requests_sent
            self.sender = None

    @property
    def requests_sent(self) -> int:
        """Requests of this run, over every open() (erasures, then the sync)."""
        return self._requests_before + (self.sender.requests_sent if self.sender else 0)

    # -- per batch ------------------------------------------------------------------
    def prepare(self, row: SyncRow) -> Any:
        """The API's item for this row; raise IdentifierError when it cannot be built."""
        raise NotImplementedError

    def item_size(self, item: Any) -> int:
        return json_size(item)

    def send(self, operation: str, items: list[Any]) -> dict[int, str]:
        """Deliver one batch. Return {index in items: error} for rows the destination refused.

        Raise BatchRejected when the whole request is refused (the engine splits the batch),
        DeliveryFailed when retries ran out (nothing acknowledged). A value may be
        `Unconfirmed` instead of an error: taken, but possibly refused (see delivery.py).
        """
        raise NotImplementedError

    def erase(self, people: list[dict[str, Any]]) -> dict[int, str]:
        """Ask the destination to delete these people for good (the right to be forgotten).

        Each person is the identifiers cdp sent for them ({"email": ..., "phone": ...,
        "external_id": customer id}). Return {index: error} for those it could not delete;
        a person the destination does not know counts as deleted. Only called when
        `erases_with` is set.
        """
        raise NotImplementedError

    def post(self, path: str, **kwargs: Any):
        assert self.sender is not None, "open() first"
        return self.sender.request("POST", path, **kwargs)


def erase_by_removal(destination: Destination, people: list[dict[str, Any]]) -> dict[int, str]:
    """Audiences forget a person by removing them: the removal of each identifier set sent."""
    items, positions = [], []
    for index, person in enumerate(people):
        row = SyncRow(str(person.get("customer_id") or ""), "remove", person, {})
        try:
            items.append(destination.prepare(row))
            positions.append(index)
        except MissingIdentifier:
            continue  # nothing the audience could hold them by
    if not items:
        return {}
    failures = destination.send("remove", items)
    return {positions[index]: error for index, error in failures.items() if not isinstance(error, Unconfirmed)}
