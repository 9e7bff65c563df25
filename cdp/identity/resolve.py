"""Resolve identity inputs into customer ids: the whole identity step, in one call.

    result = resolve_identities(inputs, strong_ids, blocked, nicknames, previous,
                                threshold=0.99, max_cluster_size=50)

Frames may be pandas, Arrow tables or Arrow streams. `previous` is the last run's `identity.record_customers`
(or None on the first run): source, source_record_id, customer_id, customer_since, and optionally
changelog_customer_id, the id identity_changelog last recorded for the record, which this run's
changelog compares against (stable_ids.previous_for_next_run; without it, customer_id: the last
run counts as logged). Everything runs in a private in-memory DuckDB connection
(Splink rejects dbt-duckdb's cursor wrapper, and the warehouse has one writer).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cdp import settings
from cdp.identity.links import build_deterministic_links
from cdp.identity.model import predict_links
from cdp.identity.prepare import clearly_different_first_names, prepare_matching_table
from cdp.identity.stable_ids import assign_customer_ids, changelog_in, table_columns

# Typed, so an all-null column (no previous run, no probabilistic link) keeps its type in the warehouse.
RECORD_CUSTOMERS_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("source_record_id", pa.string()),
        ("customer_id", pa.string()),
        ("link_rule", pa.string()),
        ("match_probability", pa.float64()),
        ("previous_customer_id", pa.string()),
        ("logged_customer_id", pa.string()),
        ("customer_since", pa.timestamp("us")),
        ("cluster_capped", pa.bool_()),
        ("run_id", pa.string()),
        ("resolved_at", pa.timestamp("us")),
    ]
)
EMPTY_PREVIOUS = pd.DataFrame(
    {
        "source": pd.Series(dtype="str"),
        "source_record_id": pd.Series(dtype="str"),
        "customer_id": pd.Series(dtype="str"),
        "customer_since": pd.Series(dtype="datetime64[us]"),
    }
)


@dataclass
class Resolution:
    records: pa.Table  # RECORD_CUSTOMERS_SCHEMA, one row per input record
    changes: pa.Table  # CHANGELOG_SCHEMA: changed_at, run_id, change, customer_id, other_customer_id, reason
    oversized_clusters: pd.DataFrame  # cluster_key, records: clusters broken up by the cap

    @property
    def record_customers(self) -> pd.DataFrame:
        return self.records.to_pandas()

    @property
    def changelog(self) -> pd.DataFrame:
        return self.changes.to_pandas()


def resolve_identities(
    inputs,
    strong_ids,
    blocked,
    nicknames,
    previous=None,
    *,
    threshold: float,
    max_cluster_size: int,
    model=None,
    run_id: str | None = None,
    resolved_at: datetime | None = None,
) -> Resolution:
    con = duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit()})
    tables = {
        "identity_inputs": inputs,
        "identity_strong_ids": strong_ids,
        "blocked_identifiers": blocked,
        "nicknames": nicknames,
        "previous_records": EMPTY_PREVIOUS if previous is None else previous,
    }
    for name, frame in tables.items():
        if isinstance(frame, (pa.Table, pd.DataFrame)):
            con.register(name, frame)  # scanned in place: the steps read each input once or twice
        else:  # an Arrow stream (dbt-duckdb's `.arrow()`) can be read only once
            con.register(f"{name}_stream", frame)
            con.execute(f"create table {name} as select * from {name}_stream")
            con.unregister(f"{name}_stream")
    run_id = run_id or uuid.uuid4().hex
    resolved_at = resolved_at or datetime.now(UTC).replace(tzinfo=None)
    try:
        return resolve_in(
            con,
            threshold=threshold,
            max_cluster_size=max_cluster_size,
            model=model,
            run_id=run_id,
            resolved_at=resolved_at,
        )
    finally:
        con.close()


def resolve_in(
    con: duckdb.DuckDBPyConnection, *, threshold, max_cluster_size, model, run_id, resolved_at
) -> Resolution:
    """The steps over a connection holding the input tables (see `prepare`) and `previous_records`."""
    prepare_matching_table(con)
    build_deterministic_links(con)
    predict_links(con, threshold, model)
    keep_links_between_same_people(con)
    oversized = cluster(con, threshold, max_cluster_size)
    logged = (
        "changelog_customer_id" if "changelog_customer_id" in table_columns(con, "previous_records") else "customer_id"
    )
    con.execute(f"""
        create or replace temp table previous_assignment as
        select source || ':' || source_record_id as unique_id, customer_id, customer_since,
               cast({logged} as varchar) as logged_customer_id
        from previous_records
    """)
    assign_customer_ids(con, resolved_at)
    con.execute(
        """
        create or replace temp table record_customers as
        select m.source, cast(m.source_record_id as varchar) as source_record_id, a.customer_id,
               coalesce(r.link_rule, 'singleton') as link_rule, cast(r.match_probability as double) as match_probability,
               cast(a.previous_customer_id as varchar) as previous_customer_id, p.logged_customer_id,
               a.customer_since, a.cluster_capped, ?::varchar as run_id, ?::timestamp as resolved_at
        from matching m
        join assignment a using (unique_id)
        left join record_rules r using (unique_id)
        left join previous_assignment p using (unique_id)
    """,
        [run_id, resolved_at],
    )
    # unsorted: the warehouse table has no order, and sorting 5 million rows costs seconds
    records = con.execute("select * from record_customers").arrow().read_all().cast(RECORD_CUSTOMERS_SCHEMA)
    changes = changelog_in(con, "record_customers", run_id=run_id, changed_at=resolved_at, base="logged_customer_id")
    return Resolution(records, changes, oversized)


def keep_links_between_same_people(con: duckdb.DuckDBPyConnection) -> None:
    """Guardrail: a probabilistic link between clearly different first names is dropped.

    Whatever else agrees (a household's address and phone, twins' birthday), two first
    names that are neither typos nor nicknames of each other are two people.
    """
    con.execute(f"""
        create or replace table probabilistic_links as
        select p.* from probabilistic_links p
        join matching l on l.unique_id = p.unique_id_l
        join matching r on r.unique_id = p.unique_id_r
        where not {clearly_different_first_names("l", "r")}
    """)


def cluster(con: duckdb.DuckDBPyConnection, threshold: float, max_cluster_size: int) -> pd.DataFrame:
    """Connected components (Splink's) over all links; clusters above the cap are broken up.

    An oversized cluster keeps only its strong-id links (the most trusted); records still
    in an oversized group after that stand alone. Writes `clusters (unique_id,
    cluster_key, cluster_capped)` and `record_rules`; returns the oversized clusters.
    """
    con.execute("""
        create or replace temp table all_links as
        select * from deterministic_links union all select * from probabilistic_links
    """)
    components(con, "all_links", "components")
    con.execute(
        """
        create or replace temp table oversized as
        select cluster_key, count(*) as records from components group by all having count(*) > ?
    """,
        [max_cluster_size],
    )
    con.execute("""
        create or replace temp table capped_links as
        select l.* from all_links l join components c on c.unique_id = l.unique_id_l
        where l.link_rule like 'strong_id:%' and c.cluster_key in (select cluster_key from oversized)
    """)
    has_oversized = con.execute("select count(*) from oversized").fetchone()[0] > 0
    if has_oversized:
        components(con, "capped_links", "capped_components")
    else:
        con.execute("create or replace temp table capped_components (unique_id varchar, cluster_key varchar)")
    con.execute(
        """
        create or replace temp table clusters as
        with recut as (
            select o.unique_id, coalesce(cc.cluster_key, o.unique_id) as cluster_key
            from components o left join capped_components cc using (unique_id)
            where o.cluster_key in (select cluster_key from oversized)
        ),
        still_big as (select cluster_key from recut group by all having count(*) > ?)
        select unique_id,
               case when cluster_key in (select cluster_key from still_big) then unique_id else cluster_key end as cluster_key,
               true as cluster_capped
        from recut
        union all
        select unique_id, cluster_key, false from components
        where cluster_key not in (select cluster_key from oversized)
    """,
        [max_cluster_size],
    )
    # Each record's link rule: the most trusted link it has inside its final cluster (all
    # its links, unless the cap broke its cluster up).
    same_cluster = (
        """
        join clusters a on a.unique_id = e.unique_id
        join clusters b on b.unique_id = e.other and b.cluster_key = a.cluster_key
    """
        if has_oversized
        else ""
    )
    con.execute(f"""
        create or replace temp table record_rules as
        with ends as (
            select unique_id_l as unique_id, unique_id_r as other, link_rule, match_probability from all_links
            union all
            select unique_id_r, unique_id_l, link_rule, match_probability from all_links
        )
        -- strong ids first, then contact values, then Splink; the likelier link within a kind
        select e.unique_id, arg_min(e.link_rule, (case when e.link_rule like 'strong_id:%' then 1
                    when e.link_rule in ('email', 'email_sha256', 'phone', 'email_typo') then 2 else 3 end) * 2
                    - e.match_probability) as link_rule,
               max(e.match_probability) as match_probability
        from ends e {same_cluster}
        group by all
    """)
    return con.execute("select * from oversized order by cluster_key").df()


def components(con: duckdb.DuckDBPyConnection, links_table: str, output: str) -> None:
    """`output (unique_id, cluster_key)`: connected components, keyed by the smallest member.

    Records are numbered in unique_id order and the graph is solved by scipy in one pass
    (Splink's own clustering iterates SQL joins until labels settle, which costs more
    than the prediction on a large graph); the same components either way.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = (
        con.execute("select unique_id from matching order by unique_id").arrow().read_all().column(0).combine_chunks()
    )
    con.register("cluster_nodes", pa.table({"unique_id": nodes, "node": np.arange(len(nodes))}))
    edges = con.execute(f"""
        select l.node as l, r.node as r from {links_table} e
        join cluster_nodes l on l.unique_id = e.unique_id_l
        join cluster_nodes r on r.unique_id = e.unique_id_r
    """).fetchnumpy()
    left, right = edges["l"], edges["r"]
    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(len(nodes), len(nodes)))
    _, labels = connected_components(graph, directed=False)
    # a component's smallest node number is its smallest unique_id
    smallest = np.full(labels.max() + 1 if len(nodes) else 0, len(nodes), dtype=np.int64)
    np.minimum.at(smallest, labels, np.arange(len(nodes)))
    con.register("component_keys", pa.table({"unique_id": nodes, "cluster_key": nodes.take(smallest[labels])}))
    con.execute(f"create or replace temp table {output} as select * from component_keys")
    con.unregister("component_keys")
    con.unregister("cluster_nodes")
