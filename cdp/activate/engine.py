"""Run one sync: plan the diff, deliver it in acknowledged batches, record what happened.

The contract (docs/architecture.md section 4): nothing is marked sent that the destination
did not acknowledge, and state is committed per acknowledged batch (see state.py). A crash mid-sync
therefore leaves the acknowledged batches recorded; the next run plans only the rest,
so the destination ends where a clean run would have left it without anything that was
already acknowledged being sent again.

Batches of one sync are sent by a small pool of threads (the destination's concurrency);
the warehouse is written only from the calling thread, as each batch completes, and a
new batch is handed out only once a slot is free, so at most `concurrency` batches are
ever unacknowledged.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from cdp import settings
from cdp.activate import diff, erasure, state
from cdp.activate.delivery import BatchRejected, DeliveryFailed, DeliveryPolicy, batched
from cdp.activate.destinations import destination_class
from cdp.activate.destinations.base import Destination, RunContext, SyncRow
from cdp.activate.specs import SyncSpec
from cdp.identifiers import IdentifierError, MissingIdentifier

log = logging.getLogger(__name__)

# Which plan operations travel together, and the operation the destination is asked to do.
# Withdrawals go first: an opt-out must not wait behind the adds of the same run.
OPERATION_GROUPS = (
    (("withdraw",), "withdraw"),
    (("retire", "remove"), "remove"),
    (("clear",), "clear"),
    (("add", "update"), "upsert"),
)
ALL_OPERATIONS = ("withdraw", "retire", "remove", "clear", "add", "update")
REMOVING_OPERATIONS = ("remove", "clear", "withdraw")
# The mass-removal guard leaves small changes alone: 3 of 10 members leaving is a normal night.
MIN_GUARDED_REMOVALS = 10


@dataclass
class SyncResult:
    """What one run of one sync did (or, in a dry run, would do)."""

    sync_name: str
    destination: str
    model: str
    run_id: str
    status: str = "success"  # success | partial | failed | blocked | skipped | dry_run
    message: str = ""
    dry_run: bool = False
    full_resync: bool = False
    added: int = 0
    updated: int = 0
    removed: int = 0
    withdrawn: int = 0  # sent the destination's opt-out: consent withdrawn
    failed: int = 0
    unconfirmed: int = 0  # taken in a batch the destination said held invalid rows
    invalid_entries: int = 0  # how many invalid rows it counted in those batches
    skipped_consent: int = 0
    skipped_identifier: int = 0  # none of the identifiers the destination matches on
    requests: int = 0
    duration_s: float = 0.0
    planned: dict[str, int] = field(default_factory=dict)
    sample: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def count(self, outcome: state.Outcome) -> None:
        if outcome.status == "failed":
            self.failed += 1
        elif outcome.status == "unconfirmed":
            self.unconfirmed += 1
        elif outcome.operation == "withdraw":
            self.withdrawn += 1
        elif outcome.operation == "add":
            self.added += 1
        elif outcome.operation == "update":
            self.updated += 1
        elif outcome.operation in ("remove", "clear"):
            self.removed += 1  # a 'retire' is part of its update, not counted apart


@dataclass
class _Pending:
    """A planned row on its way: what to record once the destination answers."""

    row: SyncRow
    checksum: str | None
    record: str


def run_sync(
    warehouse_path: str | Path,
    spec: SyncSpec,
    *,
    dry_run: bool = False,
    full_resync: bool = False,
    env: Mapping[str, str] | None = None,
    policy: DeliveryPolicy | None = None,
    confirm_removals: bool | None = None,
) -> SyncResult:
    """Run one sync against the warehouse. Secrets come from `env` (default: os.environ).

    `confirm_removals` lets this run remove more than the mass-removal guard's share of
    the members (default: the CDP_CONFIRM_REMOVALS setting).
    """
    started = datetime.now(UTC)
    clock = time.perf_counter()
    destination = make_destination(spec, warehouse_path, env=env, policy=policy, started=started)
    run_id = destination.context.run_id
    result = SyncResult(
        sync_name=spec.name,
        destination=spec.destination,
        model=spec.model,
        run_id=run_id,
        dry_run=dry_run,
        full_resync=full_resync,
    )
    with duckdb.connect(str(warehouse_path)) as con:
        state.ensure_schema(con)
        state.fold_outcomes(con, spec.name)  # what a killed run had acknowledged
        confirmed = settings.confirm_removals() if confirm_removals is None else confirm_removals
        try:
            if not dry_run:
                erasure.process_pending(con, destination)  # the right to be forgotten first
            _run(con, spec, destination, result, dry_run=dry_run, full_resync=full_resync, confirmed=confirmed)
        except Exception as error:  # recorded in the run history, then raised to the caller
            result.status, result.message = "failed", f"{type(error).__name__}: {error}"
            raise
        finally:
            state.fold_outcomes(con, spec.name)
            state.prune_log(
                con,
                spec.name,
                retention_days=settings.sync_log_retention_days(),
                records=settings.sync_log_records(),
            )
            result.duration_s = time.perf_counter() - clock
            result.requests = destination.requests_sent
            result.invalid_entries = destination.invalid_entries
            _record_run(con, spec, result, started)
    log.info(
        "sync %s -> %s: %s (added %d, updated %d, removed %d, withdrawn %d, failed %d, unconfirmed %d, "
        "skipped for consent %d, without identifier %d) %s",
        spec.name,
        spec.destination,
        result.status,
        result.added,
        result.updated,
        result.removed,
        result.withdrawn,
        result.failed,
        result.unconfirmed,
        result.skipped_consent,
        result.skipped_identifier,
        result.message,
    )
    return result


def make_destination(
    spec: SyncSpec,
    warehouse_path: str | Path,
    *,
    env: Mapping[str, str] | None = None,
    policy: DeliveryPolicy | None = None,
    started: datetime | None = None,
) -> Destination:
    """The destination of `spec` for one run (secrets from `env`, default os.environ)."""
    started = started or datetime.now(UTC)
    context = RunContext(
        run_id=uuid.uuid4().hex,
        started_at=started.strftime("%Y%m%dT%H%M%SZ"),
        warehouse_path=Path(warehouse_path),
        env=os.environ if env is None else env,
        policy=policy or DeliveryPolicy(),
    )
    return destination_class(spec.destination)(spec, context)


def _run(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    destination: Destination,
    result: SyncResult,
    *,
    dry_run: bool,
    full_resync: bool,
    confirmed: bool,
) -> None:
    unsupported = destination.unsupported_reason()
    if unsupported:
        result.status, result.message = "skipped", unsupported
        return
    plan = diff.compute_plan(
        con,
        spec,
        consent_purpose=destination.consent_purpose,
        full_resync=full_resync,
        membership_ttl_days=destination.membership_ttl_days,
        retire_changed_identifiers=destination.keyed_by_identifiers and "remove" in destination.supported_operations,
    )
    result.planned, result.skipped_consent = plan.counts, plan.skipped_consent
    missing = destination.missing_settings()
    blocked = None if confirmed else _mass_removal(con, spec, plan)
    if dry_run:
        result.status = "dry_run"
        result.sample = diff.plan_sample(con)
        result.message = "; ".join(
            filter(
                None, [f"not configured: {', '.join(missing)}" if missing else "", blocked and f"would stop: {blocked}"]
            )
        )
        return
    if missing:
        result.status, result.message = "skipped", f"not configured: {', '.join(missing)}"
        return
    if blocked:
        result.status, result.message = "blocked", blocked
        return
    destination.open()
    try:
        _deliver(con, spec, destination, result)
    finally:
        destination.close()
    if result.status == "success" and (result.failed or result.unconfirmed):
        result.status = "partial"
    if result.unconfirmed:
        note = (
            f"{result.unconfirmed} rows unconfirmed: the destination counted {destination.invalid_entries}"
            " invalid entries in their batches without naming them"
        )
        result.message = "; ".join(filter(None, [result.message, note]))


def _mass_removal(con: duckdb.DuckDBPyConnection, spec: SyncSpec, plan: diff.Plan) -> str | None:
    """Why the plan removes too many members at once, or None.

    A source that failed or was switched off empties segments and consent overnight; sending
    that would unsubscribe or drop most of an audience, which cannot be undone. So a run
    that would remove (or clear, or withdraw) more than the share stops, sends nothing and
    says why, until it is confirmed (`--confirm-removals` / CDP_CONFIRM_REMOVALS=1).
    """
    removals = sum(plan.counts.get(operation, 0) for operation in REMOVING_OPERATIONS)
    if removals < MIN_GUARDED_REMOVALS:
        return None
    members = con.execute(
        "select count(*) from reverse_etl.sync_state where sync_name = ? and in_destination", [spec.name]
    ).fetchone()[0]
    share = settings.max_removal_share() if spec.max_removal_share is None else spec.max_removal_share
    if members == 0 or removals <= share * members:
        return None
    return (
        f"would remove {removals} of its {members} members ({removals / members:.0%}, more than {share:.0%}); "
        "nothing was sent. If a source failed or was switched off, fix it and run again; if the removals "
        "are meant, rerun with --confirm-removals (or CDP_CONFIRM_REMOVALS=1)"
    )


def _pending_rows(con: duckdb.DuckDBPyConnection, operations: tuple[str, ...]) -> Iterator[_Pending]:
    for primary_key, operation, record, checksum in diff.plan_rows(con, operations):
        mapped = json.loads(record)
        row = SyncRow(primary_key, operation, mapped.get("identifiers") or {}, mapped.get("fields") or {})
        yield _Pending(row=row, checksum=checksum, record=record)


def _deliver(con: duckdb.DuckDBPyConnection, spec: SyncSpec, destination: Destination, result: SyncResult) -> None:
    groups = [(ALL_OPERATIONS, "mixed")] if destination.mixed_operations else OPERATION_GROUPS
    for operations, destination_operation in groups:
        if result.status == "failed":
            return
        rejected: list[state.Outcome] = []
        prepared = _prepared(con, destination, operations, rejected, result)
        batches = batched(
            prepared,
            destination.batch_size_for(destination_operation),
            destination.max_payload_bytes,
            lambda pair: destination.item_size(pair[1]),
        )
        _send_batches(con, spec, destination, destination_operation, batches, result, rejected)
        _commit(con, spec, result, rejected)


def _prepared(con, destination: Destination, operations, rejected: list[state.Outcome], result: SyncResult):
    """(pending, item) pairs. Rows without any identifier the destination matches on are
    skipped (counted, not sent, planned again next run); rows whose identifiers cannot be
    normalised are failures."""
    for pending in _pending_rows(con, operations):
        try:
            yield pending, destination.prepare(pending.row)
        except MissingIdentifier:
            result.skipped_identifier += 1
        except IdentifierError as error:
            rejected.append(_outcome(pending, f"identifier: {error}"))


def _send_batches(con, spec, destination: Destination, operation: str, batches, result: SyncResult, rejected) -> None:
    """Keep up to `concurrency` batches in flight; commit each answered batch as it comes back.

    With one batch in flight, a batch is committed before the next one is sent. With more,
    the freed slots are refilled first (so the destination stays busy) and the answered
    batches committed right after: an acknowledged batch waits for its commit only as long
    as handing out the next batches takes.
    """
    pending_batches = iter(batches)
    in_flight: dict[Future, list] = {}
    with ThreadPoolExecutor(max_workers=destination.concurrency, thread_name_prefix=f"sync-{spec.name}") as pool:

        def fill() -> None:
            while len(in_flight) < destination.concurrency and result.status != "failed":
                batch = next(pending_batches, None)
                if batch is None:
                    return
                in_flight[pool.submit(_deliver_batch, destination, operation, [item for _, item in batch])] = batch

        fill()
        while in_flight:
            done = wait(in_flight, return_when=FIRST_COMPLETED).done
            outcomes: list[state.Outcome] = []
            for future in done:
                batch = in_flight.pop(future)
                errors, fatal = future.result()
                outcomes += [_outcome(pending, error) for (pending, _), error in zip(batch, errors, strict=True)]
                if fatal:  # the destination is down: leave the rest for the next run
                    result.status, result.message = "failed", fatal
            if destination.concurrency > 1:
                fill()
            _commit(con, spec, result, outcomes + rejected)
            rejected.clear()
            if destination.concurrency == 1:
                fill()


def _deliver_batch(destination: Destination, operation: str, items: list[Any]) -> tuple[list[str | None], str | None]:
    """Per-item errors (None = acknowledged), and a fatal message when retries ran out.

    A batch the destination refuses as a whole is split in halves until the bad rows are
    isolated, so one bad row does not hold back the rest.
    """
    try:
        failures = destination.send(operation, items)
        return [failures.get(index) for index in range(len(items))], None
    except BatchRejected as error:
        if len(items) == 1:
            return [f"rejected: {error}"], None
        middle = len(items) // 2
        first, first_fatal = _deliver_batch(destination, operation, items[:middle])
        if first_fatal:
            return first + [first_fatal] * (len(items) - middle), first_fatal
        second, second_fatal = _deliver_batch(destination, operation, items[middle:])
        return first + second, second_fatal
    except DeliveryFailed as error:
        return [str(error)] * len(items), str(error)
    except Exception as error:  # an answer we do not understand is not an acknowledgement
        message = f"unexpected {type(error).__name__}: {error}"
        return [message] * len(items), message


def _outcome(pending: _Pending, error: str | None) -> state.Outcome:
    return state.Outcome(pending.row.primary_key, pending.row.operation, pending.checksum, pending.record, error)


def _commit(con, spec: SyncSpec, result: SyncResult, outcomes: list[state.Outcome]) -> None:
    state.record_batch(con, result.run_id, spec.name, outcomes)
    for outcome in outcomes:
        result.count(outcome)
    outcomes.clear()


def _record_run(con: duckdb.DuckDBPyConnection, spec: SyncSpec, result: SyncResult, started: datetime) -> None:
    planned = result.planned
    removed = planned.get("remove", 0) + planned.get("clear", 0) if result.dry_run else result.removed
    row = {
        "run_id": result.run_id,
        "sync_name": spec.name,
        "model": spec.model,
        "destination": spec.destination,
        "mode": spec.mode,
        "full_resync": result.full_resync,
        "dry_run": result.dry_run,
        "status": result.status,
        "message": result.message,
        "started_at": started.replace(tzinfo=None),
        "duration_s": result.duration_s,
        "added": planned.get("add", 0) if result.dry_run else result.added,
        "updated": planned.get("update", 0) if result.dry_run else result.updated,
        "removed": removed,
        "withdrawn": planned.get("withdraw", 0) if result.dry_run else result.withdrawn,
        "failed": result.failed,
        "unconfirmed": result.unconfirmed,
        "invalid_entries": result.invalid_entries,
        "skipped_consent": result.skipped_consent,
        "skipped_identifier": result.skipped_identifier,
        "requests": result.requests,
    }
    columns = ", ".join(row)
    values = ", ".join(f"${name}" for name in row)
    con.execute(f"insert into reverse_etl.sync_runs ({columns}, finished_at) values ({values}, {diff.NOW_UTC})", row)


def process_pending_erasures(
    warehouse_path: str | Path,
    specs: list[SyncSpec],
    *,
    env: Mapping[str, str] | None = None,
    policy: DeliveryPolicy | None = None,
) -> list[erasure.ErasureResult]:
    """Send every pending deletion request of the warehouse (cdp forget); what each came to.

    A request whose sync is no longer declared stays pending with that reason: its
    destination settings (list, audience) live in the sync's declaration.
    """
    by_name = {spec.name: spec for spec in specs}
    results: list[erasure.ErasureResult] = []
    with duckdb.connect(str(warehouse_path)) as con:
        erasure.ensure_schema(con)
        pending = con.execute(
            "select request_id, sync_name, destination, people from privacy.erasure_requests"
            " where status = 'pending' order by sync_name, requested_at"
        ).fetchall()
        for sync_name in dict.fromkeys(row[1] for row in pending):
            if sync_name in by_name:
                destination = make_destination(by_name[sync_name], warehouse_path, env=env, policy=policy)
                results += erasure.process_pending(con, destination)
                continue
            for request_id, _, destination_name, people in (row for row in pending if row[1] == sync_name):
                left = json.loads(people or "[]")
                result = erasure.ErasureResult(request_id, sync_name, destination_name, "pending", len(left))
                result.error = "the sync is no longer declared; declare it again so cdp can reach its destination"
                erasure.mark(con, request_id, sync_name, left, result)
                results.append(result)
    return results
