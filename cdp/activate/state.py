"""The sync state, run history and row log, kept in the warehouse schema `reverse_etl`.

- sync_state: per sync and primary key, what the destination holds according to its
  acknowledgements: the record and checksum last acknowledged, whether the row is in the
  destination, the last status and error, when it was last sent.
- sync_runs: one row per run per sync with its counts.
- sync_log: one row per row sent (or refused) per run, with the checksum and record sent;
  kept CDP_SYNC_LOG_RETENTION_DAYS (default 30) days, and with CDP_SYNC_LOG_RECORDS=hashes
  only a SHA-256 of each record once folded (the state keeps what the destination holds).

Each acknowledged batch is committed at once as its rows in the append-only sync_log
(cheap: one insert, whatever the size of the state). At the end of the run the log rows
not yet applied (`applied = false`) are folded into sync_state in one statement. A run
that was killed leaves its committed log rows behind, and the next run folds them in
before it computes its diff. So what is marked sent is exactly what the destination
acknowledged, and nothing acknowledged is planned again.

DDL is the current layout, which a fresh warehouse gets; a warehouse built by an earlier
release is brought to it by the migrations in cdp/warehouse_schema.py (component
reverse_etl), and a change to DDL comes with a migration there.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

from cdp import warehouse_schema
from cdp.activate.delivery import Unconfirmed

NOW_UTC = "(now() at time zone 'UTC')"
# What sync_state says of a member after an acknowledged outcome.
STATE_STATUS = """case
    when outcome.operation = 'remove' then 'removed'
    when outcome.operation = 'clear' then 'cleared'
    when outcome.operation = 'withdraw' then 'withdrawn'
    when outcome.status = 'unconfirmed' then 'unconfirmed'
    else 'sent'
