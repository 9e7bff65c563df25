"""The Splink 5 model: comparisons, blocking rules, training and prediction.

The trained model is a JSON file versioned in the repo (`MODEL_PATH`); nightly runs
predict with it, `cdp identity train` re-estimates it (u by random sampling, m by
expectation maximisation on a few blocking rules) and writes it back.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import duckdb

MODEL_PATH = Path(__file__).resolve().parent / "model" / "splink_model.json"

# The columns Splink sees; `email` is the canonical email key (null when blocked or shared).
SPLINK_INPUT_SQL = """
    select unique_id, first_name, first_name_forms, last_name, date_of_birth,
           address, postcode, city, phone, email_key as email
    from matching
    -- records known by their email alone are linked deterministically or not at all
    where coalesce(first_name, last_name, date_of_birth, address, phone) is not null
"""


def _comparisons() -> list:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    def name_levels(column: str, *extra) -> list:
        return [
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            *extra,
            # first and last name typed the other way round
            cll.ColumnsReversedLevel("first_name", "last_name"),
            cll.JaroWinklerLevel(column, 0.92),
            cll.JaroWinklerLevel(column, 0.8),
            cll.ElseLevel(),
        ]

    return [
        # Bob and Robert share a canonical form in the nicknames seed
        cl.CustomComparison(
            name_levels(
                "first_name",
                cll.ArrayIntersectLevel("first_name_forms", 1).configure(label_for_charts="Nickname of each other"),
            ),
            output_column_name="first_name",
        ),
        cl.CustomComparison(name_levels("last_name"), output_column_name="last_name"),
        cl.DamerauLevenshteinAtThresholds("date_of_birth", [1]),
        # address, postcode and city say one thing (where someone lives): one comparison,
        # so a shared home is not counted three times
        cl.CustomComparison(
            [
                cll.CustomLevel(
                    "(address_l is null or address_r is null) and (postcode_l is null or postcode_r is null)",
                    label_for_charts="Address and postcode missing",
                ).configure(is_null_level=True),
                cll.And(cll.ExactMatchLevel("address"), cll.ExactMatchLevel("postcode")),
                cll.ExactMatchLevel("postcode"),
                cll.And(cll.JaroWinklerLevel("address", 0.9), cll.ExactMatchLevel("city")),
                cll.ExactMatchLevel("city"),
                cll.ElseLevel(),
            ],
            output_column_name="home",
        ),
        cl.ExactMatch("phone"),
        cl.ExactMatch("email"),
    ]


def _prediction_blocking_rules() -> list:
    from splink import block_on

    return [
        block_on("email"),
        block_on("phone"),
        block_on("last_name", "date_of_birth"),
        block_on("first_name", "date_of_birth"),
        block_on("first_name", "postcode"),
        block_on("last_name", "postcode"),
        block_on("date_of_birth", "postcode"),  # swapped names, married names
        block_on("address", "city"),
        # first and last name typed the other way round (brokers, billing names)
        "l.first_name = r.last_name and l.last_name = r.first_name",
    ]


def settings():
    """The model's shape, untrained."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=_prediction_blocking_rules(),
        retain_intermediate_calculation_columns=True,  # waterfall charts in evaluate
    )


def linker_over_matching(con: duckdb.DuckDBPyConnection, model=None):
    """A Splink linker over `matching`, with the JSON model (default) or given settings."""
    from splink import DuckDBAPI, Linker

    con.execute(f"create or replace table splink_input as {SPLINK_INPUT_SQL}")
    db_api = DuckDBAPI(connection=con)
    records = db_api.register(con.table("splink_input"))
    return Linker(records, model if model is not None else MODEL_PATH, log_level=logging.WARNING)


# Pairs that share an email or a phone are linked deterministically before Splink runs
# (values shared by a household are nulled for both), so prediction skips these blocking
# rules: fewer pairs to score, the same clusters.
LINKED_BEFORE_SPLINK = ("email", "phone")


def model_for_prediction(model=None):
    """The JSON model's settings without the blocking rules deterministic links cover."""
    if model is not None:
        return model
    from splink import block_on

    settings_dict = json.loads(MODEL_PATH.read_text())
    covered = {block_on(column).get_blocking_rule("duckdb").blocking_rule_sql for column in LINKED_BEFORE_SPLINK}
    settings_dict["blocking_rules_to_generate_predictions"] = [
        rule for rule in settings_dict["blocking_rules_to_generate_predictions"] if rule["blocking_rule"] not in covered
    ]
    return settings_dict


def predict_links(con: duckdb.DuckDBPyConnection, threshold: float, model=None) -> None:
    """Write `probabilistic_links` (pairs at or above the threshold) with the model."""
    linker = linker_over_matching(con, model_for_prediction(model))
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    con.execute(f"""
        create or replace table probabilistic_links as
        select unique_id_l, unique_id_r, 'probabilistic' as link_rule, match_probability
        from {predictions.physical_name}
    """)
    predictions.drop_table_from_database_and_remove_from_cache()


def train_model(
    con: duckdb.DuckDBPyConnection, output: Path = MODEL_PATH, max_pairs: float = 5e6, seed: int = 42
) -> Path:
    """Re-estimate the model on `matching` and write the JSON (u: random sampling; m: EM)."""
    from splink import block_on

    linker = linker_over_matching(con, settings())
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone"), block_on("first_name", "last_name", "date_of_birth")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    # Each EM pass fixes the fields it blocks on and estimates m for all the others.
    for rule in (block_on("date_of_birth"), block_on("email"), block_on("phone")):
        linker.training.estimate_parameters_using_expectation_maximisation(rule, estimate_without_term_frequencies=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    linker.misc.save_model_to_json(str(output), overwrite=True)
    floor_unseen_m_probabilities(output)
    return output


# A level no training pair reached (a typo in a date of birth, say) comes out of EM with
# m = 0, which would veto every future pair at that level; it gets this small m instead.
UNSEEN_LEVEL_M = 1e-3


def floor_unseen_m_probabilities(model_json: Path) -> None:
    settings_dict = json.loads(model_json.read_text())
    for comparison in settings_dict["comparisons"]:
        for level in comparison["comparison_levels"]:
            if not level.get("is_null_level") and not level.get("m_probability"):
                level["m_probability"] = UNSEEN_LEVEL_M
    model_json.write_text(json.dumps(settings_dict, indent=4) + "\n")
