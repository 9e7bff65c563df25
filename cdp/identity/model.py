"""The Splink 5 model: prediction with the trained parameters, and training per deployment.

The comparisons and blocking rules come from the identity configuration
(`cdp.identity.config`, the var `identity` in dbt_project.yml); the trained model JSON
(`CDP_IDENTITY_MODEL`, default dbt_project/identity_model.json) holds the numbers (m and
u per level, the prior) and, under `cdp_trained_on`, what it was trained on.

Training (`train_model`, `cdp identity train`) estimates u by random sampling and m by EM
passes chosen from the fields the data carries so that every comparison is estimated by
at least one pass that does not block on it (`em_plan`). A level no pass could estimate
is reported and shipped neutral (m = u), and no level weighs less than its comparison's
"all other comparisons" (`guard_weights`).
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from cdp.identity.comparisons import level_labels, settings_creator, trained_settings
from cdp.identity.config import IdentityConfig

# Pairs that share an email or a phone are linked deterministically before Splink runs
# (values shared by a household are nulled for both), so prediction skips these blocking
# rules: fewer pairs to score, the same clusters.
LINKED_BEFORE_SPLINK = ("email", "phone")
TRAINED_ON = "cdp_trained_on"


def load_model(path: Path | None = None) -> dict[str, Any] | None:
    """The trained model JSON (None when there is none yet: Splink's default m and u)."""
    from cdp import settings

    path = path or settings.identity_model_path()
    return json.loads(path.read_text()) if path.exists() else None


def splink_columns(config: IdentityConfig) -> list[str]:
    """The matching columns Splink reads: each comparison's, and nickname forms."""
    forms = [f"{c.name}_forms" for c in config.comparisons if c.kind == "name" and c.nicknames]
    return [*config.columns, *forms]


def splink_input_sql(config: IdentityConfig, available: set[str]) -> str:
    """SQL over `matching`: the Splink input (a column the matching table lacks is null)."""
    columns = ", ".join(
        column if column in available else f"cast(null as varchar) as {column}" for column in splink_columns(config)
    )
    # records known by their email alone are linked deterministically or not at all
    others = [column for column in config.columns if column in available and column != "email"]
    known = f"where coalesce({', '.join(others)}) is not null" if others else ""
    email = "email_key as email, " if "email" in config.columns else ""
    columns = columns.replace("email, ", "", 1) if email else columns
    changed = ", cdp_changed" if "cdp_changed" in available else ""  # cdp.identity.incremental
    return f"select unique_id, {email}{columns}{changed} from matching {known}"


def linker_over_matching(con: duckdb.DuckDBPyConnection, config: IdentityConfig, settings):
    """A Splink linker over `matching` with the given settings (dict or SettingsCreator)."""
    from splink import DuckDBAPI, Linker

    available = {row[0] for row in con.execute("select column_name from (describe matching)").fetchall()}
    con.execute(f"create or replace table splink_input as {splink_input_sql(config, available)}")
    db_api = DuckDBAPI(connection=con)
    records = db_api.register(con.table("splink_input"))
    return Linker(records, settings, log_level=logging.WARNING)


def prediction_settings(config: IdentityConfig, model: dict | None, dialect: str = "duckdb") -> dict[str, Any]:
    return trained_settings(config, model, dialect, skip_blocking_on=LINKED_BEFORE_SPLINK)


def predict_links(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, settings: dict[str, Any], *, only_changed: bool = False
) -> None:
    """Write `scored_pairs`: every pair at or above the threshold, with each comparison's
    level (gamma_<name>) and match weight (weight_<name>), for the guardrails and explanations.

    `settings`: prediction_settings. `only_changed`: score only the pairs with a side marked
    `cdp_changed` in `matching` (cdp.identity.incremental). On Spark the same is
    cdp.identity.on_spark.SparkPrediction."""
    from cdp.identity.incremental import only_changed_pairs

    linker = linker_over_matching(con, config, only_changed_pairs(settings) if only_changed else settings)
    predictions = linker.inference.predict(threshold_match_probability=config.threshold, warning_mode="never")
    columns = set(con.table(predictions.physical_name).columns)
    con.execute(
        f"create or replace table scored_pairs as {scored_pairs_sql(config, columns, predictions.physical_name)}"
    )
    predictions.drop_table_from_database_and_remove_from_cache()


def scored_pairs_sql(config: IdentityConfig, columns: set[str], predictions: str) -> str:
    """SQL (DuckDB's and Spark's) over Splink's predictions: the columns `scored_pairs` keeps."""
    parts = []
    for comparison in config.comparisons:
        name = comparison.name
        tf = f" + coalesce(mw_tf_adj_{name}, 0)" if f"mw_tf_adj_{name}" in columns else ""
        parts.append(f"gamma_{name}, cast(mw_{name}{tf} as double) as weight_{name}")
    return f"select unique_id_l, unique_id_r, match_probability, match_weight, {', '.join(parts)} from {predictions}"


def inputs_warning(con: duckdb.DuckDBPyConnection, config: IdentityConfig, model: dict | None) -> list[str]:
    """Fields the model was trained on that no input record carries any more."""
    return missing_fields_warning(model, set(fields_present(con, config)))


def missing_fields_warning(model: dict | None, present: set[str]) -> list[str]:
    trained = (model or {}).get(TRAINED_ON, {}).get("fields") or []
    gone = [field for field in trained if field not in present]
    if not gone:
        return []
    return [
        f"the identity model was trained on {', '.join(gone)}, which no identity input carries now: "
        "its weights for them no longer apply (run `cdp identity train`)"
    ]


def warehouse_warnings(warehouse: Path) -> list[str]:
    """`missing_fields_warning` for a built warehouse (read-only; none before a build)."""
    from cdp import settings
    from cdp.identity.prepare import default_config

    if not warehouse.exists():
        return []
    config = default_config()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        try:
            present = set(columns_carried(con, "identity.identity_inputs", config.columns))
            present |= {
                row[0]
                for row in con.execute(
                    "select field from identity.identity_match_fields group by all having count(*) >= 2"
                ).fetchall()
            }
        except duckdb.CatalogException:
            return []
    return missing_fields_warning(load_model(settings.identity_model_path()), present)


def fields_present(con: duckdb.DuckDBPyConnection, config: IdentityConfig) -> list[str]:
    """The configured columns at least two records of `matching` carry."""
    return columns_carried(con, "matching", config.columns, {"email": "email_key"})


def columns_carried(
    con: duckdb.DuckDBPyConnection, relation: str, columns, rename: dict[str, str] | None = None
) -> list[str]:
    """Of `columns`, those the relation has and at least two of its rows carry (a column may
    be read under another name: `rename`)."""
    rename = rename or {}
    available = {row[0] for row in con.execute(f"select column_name from (describe {relation})").fetchall()}
    present = [c for c in columns if rename.get(c, c) in available]
    if not present:
        return []
    counts = con.execute(
        "select " + ", ".join(f"count({rename.get(c, c)})" for c in present) + f" from {relation}"
    ).fetchone()
    return [column for column, count in zip(present, counts, strict=True) if count >= 2]


@dataclass
class TrainingReport:
    path: Path
    em_passes: list[list[str]]
    unestimated: list[tuple[str, str]] = field(default_factory=list)  # (comparison, level label)
    raised: list[tuple[str, str]] = field(default_factory=list)  # levels lifted to a weaker level's weight
    records: int = 0


def block_pairs(con: duckdb.DuckDBPyConnection, fields: list[str]) -> int:
    """Record pairs a blocking rule on equal `fields` yields in splink_input."""
    return con.execute(f"""
        select coalesce(sum(n * (n - 1) / 2), 0)::bigint from (
            select count(*) as n from splink_input
            where {" and ".join(f"{f} is not null" for f in fields)} group by {", ".join(fields)}
        )
    """).fetchone()[0]


def em_candidates(con: duckdb.DuckDBPyConnection, config: IdentityConfig, present: list[str]) -> list[tuple]:
    """(fields, pairs) of every blocking rule on present fields usable for EM, tightest first."""
    candidates = [rule for rule in config.blocking_rules if isinstance(rule, list)]
    candidates += [[column] for column in present]
    # the names together, as Splink's own examples train
    names = [c.name for c in config.comparisons if c.kind == "name" and c.name in present]
    candidates += [list(pair) for pair in itertools.combinations(names, 2)]
    usable = []
    for rule in {tuple(rule): None for rule in candidates}:
        if all(column in present for column in rule):
            pairs = block_pairs(con, list(rule))
            if 0 < pairs <= config.training.max_em_pairs:
                usable.append((list(rule), pairs))
    return sorted(usable, key=lambda entry: entry[1])


def em_plan(config: IdentityConfig, candidates: list[tuple], present: list[str]) -> list[list[str]]:
    """EM blocking rules (lists of fields) so that each comparison whose fields are present is
    estimated by at least one pass that does not block on it: greedy, the rule covering most
    comparisons still uncovered first; among those, the tightest that still yields
    `min_em_pairs` pairs (a tight block is mostly true pairs, which is what EM estimates m
    from; a loose one, a city, drowns them)."""
    wanted = {c.name: set(c.columns) for c in config.comparisons if set(c.columns) & set(present)}
    uncovered, plan = set(wanted), []
    minimum = config.training.min_em_pairs
    while uncovered:
        covers = [(rule, pairs, {n for n in uncovered if not wanted[n] & set(rule)}) for rule, pairs in candidates]
        covers = [entry for entry in covers if entry[2]]
        if not covers:
            break
        rule, _, covered = max(covers, key=lambda entry: (len(entry[2]), entry[1] >= minimum, -entry[1]))
        plan.append(rule)
        uncovered -= covered
    return plan


def unestimated_comparisons(linker) -> set[str]:
    """Comparisons with a level no EM pass has estimated yet."""
    settings = linker._settings_obj
    return {
        comparison.output_column_name
        for comparison in settings.comparisons
        for level in comparison.comparison_levels
        if not level.is_null_level and not level._m_is_trained
    }


def deterministic_rules(config: IdentityConfig, present: list[str]) -> list[list[str]]:
    """Rules that nearly only ever pair one person's records, for the prior match probability:
    each present email, phone or id number, and the names with the birth date."""
    kinds = {c.name: c.kind for c in config.comparisons if c.name in present}
    rules = [[name] for name, kind in kinds.items() if kind in ("email", "phone", "id_number")]
    person = [name for name, kind in kinds.items() if kind in ("name", "date")]
    if any(kinds[name] == "date" for name in person) and len(person) > 1:
        rules.append(person)
    return rules


def em_pass(linker, rule: list[str]) -> bool:
    """One EM pass blocked on `rule`; False when Splink gives up on it (an m underflowing to
    0 on a block of near-identical pairs), which leaves the estimates as they were."""
    from splink import block_on

    try:
        linker.training.estimate_parameters_using_expectation_maximisation(
            block_on(*rule), estimate_without_term_frequencies=True
        )
    except ValueError as error:
        logging.getLogger("cdp.identity").warning("EM pass on %s skipped: %s", " and ".join(rule), error)
        return False
    return True


def train_model(
    con: duckdb.DuckDBPyConnection, config: IdentityConfig, output: Path, *, sources: list[str] | None = None
) -> TrainingReport:
    """Re-estimate the model on `matching` and write the JSON (u: random sampling; m: EM)."""
    from splink import block_on

    linker = linker_over_matching(con, config, settings_creator(config))
    present = fields_present(con, config)
    records = con.execute("select count(*) from splink_input").fetchone()[0]
    rules = deterministic_rules(config, present)
    if rules:
        linker.training.estimate_probability_two_random_records_match([block_on(*r) for r in rules], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=config.training.max_pairs, seed=config.training.seed)
    candidates = em_candidates(con, config, present)
    plan = em_plan(config, candidates, present)
    plan = [rule for rule in plan if em_pass(linker, rule)]
    # A level the passes never saw (no pair of a phone block disagrees on the birth date)
    # gets more chances: for each such comparison in turn, the tightest rule not tried yet
    # that does not block on it, up to EXTRA_EM_PASSES passes in all.
    columns = {c.name: set(c.columns) for c in config.comparisons}
    tried: dict[str, set] = {name: set() for name in columns}
    for _ in range(EXTRA_EM_PASSES):
        extra = None
        for name in sorted(unestimated_comparisons(linker) & set(columns)):
            extra = next(
                (
                    rule
                    for rule, pairs in candidates
                    if tuple(rule) not in tried[name]
                    and rule not in plan
                    and pairs >= config.training.min_em_pairs
                    and not columns[name] & set(rule)
                ),
                None,
            )
            if extra is not None:
                tried[name].add(tuple(extra))
                break
        if extra is None:
            break
        if em_pass(linker, extra):
            plan.append(extra)
    output.parent.mkdir(parents=True, exist_ok=True)
    linker.misc.save_model_to_json(str(output), overwrite=True)
    model = json.loads(output.read_text())
    report = TrainingReport(output, plan, records=records)
    report.unestimated, report.raised = guard_weights(model)
    model[TRAINED_ON] = {
        "trained_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "records": records,
        "sources": sources or [],
        "fields": present,
        "comparisons": [c.name for c in config.comparisons],
        "em_passes": plan,
        "unestimated_levels": [f"{c}: {label}" for c, label in report.unestimated],
    }
    output.write_text(json.dumps(model, indent=4) + "\n")
    return report


UNSEEN_U = 1e-4
# The smallest m shipped: a level EM found (almost) no match at weighs about -10, not -400.
MIN_M = 1e-3
EXTRA_EM_PASSES = 4


def _weight(level: dict) -> float | None:
    m, u = level.get("m_probability"), level.get("u_probability")
    if not m or not u:
        return None
    return math.log2(m / u)


def guard_weights(model: dict[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Make the trained weights safe to ship, in place; returns (unestimated, raised) levels.

    A level EM left without an m (no training pair reached it) gets m = u: weight 0, neither
    for nor against. An m below MIN_M is raised to it, and a level weighing less than its
    comparison's last level ("all other comparisons": a near-identical address seen too
    rarely in training) is lifted to that.
    """
    unestimated, raised = [], []
    for comparison in model["comparisons"]:
        name = comparison["output_column_name"]
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        for level in levels:
            if not level.get("m_probability"):
                # no u either (no sampled pair reached it): any equal pair keeps the weight 0
                level["u_probability"] = level.get("u_probability") or UNSEEN_U
                level["m_probability"] = level["u_probability"]
                unestimated.append((name, level.get("label_for_charts", level["sql_condition"])))
        for level in levels:  # EM's m of ~0 (1e-130) would veto every pair at that level
            if level["m_probability"] < MIN_M:
                level["m_probability"] = MIN_M
                raised.append((name, level.get("label_for_charts", level["sql_condition"])))
        floor = _weight(levels[-1]) if levels else None
        for level in levels[:-1]:
            weight = _weight(level)
            if floor is not None and weight is not None and weight < floor:
                level["m_probability"] = min(1.0, level["u_probability"] * 2**floor)
                level["u_probability"] = level["m_probability"] / 2**floor
                raised.append((name, level.get("label_for_charts", level["sql_condition"])))
    return unestimated, raised


def untrained_levels(config: IdentityConfig, model: dict | None) -> list[tuple[str, str]]:
    """Levels of the configuration the model has no numbers for (Splink's defaults apply)."""
    settings = trained_settings(config, model, "duckdb")
    known = {
        (c["output_column_name"], level.get("label_for_charts", level["sql_condition"]))
        for c in settings["comparisons"]
        for level in c["comparison_levels"]
        if level.get("m_probability") is not None and level.get("u_probability") is not None
    }
    return [label for label in level_labels(settings) if label not in known]
