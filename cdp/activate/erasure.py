"""The right to be forgotten in destinations: deletion requests, queued and retried like any sync.

`cdp forget` (cdp/privacy/) calls `queue_erasures` *before* the warehouse forgets the
person: for every sync that ever sent them it records one request in
`privacy.erasure_requests`, holding the identifier sets cdp sent (the sync state's
record, the row log's records, and the person's emails and phones from
marts.customer_360). Then `engine.process_pending_erasures` asks each destination with a
deletion API to delete them (Mailchimp permanent delete, Klaviyo data-privacy deletion,
HubSpot GDPR delete, Braze user delete, Meta and Google audience removal, a webhook
`erase` batch). A destination that is down or not configured keeps its request pending:
every run of that sync first sends its pending requests (`process_pending`, from
engine.run_sync), with the same pacing and retries as the sync itself.

What became of each request is its row: `status` pending | deleted | not_supported,
`attempts`, `last_error`, `finished_at`. The identifiers to delete are personal data kept
only while they are needed: they are wiped as soon as the request is done (or when the
destination has no deletion API), and a partly done request keeps only the people left.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from cdp import warehouse_schema
from cdp.activate.delivery import BatchRejected, DeliveryFailed
from cdp.identifiers import IdentifierError

log = logging.getLogger(__name__)

NOW_UTC = "(now() at time zone 'UTC')"
DDL = """
create schema if not exists privacy;
create table if not exists privacy.erasure_requests (
    request_id varchar not null,
    sync_name varchar not null,
    destination varchar not null,
    people json,                 -- identifier sets still to delete; null once done
    people_total integer not null,
    status varchar not null,     -- pending | deleted | not_supported
    attempts integer not null,
    last_error varchar,
    requested_at timestamp not null,
    finished_at timestamp,
    primary key (request_id, sync_name)
);
"""


@dataclass
class ErasureResult:
    """What one request to one destination came to."""

    request_id: str
    sync_name: str
    destination: str
    status: str
    people: int
    error: str | None = None


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


def queue_erasures(
    con: duckdb.DuckDBPyConnection,
    request_id: str,
    customer_ids: Iterable[str],
    identifiers: Iterable[Mapping[str, Any]] = (),
) -> int:
    """Record a deletion request per sync that sent any of these customers; returns how many.

    Call it before the person's rows leave reverse_etl and marts: it reads them. Extra
    `identifiers` ({"email": ...} / {"phone": ...}) join every request.
    """
    ensure_schema(con)
    ids = sorted({str(customer_id) for customer_id in customer_ids})
    if not ids:
        return 0
    extra = [dict(item) for item in identifiers] + _golden_identifiers(con, ids)
    queued = 0
    for sync_name, destination in _syncs_that_sent(con, ids):
        people = _dedupe(_sent_identifiers(con, sync_name, ids) + extra)
        if not people:
            continue
        con.execute(
            f"""
            insert or replace into privacy.erasure_requests
            values ($request_id, $sync_name, $destination, $people, $total, 'pending', 0, null, {NOW_UTC}, null)
            """,
            {
                "request_id": request_id,
                "sync_name": sync_name,
                "destination": destination,
                "people": json.dumps(people),
                "total": len(people),
            },
        )
        queued += 1
    return queued


def _syncs_that_sent(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[tuple[str, str]]:
    if not warehouse_schema.table_exists(con, "reverse_etl", "sync_runs"):
        return []
    return con.execute(
        """
        with touched as (
            select distinct sync_name from reverse_etl.sync_state where primary_key in (select unnest($ids))
            union
            select distinct sync_name from reverse_etl.sync_log
            where primary_key in (select unnest($ids)) and status <> 'failed'
        )
        select touched.sync_name, arg_max(runs.destination, runs.started_at)
        from touched join reverse_etl.sync_runs as runs using (sync_name)
        group by all order by 1
        """,
        {"ids": ids},
    ).fetchall()


def _sent_identifiers(con: duckdb.DuckDBPyConnection, sync_name: str, ids: list[str]) -> list[dict[str, Any]]:
    """The identifier sets this sync sent for them (state and log; hashed log rows are skipped)."""
    records = con.execute(
        """
        select primary_key, record::varchar from reverse_etl.sync_state
        where sync_name = $sync and primary_key in (select unnest($ids)) and record is not null
        union
        select primary_key, record from reverse_etl.sync_log
        where sync_name = $sync and primary_key in (select unnest($ids)) and status <> 'failed'
            and record is not null and not starts_with(record, 'sha256:')
        """,
        {"sync": sync_name, "ids": ids},
    ).fetchall()
    # The key (the customer id) goes along: HubSpot finds its contact by it.
    return [{"customer_id": key, **(json.loads(record).get("identifiers") or {})} for key, record in records]


def _golden_identifiers(con: duckdb.DuckDBPyConnection, ids: list[str]) -> list[dict[str, Any]]:
    if not warehouse_schema.table_exists(con, "marts", "customer_360"):
        return []
    rows = con.execute(
        "select email, phone from marts.customer_360 where customer_id in (select unnest($ids))", {"ids": ids}
    ).fetchall()
    return [{"email": email, "phone": phone} for email, phone in rows]


def _dedupe(people: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distinct identifier sets, without those another set already holds (one request each)."""
    cleaned = [{key: value for key, value in person.items() if value not in (None, "")} for person in people]
    distinct = {json.dumps(person, sort_keys=True, default=str): person for person in cleaned if person}
    sets = list(distinct.values())
    return [
        person for person in sets if not any(other is not person and person.items() <= other.items() for other in sets)
    ]


