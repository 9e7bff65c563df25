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

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cdp import settings
from cdp.identity.config import PAIR_GUARDRAILS, IdentityConfig
from cdp.identity.explain import link_explanations
from cdp.identity.incremental import Increment, plan_increment, scored_pairs_state
from cdp.identity.links import build_deterministic_links
from cdp.identity.model import inputs_warning, load_model, predict_links, prediction_settings
from cdp.identity.prepare import (
    clearly_different_birth_dates,
    clearly_different_first_names,
    default_config,
    match_fields,
    prepare_matching_table,
)
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
        ("linked_to", pa.string()),
        ("match_weight", pa.float64()),
        ("explanation", pa.string()),
        ("match_hash", pa.string()),
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


EMPTY_MATCH_FIELDS = pd.DataFrame(
    {name: pd.Series(dtype="str") for name in ("source", "source_record_id", "field", "kind", "value")}
)
logger = logging.getLogger("cdp.identity")


class Prediction(Protocol):
    """Where Splink scores the blocked pairs: writes `scored_pairs` into the step's connection."""

    dialect: str  # Splink's SQL dialect for the generated settings

    def predict(self, con: duckdb.DuckDBPyConnection, config: IdentityConfig, settings: dict, *, only_changed: bool):
        """See cdp.identity.model.predict_links."""


class DuckDBPrediction:
    """Splink's DuckDBAPI, on the identity step's own DuckDB connection (the default)."""

    dialect = "duckdb"

    def predict(self, con, config, settings, *, only_changed):
        predict_links(con, config, settings, only_changed=only_changed)


@dataclass
class Resolution:
    records: pa.Table  # RECORD_CUSTOMERS_SCHEMA, one row per input record
    changes: pa.Table  # CHANGELOG_SCHEMA: changed_at, run_id, change, customer_id, other_customer_id, reason
    oversized_clusters: pd.DataFrame  # cluster_key, records: clusters broken up by the cap
    warnings: list[str] = field(default_factory=list)  # e.g. inputs no longer carry the model's fields
    # identity.identity_scored_pairs, the next run's state (cdp/identity/incremental.py)
    scored_pairs: pa.Table | None = None
    increment: Increment | None = None

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
    match_fields=None,
    previous_pairs: pa.Table | None = None,
    config: IdentityConfig | None = None,
    model: dict | str | None = "trained",
    threshold: float | None = None,
    max_cluster_size: int | None = None,
    run_id: str | None = None,
    resolved_at: datetime | None = None,
    prediction: Prediction | None = None,
) -> Resolution:
    """`config`: the identity configuration (default: the repo's dbt project); `model`: the
    trained parameters (default: CDP_IDENTITY_MODEL; None: Splink's defaults);
    `previous_pairs`: the last run's identity_scored_pairs (then only pairs with a new or
    changed record are scored: cdp.identity.incremental); `prediction`: where Splink scores
    the pairs (default: this DuckDB connection; cdp.identity.on_spark.SparkPrediction on Spark);
    `threshold` / `max_cluster_size` override the configuration's."""
    config = config or default_config()
    overrides = {"threshold": threshold, "max_cluster_size": max_cluster_size}
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    model = load_model() if model == "trained" else model
    con = duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit()})
    tables = {
        "identity_inputs": inputs,
        "identity_strong_ids": strong_ids,
        "blocked_identifiers": blocked,
        "nicknames": nicknames,
        "previous_records": EMPTY_PREVIOUS if previous is None else previous,
        "identity_match_fields": EMPTY_MATCH_FIELDS if match_fields is None else match_fields,
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
            config=config,
            model=model,
            run_id=run_id,
            resolved_at=resolved_at,
            previous_pairs=previous_pairs,
            prediction=prediction or DuckDBPrediction(),
        )
    finally:
        con.close()


