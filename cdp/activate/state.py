"""The sync state, run history and row log, kept in the warehouse schema `reverse_etl`.

- sync_state: per sync and primary key, what the destination holds according to its
  acknowledgements: the record and checksum last acknowledged, whether the row is in the
  destination, the last status and error, when it was last sent.
- sync_runs: one row per run per sync with its counts.
- sync_log: one row per row sent (or refused) per run.

State is written once per acknowledged batch, in one transaction with its log rows, so
what is marked sent is exactly what the destination acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa

DDL = """
create schema if not exists reverse_etl;
create table if not exists reverse_etl.sync_state (
    sync_name varchar not null,
    primary_key varchar not null,
    checksum varchar,            -- of the record last acknowledged; null = never acknowledged
    record json,                 -- the identifiers and fields last acknowledged
    in_destination boolean not null,
    status varchar not null,     -- sent | removed | cleared | failed
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
    requests bigint not null
);
create table if not exists reverse_etl.sync_log (
    run_id varchar not null,
    sync_name varchar not null,
    primary_key varchar not null,
    operation varchar not null,  -- add | update | remove | clear
    status varchar not null,     -- sent | failed
    error varchar,
    logged_at timestamp not null
);
"""


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


@dataclass(frozen=True)
class Outcome:
    """What happened to one row in one batch."""

    primary_key: str
    operation: str
    checksum: str | None
    record: str | None  # JSON
    error: str | None  # None = acknowledged


def record_batch(con: duckdb.DuckDBPyConnection, run_id: str, sync_name: str, outcomes: list[Outcome]) -> None:
    """Write a batch's acknowledgements and failures to sync_state and sync_log, atomically."""
    if not outcomes:
        return
    batch = pa.table(
        {
            "primary_key": [o.primary_key for o in outcomes],
            "operation": [o.operation for o in outcomes],
            "checksum": [o.checksum for o in outcomes],
            "record": [o.record for o in outcomes],
            "error": [o.error for o in outcomes],
        }
    )
    con.register("_batch_outcomes", batch)
    try:
        con.execute("begin transaction")
        con.execute(
            """
            merge into reverse_etl.sync_state as state
            using (
                select
                    ?::varchar as sync_name, primary_key, operation, checksum, record, error,
                    error is null as acknowledged
                from _batch_outcomes
            ) as outcome
            on state.sync_name = outcome.sync_name and state.primary_key = outcome.primary_key
            when matched and outcome.acknowledged then update set
                checksum = case when outcome.operation in ('add', 'update') then outcome.checksum end,
                record = case when outcome.operation in ('add', 'update') then outcome.record::json end,
                in_destination = outcome.operation in ('add', 'update'),
                status = case outcome.operation when 'remove' then 'removed' when 'clear' then 'cleared' else 'sent' end,
                last_error = null,
                last_sent_at = (now() at time zone 'UTC'),
                updated_at = (now() at time zone 'UTC')
            when matched then update set
                status = 'failed', last_error = outcome.error, updated_at = (now() at time zone 'UTC')
            when not matched then insert (
                sync_name, primary_key, checksum, record, in_destination, status, last_error, last_sent_at, updated_at
            ) values (
                outcome.sync_name, outcome.primary_key,
                case when outcome.acknowledged then outcome.checksum end,
                case when outcome.acknowledged then outcome.record::json end,
                outcome.acknowledged,
                case when outcome.acknowledged then 'sent' else 'failed' end,
                outcome.error,
                case when outcome.acknowledged then (now() at time zone 'UTC') end,
                (now() at time zone 'UTC')
            )
            """,
            [sync_name],
        )
        con.execute(
            """
            insert into reverse_etl.sync_log
            select ?, ?, primary_key, operation, case when error is null then 'sent' else 'failed' end, error, (now() at time zone 'UTC')
            from _batch_outcomes
            """,
            [run_id, sync_name],
        )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.unregister("_batch_outcomes")