def process_pending(con: duckdb.DuckDBPyConnection, destination) -> list[ErasureResult]:
    """Send the pending deletion requests of one sync through its destination (see module doc)."""
    if not warehouse_schema.table_exists(con, "privacy", "erasure_requests"):
        return []  # nobody was ever forgotten here: no privacy schema made for nothing
    pending = con.execute(
        "select request_id, people from privacy.erasure_requests where sync_name = ? and status = 'pending'"
        " order by requested_at",
        [destination.spec.name],
    ).fetchall()
    return [_process_one(con, destination, request_id, json.loads(people or "[]")) for request_id, people in pending]


def _process_one(con, destination, request_id: str, people: list[dict[str, Any]]) -> ErasureResult:
    spec = destination.spec
    result = ErasureResult(request_id, spec.name, spec.destination, "pending", len(people))
    if not destination.erases_with:
        result.status, result.error = "not_supported", f"{spec.destination} has no deletion API cdp can call"
        mark(con, request_id, spec.name, [], result)
        return result
    missing = destination.missing_settings()
    if missing:
        result.error = f"not configured: {', '.join(missing)}"
        mark(con, request_id, spec.name, people, result)
        return result
    left, result.error = _erase(destination, people)
    result.status = "pending" if left else "deleted"
    mark(con, request_id, spec.name, left, result)
    log.info(
        "erasure %s in %s (%s): %s, %d of %d left",
        request_id,
        spec.name,
        spec.destination,
        result.status,
        len(left),
        len(people),
    )
    return result


def _erase(destination, people: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str | None]:
    """(people not deleted, the last error) after one pass in batches. A destination that
    is down (retries ran out) keeps everyone not yet deleted for the next attempt."""
    left: list[dict[str, Any]] = []
    error: str | None = None
    size = max(1, destination.erase_batch_size)
    batches = [people[start : start + size] for start in range(0, len(people), size)]
    destination.open()
    try:
        for position, batch in enumerate(batches):
            try:
                failures = destination.erase(batch)
            except DeliveryFailed as down:
                left += [person for rest in batches[position:] for person in rest]
                return left, str(down)
            except (BatchRejected, IdentifierError) as refused:
                failures = dict.fromkeys(range(len(batch)), str(refused))
            left += [batch[index] for index in sorted(failures)]
            error = next(iter(failures.values()), error)
    finally:
        destination.close()
    return left, error


def mark(con, request_id: str, sync_name: str, left: list[dict[str, Any]], result: ErasureResult) -> None:
    done = result.status != "pending"
    con.execute(
        f"""
        update privacy.erasure_requests set
            people = $people, status = $status, attempts = attempts + 1, last_error = $error,
            finished_at = case when $done then {NOW_UTC} end
        where request_id = $request_id and sync_name = $sync_name
        """,
        {
            "people": None if done else json.dumps(left),
            "status": result.status,
            "error": result.error,
            "done": done,
            "request_id": request_id,
            "sync_name": sync_name,
        },
    )
