"""Incremental identity: score only the pairs a new or changed record takes part in.

Splink's prediction (blocking, then every comparison of every blocked pair) is the costly
part of the identity step. A pair's score depends only on its two matching rows and the
prediction settings (the configuration with the trained m and u, the threshold), not on
any other record, because no comparison of the shipped configuration uses term frequencies.
So the last run's scored pairs between two records whose matching rows are unchanged are
exactly what scoring them again would give, and only the pairs with a new or changed side
are scored (each blocking rule gets `and (l.cdp_changed or r.cdp_changed)`, which Splink
applies after its equi-join on the rule's fields, so its dedupe across rules still holds).

Everything after prediction (guardrails, connected components, the cluster cap, stable
ids, the changelog, explanations) still runs over all records: those steps are global
(a new record can join two clusters), cost a fraction of the prediction, and running them
whole keeps the result equal to a full resolution by construction.

State between runs, in the warehouse:
- `identity.record_customers.match_hash`: each record's matching row, hashed;
- `identity.identity_scored_pairs`: the last run's pairs at or above the threshold, with
  `run_id` and `fingerprint` (the prediction settings, hashed).
They are used only when the pairs' run_id is the run_id of the record_customers they sit
beside (a run killed between the two writes leaves them apart: the next run scores
everything) and the fingerprint is this run's (a retrained model, a new threshold or
comparison: everything is scored again). A comparison with term frequencies switches
incremental scoring off, since a new record changes every pair's weight for its value.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from cdp.identity.config import IdentityConfig
from cdp.identity.stable_ids import table_columns

# Bump when what a pair's score depends on changes in code rather than in settings.
SCORING_VERSION = "1"
CHANGED_COLUMN = "cdp_changed"


@dataclass(frozen=True)
class Increment:
    """What this run's prediction scores: all pairs, or only those with a changed side."""

    fingerprint: str
    incremental: bool
    changed_records: int = 0
    reason: str = ""  # why the run scores everything


def fingerprint(settings: dict[str, Any], threshold: float) -> str:
    import splink

    text = json.dumps(
        {"settings": settings, "threshold": threshold, "splink": splink.__version__, "scoring": SCORING_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def hash_matching_rows(con: duckdb.DuckDBPyConnection) -> None:
    """`match_hashes (unique_id, match_hash)`: each record's whole matching row, hashed."""
    columns = [c for c in table_columns(con, "matching") if c != "unique_id"]
    con.execute(f"""
        create or replace temp table match_hashes as
        select unique_id, cast(hash({", ".join(columns)}) as varchar) as match_hash from matching
    """)


def plan_increment(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, settings: dict[str, Any], previous_pairs
) -> Increment:
    """Mark `matching.cdp_changed` and register the last run's reusable pairs as `kept_pairs`.

    `previous_records` (the last run's record_customers, as resolve_identities reads it) and
    `previous_pairs` (its identity_scored_pairs as an Arrow table, or None) are the state.
    """
    key = fingerprint(settings, config.threshold)
    hash_matching_rows(con)
    reason = _why_not_incremental(con, config, key, previous_pairs)
    if reason:
        con.execute(f"alter table matching add column {CHANGED_COLUMN} boolean default true")
        return Increment(key, incremental=False, reason=reason)
    con.register("previous_pairs_in", previous_pairs)
    con.execute("""
        create or replace temp table changed_records as
        select h.unique_id from match_hashes h
        left join (select source || ':' || source_record_id as unique_id, match_hash from previous_records) p
            using (unique_id)
        where p.match_hash is distinct from h.match_hash
    """)
    con.execute(f"alter table matching add column {CHANGED_COLUMN} boolean default false")
    con.execute(
        f"update matching set {CHANGED_COLUMN} = true where unique_id in (select unique_id from changed_records)"
    )
    # pairs between two records still here, both unchanged
    con.execute(f"""
        create or replace temp table kept_pairs as
        select * exclude (run_id, fingerprint) from previous_pairs_in p
        where p.unique_id_l in (select unique_id from matching where not {CHANGED_COLUMN})
          and p.unique_id_r in (select unique_id from matching where not {CHANGED_COLUMN})
    """)
    con.unregister("previous_pairs_in")
    changed = con.execute("select count(*) from changed_records").fetchone()[0]
    return Increment(key, incremental=True, changed_records=changed)


def _why_not_incremental(con, config: IdentityConfig, key: str, previous_pairs) -> str:
    if any(c.term_frequency for c in config.comparisons):
        return "a comparison uses term frequencies"
    if previous_pairs is None or "match_hash" not in table_columns(con, "previous_records"):
        return "no scored pairs from the last run"
    if con.execute("select count(*) from previous_records").fetchone()[0] == 0:
        return "first run"
    last_run = con.execute("select any_value(run_id) from previous_records").fetchone()[0]
    pairs_runs = set(previous_pairs.column("run_id").unique().to_pylist()) if previous_pairs.num_rows else set()
    keys = set(previous_pairs.column("fingerprint").unique().to_pylist()) if previous_pairs.num_rows else {key}
    if pairs_runs and pairs_runs != {last_run}:
        return "the last run's scored pairs were not written with its records"
    if keys != {key}:
        return "the prediction settings changed (model, threshold or comparisons)"
    return ""


def only_changed_pairs(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings with every prediction blocking rule limited to pairs with a changed side."""
    settings = json.loads(json.dumps(settings))
    for rule in settings["blocking_rules_to_generate_predictions"]:
        rule["blocking_rule"] = f"({rule['blocking_rule']}) and (l.{CHANGED_COLUMN} or r.{CHANGED_COLUMN})"
    return settings


def scored_pairs_state(con: duckdb.DuckDBPyConnection, increment: Increment, run_id: str) -> pa.Table:
    """This run's scored pairs, to be stored as identity.identity_scored_pairs."""
    result = con.execute(
        "select *, ?::varchar as run_id, ?::varchar as fingerprint from scored_pairs", [run_id, increment.fingerprint]
    ).arrow()
    return result.read_all() if hasattr(result, "read_all") else result