def resolve_in(
    con: duckdb.DuckDBPyConnection,
    *,
    config: IdentityConfig,
    model: dict | None,
    run_id,
    resolved_at,
    previous_pairs: pa.Table | None = None,
    prediction: Prediction | None = None,
) -> Resolution:
    """The steps over a connection holding the input tables (see `prepare`) and `previous_records`."""
    config = config.with_match_fields(match_fields(con))
    prepare_matching_table(con, config)
    build_deterministic_links(con, config)
    prediction = prediction or DuckDBPrediction()
    settings = prediction_settings(config, model, prediction.dialect)
    increment = plan_increment(con, config, settings, previous_pairs)
    prediction.predict(con, config, settings, only_changed=increment.incremental)
    if increment.incremental:  # the last run's pairs between unchanged records, as they were
        con.execute("insert into scored_pairs by name select * from kept_pairs")
    logger.info(
        "identity: scored %s",
        f"the pairs of {increment.changed_records} new or changed records"
        if increment.incremental
        else f"all pairs ({increment.reason})",
    )
    warnings = inputs_warning(con, config, model)
    for warning in warnings:
        logger.warning(warning)
    apply_guardrails(con, config)
    oversized = cluster(con, config.threshold, config.max_cluster_size)
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
    link_explanations(con, config, model)
    con.execute(
        """
        create or replace temp table record_customers as
        select m.source, cast(m.source_record_id as varchar) as source_record_id, a.customer_id,
               coalesce(r.link_rule, 'singleton') as link_rule, cast(r.match_probability as double) as match_probability,
               cast(a.previous_customer_id as varchar) as previous_customer_id, p.logged_customer_id,
               a.customer_since, a.cluster_capped, ?::varchar as run_id, ?::timestamp as resolved_at,
               x.linked_to, x.match_weight, x.explanation, h.match_hash
        from matching m
        join match_hashes h using (unique_id)
        join assignment a using (unique_id)
        left join record_rules r using (unique_id)
        left join previous_assignment p using (unique_id)
        left join explanations x using (unique_id)
    """,
        [run_id, resolved_at],
    )
    # unsorted: the warehouse table has no order, and sorting 5 million rows costs seconds
    records = con.execute("select * from record_customers").arrow().read_all().cast(RECORD_CUSTOMERS_SCHEMA)
    changes = changelog_in(con, "record_customers", run_id=run_id, changed_at=resolved_at, base="logged_customer_id")
    pairs = scored_pairs_state(con, increment, run_id)
    return Resolution(records, changes, oversized, warnings, scored_pairs=pairs, increment=increment)


def apply_guardrails(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> None:
    """`probabilistic_links` from `scored_pairs`, less the pairs a guardrail keeps apart
    (`guardrail_drops` keeps those, with the rule, for explanations).

    - different first names: two first names that are neither typos, nicknames, an initial
      nor swapped with the last name are two people (a household's address and phone, twins'
      birthday), unless the person-level evidence of the other comparisons (not the
      household's: surname, home, landline) weighs at least `overruled_from_weight` (one
      birth date and one id number: FEBRL's replaced given names);
    - different birth dates: two known birth dates further apart than a typo or a swap are
      two people (father and son of one name at one address), unless the person-level
      evidence of the other comparisons weighs at least `overruled_from_weight`.
    """
    names, dates = config.guardrails.different_first_names, config.guardrails.different_birth_dates
    compared = {c.name for c in config.comparisons}
    rules = []
    if names.enabled and "first_name" in compared:
        rules.append(("different_first_names", clearly_different_first_names("l", "r"), names.overruled_from_weight))
    if dates.enabled and "date_of_birth" in compared:
        rules.append(("different_birth_dates", clearly_different_birth_dates("l", "r"), dates.overruled_from_weight))
    verdict = (
        "case "
        + "".join(
            f"when {applies} and {person_evidence(config, without=PAIR_GUARDRAILS[name])} < {weight} then '{name}' "
            for name, applies, weight in rules
        )
        + "end"
        if rules
        else "null"
    )
    con.execute(f"""
        create or replace temp table judged_pairs as
        select p.*, {verdict} as dropped_by from scored_pairs p
        join matching l on l.unique_id = p.unique_id_l
        join matching r on r.unique_id = p.unique_id_r
    """)
    con.execute("""
        create or replace table probabilistic_links as
        select unique_id_l, unique_id_r, 'probabilistic' as link_rule, match_probability
        from judged_pairs where dropped_by is null
    """)


def person_evidence(config: IdentityConfig, *, without: str, pair: str = "p") -> str:
    """SQL: the weight of the pair's comparisons that tell one person from a household, but one."""
    parts = [f"{pair}.weight_{name}" for name in config.person_level_comparisons(without)]
    return "(" + (" + ".join(parts) or "0") + ")"


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
    trust = """(case when e.link_rule like 'strong_id:%' then 1
                    when e.link_rule in ('email', 'email_sha256', 'phone', 'email_typo') then 2 else 3 end) * 2
                    - e.match_probability"""
    con.execute(f"""
        create or replace temp table record_rules as
        with ends as (
            select unique_id_l as unique_id, unique_id_r as other, link_rule, match_probability from all_links
            union all
            select unique_id_r, unique_id_l, link_rule, match_probability from all_links
        )
        -- strong ids first, then contact values, then Splink; the likelier link within a kind
        -- ties go to the smallest partner, so the rule and its partner are one link
        select e.unique_id, arg_min(e.link_rule, ({trust}, e.other)) as link_rule,
               arg_min(e.other, ({trust}, e.other)) as linked_to,
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
