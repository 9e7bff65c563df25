"""Stable customer ids across runs, and the changelog of merges, splits and new ids.

Rules (docs/architecture.md section 3):
- an old id goes to the cluster that holds most of its records (a split: the biggest
  part keeps it; tie -> the cluster with the smallest record key);
- a cluster holding several old ids keeps the oldest (first assigned; tie -> smallest
  id): the others merge into it;
- a cluster with no old id gets a new one, `C` + 12 hex chars of the SHA-256 of its
  smallest record key, so the same data always yields the same ids.

The changelog compares each record's `customer_id` with its `logged_customer_id`: its id
as of the last run whose changes are in identity.identity_changelog. Ids carry over from
the last run that wrote record_customers, but the changelog's base only advances once that
run's changes are logged: `previous_for_next_run` asks the changelog itself (are the last
run's changes in it?), so a run killed between record_customers and identity_changelog
leaves the base where it was and the rerun logs what the killed run would have. No second
table has to advance together with the changelog (dbt writes each model on its own).
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

CHANGELOG_SCHEMA = pa.schema(
    [
        ("changed_at", pa.timestamp("us")),
        ("run_id", pa.string()),
        ("change", pa.string()),
        ("customer_id", pa.string()),
        ("other_customer_id", pa.string()),
        ("reason", pa.string()),
    ]
)


def new_customer_id_sql(key: str) -> str:
    return f"'C' || substr(sha256({key}), 1, 12)"


def assign_customer_ids(con: duckdb.DuckDBPyConnection, resolved_at) -> None:
    """`clusters (unique_id, cluster_key)` + `previous_assignment` -> `assignment`.

    `previous_assignment` has unique_id, customer_id, customer_since (may be empty).
    `assignment` is `clusters` plus customer_id, customer_since and previous_customer_id.
    """
    con.execute("""
        create or replace temp table claims as
        select c.cluster_key, p.customer_id, count(*) as records, min(p.customer_since) as customer_since
        from clusters c join previous_assignment p using (unique_id)
        group by all
    """)
    con.execute("""
        create or replace temp table kept_ids as
        with owned as (
            select * from claims
            qualify row_number() over (partition by customer_id order by records desc, cluster_key) = 1
        )
        select cluster_key, customer_id, customer_since from owned
        qualify row_number() over (partition by cluster_key order by customer_since, customer_id) = 1
    """)
    con.execute(
        f"""
        create or replace temp table cluster_ids as
        select k.cluster_key, coalesce(kept.customer_id, {new_customer_id_sql("k.cluster_key")}) as customer_id,
               coalesce(kept.customer_since, ?::timestamp) as customer_since, kept.customer_id is null as is_new
        from (select distinct cluster_key from clusters) k left join kept_ids kept using (cluster_key)
    """,
        [resolved_at],
    )
    _resolve_id_collisions(con)
    con.execute("""
        create or replace table assignment as
        select c.*, i.customer_id, i.customer_since, p.customer_id as previous_customer_id
        from clusters c join cluster_ids i using (cluster_key)
        left join previous_assignment p using (unique_id)
    """)


def _resolve_id_collisions(con: duckdb.DuckDBPyConnection) -> None:
    """A new id must not equal another cluster's id nor an id used before (very rare)."""
    for salt in range(1, 100):
        clashing = con.execute("""
            select count(*) from cluster_ids n
            where n.is_new and (
                n.customer_id in (select customer_id from previous_assignment)
                or exists (select 1 from cluster_ids o where o.customer_id = n.customer_id and o.cluster_key < n.cluster_key))
        """).fetchone()[0]
        if not clashing:
            return
        con.execute(f"""
            update cluster_ids n set customer_id = {new_customer_id_sql(f"n.cluster_key || '#{salt}'")}
            where n.is_new and (
                n.customer_id in (select customer_id from previous_assignment)
                or exists (select 1 from cluster_ids o where o.customer_id = n.customer_id and o.cluster_key < n.cluster_key))
        """)
    raise RuntimeError("could not find unique customer ids")


def changelog(assignment: pd.DataFrame, *, run_id: str, changed_at, base: str = "previous_customer_id") -> pd.DataFrame:
    """Merge, split and new rows from one run's records: `base` (each record's id before) -> customer_id.

    - new:   a customer id none of whose records had an id before;
    - merge: records of an id that no longer exists now sit under `customer_id`;
    - split: records of an id that still exists moved to `customer_id` (a new part, or
             a part joining another customer).
    An unchanged run yields no rows. `reason` says how many records moved and, when the
    cluster-size cap broke a cluster apart, that it did.
    """
    con = duckdb.connect()
    con.register("assignment", assignment)
    return changelog_in(con, "assignment", run_id=run_id, changed_at=changed_at, base=base).to_pandas()


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [column for (column,) in con.execute(f"select column_name from (describe {table})").fetchall()]


