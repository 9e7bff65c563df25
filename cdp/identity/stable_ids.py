"""Stable customer ids across runs, and the changelog of merges, splits and new ids.

Rules (docs/architecture.md section 3):
- an old id goes to the cluster that holds most of its records (a split: the biggest
  part keeps it; tie -> the cluster with the smallest record key);
- a cluster holding several old ids keeps the oldest (first assigned; tie -> smallest
  id): the others merge into it;
- a cluster with no old id gets a new one, `C` + 12 hex chars of the SHA-256 of its
  smallest record key, so the same data always yields the same ids.
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


def changelog(assignment: pd.DataFrame, *, run_id: str, changed_at) -> pd.DataFrame:
    """Merge, split and new rows from one run's records (customer_id, previous_customer_id).

    - new:   a customer id none of whose records had an id before;
    - merge: records of an id that no longer exists now sit under `customer_id`;
    - split: records of an id that still exists moved to `customer_id` (a new part, or
             a part joining another customer).
    An unchanged run yields no rows. `reason` says how many records moved and, when the
    cluster-size cap broke a cluster apart, that it did.
    """
    con = duckdb.connect()
    con.register("assignment", assignment)
    return changelog_in(con, "assignment", run_id=run_id, changed_at=changed_at).to_pandas()


def changelog_in(con: duckdb.DuckDBPyConnection, table: str, *, run_id: str, changed_at) -> pa.Table:
    """`changelog` over a table already in `con` (no copy through pandas)."""
    columns = [column for (column,) in con.execute(f"select column_name from (describe {table})").fetchall()]
    capped = "bool_or(coalesce(cluster_capped, false))" if "cluster_capped" in columns else "false"
    return (
        con.execute(
            f"""
        with typed as (  -- an all-null column arrives untyped from pandas
            select * replace (cast(customer_id as varchar) as customer_id,
                             cast(previous_customer_id as varchar) as previous_customer_id)
            from {table}
        ),
        moves as (
            select customer_id, previous_customer_id, count(*) as records, {capped} as capped
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