end"""

DDL = """
create schema if not exists reverse_etl;
create table if not exists reverse_etl.sync_state (
    sync_name varchar not null,
    primary_key varchar not null,
    checksum varchar,            -- of the record last acknowledged; null = never acknowledged
    record json,                 -- the identifiers and fields last acknowledged
    in_destination boolean not null,
    status varchar not null,     -- sent | unconfirmed | removed | cleared | withdrawn | failed
    last_error varchar,
    last_sent_at timestamp,
    updated_at timestamp not null
);
create table if not exists reverse_etl.sync_runs (
    run_id varchar not null,
    sync_name varchar not null,
    model varchar,
    destination varchar not null,
    mode varchar not null,
    full_resync boolean not null,
    dry_run boolean not null,
    status varchar not null,     -- success | partial | failed | skipped | dry_run
    message varchar,
    started_at timestamp not null,
    finished_at timestamp not null,
    duration_s double not null,
    added bigint not null,
    updated bigint not null,
    removed bigint not null,
    failed bigint not null,
    skipped_consent bigint not null,
    requests bigint not null,
    skipped_identifier bigint,    -- rows with none of the identifiers the destination matches on
    withdrawn bigint,             -- members sent the destination's opt-out (consent withdrawn)
    unconfirmed bigint,           -- rows taken in a batch the destination said held invalid rows
    invalid_entries bigint        -- how many invalid rows the destination counted in those batches
);
create table if not exists reverse_etl.sync_log (
    run_id varchar not null,
    sync_name varchar not null,
    primary_key varchar not null,
    operation varchar not null,  -- add | update | remove | clear | withdraw | retire (old identifiers of an update)
    status varchar not null,     -- sent | unconfirmed | failed
    error varchar,
    logged_at timestamp not null,
    checksum varchar,            -- of the record sent
    record varchar,              -- the identifiers and fields sent (JSON), or 'sha256:<hex>' of it
    applied boolean not null     -- folded into sync_state yet
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables, or bring an earlier release's to this layout (cdp/warehouse_schema.py)."""
    warehouse_schema.upgrade(con, "reverse_etl", create=DDL)


@dataclass(frozen=True)
class Outcome:
    """What happened to one row in one batch."""

    primary_key: str
    operation: str
    checksum: str | None
    record: str | None  # JSON
    error: str | None  # None = acknowledged; an Unconfirmed = taken, but perhaps refused

    @property
    def status(self) -> str:
        if self.error is None:
            return "sent"
        return "unconfirmed" if isinstance(self.error, Unconfirmed) else "failed"


def record_batch(con: duckdb.DuckDBPyConnection, run_id: str, sync_name: str, outcomes: list[Outcome]) -> None:
    """Commit one batch's acknowledgements and failures to the row log (one insert, atomic)."""
    if not outcomes:
        return
    batch = pa.table(
        {
            "primary_key": [o.primary_key for o in outcomes],
            "operation": [o.operation for o in outcomes],
            "checksum": [o.checksum for o in outcomes],
            "record": [o.record for o in outcomes],
            "error": [None if o.error is None else str(o.error) for o in outcomes],
            "status": [o.status for o in outcomes],
        }
    )
    con.register("_batch_outcomes", batch)
    try:
        con.execute(
            f"""
            insert into reverse_etl.sync_log
            select $run_id, $sync_name, primary_key, operation, status, error, {NOW_UTC},
                   checksum, record, false
            from _batch_outcomes
            """,
            {"sync_name": sync_name, "run_id": run_id},
        )
    finally:
        con.unregister("_batch_outcomes")


def fold_outcomes(con: duckdb.DuckDBPyConnection, sync_name: str) -> None:
    """Apply the logged outcomes of a sync not applied yet (this run's, or a killed run's) to sync_state."""
    con.execute("begin transaction")
    try:
        con.execute(
            f"""
            merge into reverse_etl.sync_state as state
            using (
                select *, status <> 'failed' as acknowledged
                from reverse_etl.sync_log
                where sync_name = $sync_name and not applied and operation <> 'retire'
                qualify row_number() over (partition by primary_key order by logged_at desc) = 1
            ) as outcome
            on state.sync_name = outcome.sync_name and state.primary_key = outcome.primary_key
            when matched and outcome.acknowledged then update set
                checksum = case when outcome.operation in ('add', 'update') then outcome.checksum end,
                record = case when outcome.operation in ('add', 'update') then outcome.record::json end,
                in_destination = outcome.operation in ('add', 'update'),
                status = {STATE_STATUS},
                last_error = outcome.error,
                last_sent_at = outcome.logged_at,
                updated_at = {NOW_UTC}
            when matched then update set
                status = 'failed', last_error = outcome.error, updated_at = {NOW_UTC}
            when not matched then insert (
                sync_name, primary_key, checksum, record, in_destination, status, last_error, last_sent_at, updated_at
            ) values (
                outcome.sync_name, outcome.primary_key,
                case when outcome.acknowledged then outcome.checksum end,
                case when outcome.acknowledged then outcome.record::json end,
                outcome.acknowledged,
                case when outcome.acknowledged then {STATE_STATUS} else 'failed' end,
                outcome.error,
                case when outcome.acknowledged then outcome.logged_at end,
                {NOW_UTC}
            )
            """,
            {"sync_name": sync_name},
        )
        con.execute(
            "update reverse_etl.sync_log set applied = true where sync_name = $sync_name and not applied",
            {"sync_name": sync_name},
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def prune_log(con: duckdb.DuckDBPyConnection, sync_name: str, *, retention_days: int, records: str) -> None:
    """Keep the row log of a sync only `retention_days`, and with records="hashes" keep only
    a SHA-256 of each folded record (the payloads are personal data; the state has what the
    destination holds). Rows not folded yet are left alone: the state still needs them."""
    con.execute(
        f"delete from reverse_etl.sync_log where sync_name = $sync_name and applied"
        f" and logged_at < {NOW_UTC} - to_days(cast($days as integer))",
        {"sync_name": sync_name, "days": retention_days},
    )
    if records == "hashes":
        con.execute(
            """
            update reverse_etl.sync_log set record = 'sha256:' || sha256(record)
            where sync_name = $sync_name and applied and record is not null and not starts_with(record, 'sha256:')
            """,
            {"sync_name": sync_name},
        )