def changelog_in(
    con: duckdb.DuckDBPyConnection, table: str, *, run_id: str, changed_at, base: str = "previous_customer_id"
) -> pa.Table:
    """`changelog` over a table already in `con` (no copy through pandas)."""
    capped = "coalesce(cluster_capped, false)" if "cluster_capped" in table_columns(con, table) else "false"
    return (
        con.execute(
            f"""
        with typed as (  -- an all-null column arrives untyped from pandas
            select cast(customer_id as varchar) as customer_id, cast({base} as varchar) as previous_customer_id,
                   {capped} as capped
            from {table}
        ),
        moves as (
            select customer_id, previous_customer_id, count(*) as records, bool_or(capped) as capped
            from typed where previous_customer_id is distinct from customer_id
            group by all
        ),
        current_ids as (select distinct customer_id from typed),
        earlier_ids as (select distinct previous_customer_id as customer_id from typed where previous_customer_id is not null),
        new_customers as (
            select customer_id from current_ids
            where customer_id not in (select customer_id from earlier_ids)
              and customer_id not in (select customer_id from moves where previous_customer_id is not null)
        )
        select ?::timestamp as changed_at, ?::varchar as run_id, 'new' as change, customer_id,
               null::varchar as other_customer_id, 'records not seen under any customer before' as reason
        from new_customers
        union all
        select ?::timestamp, ?::varchar,
               case when previous_customer_id in (select customer_id from current_ids) then 'split' else 'merge' end,
               customer_id, previous_customer_id,
               case when previous_customer_id in (select customer_id from current_ids)
                    then records || ' record(s) of ' || previous_customer_id || ' now under ' || customer_id
                         || case when capped then ' (cluster-size cap)' else ' (links changed)' end
                    else previous_customer_id || ' merged into ' || customer_id || ' (oldest id kept), '
                         || records || ' record(s)' end
        from moves where previous_customer_id is not null
        order by change, customer_id, other_customer_id
    """,
            [changed_at, run_id, changed_at, run_id],
        )
        .arrow()
        .read_all()
        .cast(CHANGELOG_SCHEMA)
    )


def changelog_base(columns: list[str]) -> str | None:
    """The column a record_customers table's changelog was derived from (older tables: previous_customer_id)."""
    return next((column for column in ("logged_customer_id", "previous_customer_id") if column in columns), None)


def last_run_logged(con: duckdb.DuckDBPyConnection, records: str, changelog_table: str | None) -> bool:
    """Are the changes of the run that wrote `records` (record_customers) in the changelog?

    Yes when the changelog holds rows of that run_id, or when the run had no change to log
    (then a clean run appended nothing either). No when it had changes and the changelog
    (`changelog_table`, None when it does not exist yet) lacks them: the run stopped before
    identity_changelog was written.
    """
    base = changelog_base(table_columns(con, records))
    if base is None:
        return True
    run_id = con.execute(f"select any_value(run_id) from {records}").fetchone()[0]
    if changelog_table is not None:
        logged = con.execute(f"select count(*) from {changelog_table} where run_id = ?", [run_id]).fetchone()[0]
        if logged:
            return True
    return changelog_in(con, records, run_id=run_id or "", changed_at=None, base=base).num_rows == 0


def previous_for_next_run(con: duckdb.DuckDBPyConnection, records: str, changelog_table: str | None) -> pa.Table:
    """The last run's record_customers as the next run's `previous` (see resolve_identities).

    source, source_record_id, customer_id, customer_since (the ids to carry over) and
    changelog_customer_id: the record's id as the changelog last recorded it, which the next
    run's changelog compares against (the next run's logged_customer_id). That is customer_id
    when the last run was logged, else the last run's own logged_customer_id (carried on
    through any number of unlogged runs). And run_id and match_hash, the incremental
    identity step's state, where the table has them.
    """
    columns = table_columns(con, records)
    base = changelog_base(columns)
    logged = "customer_id" if last_run_logged(con, records, changelog_table) else base
    # the incremental identity step's state (cdp/identity/incremental.py), where the table has it
    state = "".join(f", cast({c} as varchar) as {c}" for c in ("run_id", "match_hash") if c in columns)
    result = con.execute(f"""
        select cast(source as varchar) as source, cast(source_record_id as varchar) as source_record_id,
               cast(customer_id as varchar) as customer_id, customer_since,
               cast({logged} as varchar) as changelog_customer_id{state}
        from {records}
    """).arrow()
    return result.read_all() if hasattr(result, "read_all") else result
