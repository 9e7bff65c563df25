"""The sync plan: what to add, update, remove or clear, computed in DuckDB SQL.

The current segment rows that pass consent are mapped to the sync's record (identifiers
and fields, as JSON) and checksummed; a full outer join with `reverse_etl.sync_state`
gives each row its operation:

- add: in the segment, not in the destination (new, came back, or never acknowledged);
- update: in the destination with another checksum than last acknowledged (or a full
  resync, or membership older than the destination's time to live);
- withdraw: in the destination, and the person's consent for the sync's purpose is gone
  (false, unsubscribed, or no longer stated), whether or not they are still in the
  segment: the destination's own opt-out, whatever on_leave says, also on a full resync;
- remove / clear: in the destination but no longer in the segment, per the sync's
  on_leave; never on a full resync;
- retire: the old identifiers of an update that changed them, removed first where the
  destination's members are their identifiers (audiences, Mailchimp).

Rows failing consent are counted, never planned.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cdp.activate.specs import SyncSpec
from cdp.errors import CdpError

PLAN_TABLE = "_sync_plan"
CURRENT_TABLE = "_sync_current"
NOW_UTC = "(now() at time zone 'UTC')"

CONSENT_SQL = {
    None: "true",  # a `service` sync: no marketing consent needed
    "email_marketing": "coalesce(consent.consent_email_marketing, false) and not coalesce(consent.email_unsubscribed, false)",
    "ads": "coalesce(consent.consent_ads, false)",
}
LEAVE_OPERATION = {"remove": "remove", "clear_fields": "clear"}
OPERATION_ORDER = (
    "case operation when 'withdraw' then 0 when 'retire' then 1 when 'remove' then 1 when 'clear' then 2 else 3 end"
)
PLAN_OPERATIONS = ("add", "update", "remove", "clear", "withdraw")


@dataclass
class Plan:
    """Counts of a computed plan (the rows themselves stay in the temp table)."""

    counts: dict[str, int]
    skipped_consent: int
    total: int


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _json_object(mapping: dict[str, str]) -> str:
    pairs = ", ".join(f"'{key}', segment.{_quote(column)}" for key, column in mapping.items())
    return f"json_object({pairs})"


def _check_segment(con: duckdb.DuckDBPyConnection, spec: SyncSpec, needs_consent: bool) -> None:
    where = f"sync {spec.name} (model {spec.model or spec.relation})"
    try:
        columns = {row[0] for row in con.execute(f"describe select * from {spec.relation}").fetchall()}
    except duckdb.CatalogException:
        raise CdpError(f"{where}: segment table {spec.relation} not found in the warehouse; build it first") from None
    mapped = [("primary_key", spec.primary_key)]
    mapped += [(f"identifiers.{key}", column) for key, column in spec.identifiers.items()]
    mapped += [(f"fields.{key}", column) for key, column in spec.fields.items()]
    if needs_consent:
        mapped.append(("consent (joins marts.customer_360 on)", "customer_id"))
    for key, column in mapped:
        if column not in columns:
            raise CdpError(f"{where}: {key}: column {column!r} is not in {spec.relation}")
    nulls, duplicates = con.execute(
        f"select count(*) filter (where {_quote(spec.primary_key)} is null),"
        f" count(*) - count(distinct {_quote(spec.primary_key)}) from {spec.relation}"
    ).fetchone()
    if nulls or duplicates:
        raise CdpError(
            f"{where}: primary_key {spec.primary_key!r} must be unique and not null "
            f"({nulls} null, {duplicates} duplicate rows)"
        )


def compute_plan(
    con: duckdb.DuckDBPyConnection,
    spec: SyncSpec,
    *,
    consent_purpose: str | None,
    full_resync: bool = False,
    membership_ttl_days: int | None = None,
    retire_changed_identifiers: bool = False,
) -> Plan:
    """Build the temp table `_sync_plan` (primary_key, operation, record, checksum, position).

    With `retire_changed_identifiers` (destinations whose members are their identifiers:
    audiences, Mailchimp), an update that changes a row's identifiers is preceded by a
    'retire' of the identifiers last sent, so the old member does not linger.
    """
    _check_segment(con, spec, needs_consent=consent_purpose is not None)
    consent_join = (
        "left join marts.customer_360 as consent on consent.customer_id = segment.customer_id"
        if consent_purpose
        else ""
    )
    record = f"json_object('identifiers', {_json_object(spec.identifiers)}, 'fields', {_json_object(spec.fields)})"
    leave = LEAVE_OPERATION.get(spec.on_leave or "")
    leave_case = f"when not in_segment and in_destination then '{leave}'" if leave and not full_resync else ""
    expired = f"or last_sent_at < {NOW_UTC} - interval '{int(membership_ttl_days)} days'" if membership_ttl_days else ""
    try:
        # One pass over the segment: map, check consent, checksum.
        con.execute(
            f"""
            create or replace temp table {CURRENT_TABLE} as
            select primary_key, consented, record, md5(record) as checksum
            from (
                select
                    cast(segment.{_quote(spec.primary_key)} as varchar) as primary_key,
                    coalesce({CONSENT_SQL[consent_purpose]}, false) as consented,
                    {record}::varchar as record
                from {spec.relation} as segment
                {consent_join}
            )
            """
        )
    except duckdb.CatalogException as error:
        raise CdpError(f"sync {spec.name}: consent needs marts.customer_360 in the warehouse ({error})") from None
    con.execute(
        f"""
        create or replace temp table {PLAN_TABLE} as
        with current as (
            select primary_key, consented, record, checksum from {CURRENT_TABLE}
        ),
        state as (
            select * from reverse_etl.sync_state where sync_name = $sync_name
        ),
        withdrawn as (
            {_withdrawn_outside_segment(spec, consent_purpose)}
        ),
        joined as (
            select
                coalesce(current.primary_key, state.primary_key) as primary_key,
                coalesce(current.consented, false) as consented,
                current.primary_key is not null as in_segment,
                coalesce(state.in_destination, false) as in_destination,
                current.record,
                current.checksum,
                state.checksum as state_checksum,
                state.last_sent_at,
                state.record::varchar as previous_record,
                withdrawn.primary_key is not null as withdrawn_outside
            from current
            full outer join state on current.primary_key = state.primary_key
            left join withdrawn on withdrawn.primary_key = state.primary_key and current.primary_key is null
        ),
        planned as (
            select
                primary_key,
                case
                    when consented and not in_destination then 'add'
                    when consented
                        and ($full_resync or state_checksum is distinct from checksum {expired}) then 'update'
                    when in_destination and (in_segment and not consented or withdrawn_outside) then 'withdraw'
                    {leave_case}
                end as operation,
                case when consented then record else previous_record end as record,
                case when consented then checksum end as checksum,
                previous_record
            from joined
        ),
        operations as (
            select primary_key, operation, record, checksum from planned where operation is not null
            union all
            select primary_key, 'retire', previous_record, null from planned
            where $retire and not $full_resync and operation = 'update'
                and json_extract(previous_record, '$.identifiers')::varchar
                    is distinct from json_extract(record, '$.identifiers')::varchar
        )
        select *, row_number() over (order by {OPERATION_ORDER}, primary_key) as position
        from operations
        """,
        {"sync_name": spec.name, "full_resync": full_resync, "retire": retire_changed_identifiers},
    )
    counts = dict(con.execute(f"select operation, count(*) from {PLAN_TABLE} group by all").fetchall())
    skipped, total = con.execute(
        f"select count(*) filter (where not consented), count(*) from {CURRENT_TABLE}"
    ).fetchone()
    con.execute(f"drop table {CURRENT_TABLE}")
    return Plan(
        counts={op: counts.get(op, 0) for op in PLAN_OPERATIONS},
        skipped_consent=skipped,
        total=total,
    )


def _withdrawn_outside_segment(spec: SyncSpec, consent_purpose: str | None) -> str:
    """Customers whose consent is gone, for members who also left the segment.

    Looked up by customer id, so only where the sync's key is the customer id; a member
    whose customer no longer exists (merged into another) is not a withdrawal: it left.
    """
    if consent_purpose is None or spec.primary_key != "customer_id":
        return "select null::varchar as primary_key where false"
    return (
        "select cast(consent.customer_id as varchar) as primary_key from marts.customer_360 as consent"
        f" where not coalesce({CONSENT_SQL[consent_purpose]}, false)"
    )


def plan_rows(con: duckdb.DuckDBPyConnection, operations: tuple[str, ...], chunk_rows: int = 50_000):
    """Yield (primary_key, operation, record_json, checksum) of the plan, chunk by chunk.

    Chunks are read by position, so the caller may write to the warehouse between chunks.
    """
    placeholders = ", ".join("?" for _ in operations)
    first, last = con.execute(
        f"select min(position), max(position) from {PLAN_TABLE} where operation in ({placeholders})", list(operations)
    ).fetchone()
    if first is None:
        return
    for start in range(first, last + 1, chunk_rows):
        rows = con.execute(
            f"""
            select primary_key, operation, record, checksum from {PLAN_TABLE}
            where position >= ? and position < ? and operation in ({placeholders})
            order by position
            """,
            [start, start + chunk_rows, *operations],
        ).fetchall()
        yield from rows


def plan_sample(con: duckdb.DuckDBPyConnection, per_operation: int = 5) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        f"""
        select operation, primary_key, record from {PLAN_TABLE}
        qualify row_number() over (partition by operation order by position) <= ?
        order by position
        """,
        [per_operation],
    ).fetchall()
    sample: dict[str, list[tuple[str, str]]] = {}
    for operation, primary_key, record in rows:
        sample.setdefault(operation, []).append((primary_key, record))
    return sample
