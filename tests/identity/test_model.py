"""Splink settings generated from the identity configuration, and training that is safe to ship."""

from __future__ import annotations

import json
import math
import random

import duckdb
import pandas as pd
import pytest

from cdp.errors import CdpError
from cdp.identity.comparisons import trained_settings
from cdp.identity.config import IdentityConfig
from cdp.identity.model import (
    em_candidates,
    em_plan,
    guard_weights,
    load_model,
    prediction_settings,
    train_model,
    untrained_levels,
)
from cdp.identity.prepare import default_config, prepare_matching_table


def rules_of(settings: dict) -> list[str]:
    return [rule["blocking_rule"] for rule in settings["blocking_rules_to_generate_predictions"]]


def test_prediction_skips_only_the_blocking_rules_deterministic_links_cover():
    config = default_config()
    every = rules_of(trained_settings(config, None, "duckdb"))
    used = rules_of(prediction_settings(config, None))
    assert set(every) - set(used) == {'l."email" = r."email"', 'l."phone" = r."phone"'}
    assert [rule for rule in every if rule in used] == used  # the rest, in the configured order


def test_the_trained_numbers_reach_the_generated_levels_by_label():
    config, model = default_config(), load_model()
    settings = trained_settings(config, model, "duckdb")
    saved = {
        (c["output_column_name"], level["label_for_charts"]): level["m_probability"]
        for c in model["comparisons"]
        for level in c["comparison_levels"]
        if "m_probability" in level
    }
    generated = {
        (c["output_column_name"], level["label_for_charts"]): level.get("m_probability")
        for c in settings["comparisons"]
        for level in c["comparison_levels"]
        if not level.get("is_null_level")
    }
    shared = set(saved) & set(generated)
    assert len(shared) >= 20
    assert all(generated[key] == saved[key] for key in shared)
    assert settings["probability_two_random_records_match"] == model["probability_two_random_records_match"]


def test_a_level_the_model_has_never_seen_is_reported_untrained():
    config = default_config()
    model = load_model()
    model["comparisons"] = [c for c in model["comparisons"] if c["output_column_name"] != "phone"]
    missing = untrained_levels(config, model)
    assert ("phone", "Exact match on phone") in missing


def test_a_match_field_becomes_a_fuzzy_comparison_and_a_blocking_rule_on_any_engine():
    config = default_config().with_match_fields({"soc_sec_id": "id_number", "address_2": "text"})
    names = [c.name for c in config.comparisons]
    assert names[-2:] == ["address_2", "soc_sec_id"]
    assert ["soc_sec_id"] in config.blocking_rules and ["address_2"] not in config.blocking_rules
    for dialect in ("duckdb", "spark"):
        settings = trained_settings(config, load_model(), dialect)
        soc = next(c for c in settings["comparisons"] if c["output_column_name"] == "soc_sec_id")
        labels = [level.get("label_for_charts") for level in soc["comparison_levels"]]
        assert labels == [
            "soc_sec_id is NULL",
            "Exact match on soc_sec_id",
            "Damerau-Levenshtein distance of soc_sec_id <= 1",
            "Damerau-Levenshtein distance of soc_sec_id <= 2",
            "All other comparisons",
        ]
    # a field a comparison already reads is not compared twice
    assert default_config().with_match_fields({"postcode": "postcode"}).comparisons == default_config().comparisons


def test_a_mistake_in_the_configuration_is_one_line_naming_where():
    raw = default_config().model_dump()
    raw["comparisons"][2]["kind"] = "birthday"
    with pytest.raises(CdpError, match=r"dbt_project.yml: vars.identity.comparisons.2.kind: "):
        IdentityConfig.checked(raw, "dbt_project.yml: vars.identity")


def test_unestimated_levels_ship_neutral_and_no_level_weighs_less_than_all_others():
    model = {
        "comparisons": [
            {
                "output_column_name": "home",
                "comparison_levels": [
                    {"sql_condition": "null", "is_null_level": True},
                    {
                        "sql_condition": "exact",
                        "label_for_charts": "exact",
                        "m_probability": 0.8,
                        "u_probability": 1e-4,
                    },
                    {"sql_condition": "near", "label_for_charts": "near", "m_probability": 1e-9, "u_probability": 0.1},
                    {"sql_condition": "city", "label_for_charts": "city", "u_probability": 0.05},  # EM never saw it
                    {"sql_condition": "else", "label_for_charts": "else", "m_probability": 0.05, "u_probability": 0.9},
                ],
            }
        ]
    }
    unestimated, raised = guard_weights(model)
    levels = model["comparisons"][0]["comparison_levels"]
    weight = {
        level["label_for_charts"]: math.log2(level["m_probability"] / level["u_probability"]) for level in levels[1:]
    }
    assert unestimated == [("home", "city")] and weight["city"] == pytest.approx(0)
    assert set(raised) == {("home", "near")} and weight["near"] == pytest.approx(weight["else"])
    assert weight["exact"] == pytest.approx(math.log2(0.8 / 1e-4))


def people(count: int, seed: int = 7) -> pd.DataFrame:
    """Two records per person, the second with typos, and an id number; no email or phone."""
    rng = random.Random(seed)
    first = ["anna", "piet", "jan", "kees", "marie", "lisa", "tom", "eva", "noah", "emma", "liam", "sara"]
    last = ["jansen", "de vries", "bakker", "visser", "smit", "meijer", "mulder", "bos", "vos", "peters"]
    rows = []
    for n in range(count):
        person = dict(
            first_name=rng.choice(first),
            last_name=rng.choice(last) + str(rng.randint(0, 30)),
            date_of_birth=f"19{rng.randint(40, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            postcode=f"{rng.randint(1000, 9999)}AB",
            city=rng.choice(["amsterdam", "utrecht", "delft"]),
            address=f"{rng.randint(1, 200)} {rng.choice(['kerkstraat', 'dorpsweg', 'molenlaan'])}",
        )
        typo = dict(person)
        field = rng.choice(["first_name", "last_name", "postcode", "date_of_birth"])
        typo[field] = typo[field][:-1] + "x" if field != "date_of_birth" else typo[field][:-1] + "9"
        rows.append(dict(source="crm", source_record_id=f"a{n}", party="first", **person))
        rows.append(dict(source="shop", source_record_id=f"b{n}", party="first", **typo))
    return pd.DataFrame(rows)


@pytest.fixture
def matching_con(seeds):
    inputs = people(400)
    con = duckdb.connect()
    for column in ("email", "email_sha256", "phone", "country"):
        inputs[column] = None
    con.register("identity_inputs", inputs)
    con.register("identity_strong_ids", pd.DataFrame(columns=["source", "source_record_id", "id_type", "id_value"]))
    con.register("blocked_identifiers", seeds["blocked_identifiers"])
    con.register("nicknames", seeds["nicknames"])
    prepare_matching_table(con, default_config())
    return con


def test_every_present_comparison_is_estimated_by_a_pass_that_does_not_block_on_it(matching_con, tmp_path):
    config = default_config()
    report = train_model(matching_con, config, tmp_path / "model.json", sources=["crm", "shop"])
    present = ["first_name", "last_name", "date_of_birth", "address", "postcode", "city"]
    planned = em_plan(config, em_candidates(matching_con, config, present), present)
    assert report.em_passes[: len(planned)] == planned  # then passes for levels still unseen
    for comparison in config.comparisons:
        if comparison.name in ("email", "phone"):  # no record carries them
            continue
        assert any(not set(comparison.columns) & set(rule) for rule in report.em_passes), comparison.name
    model = json.loads((tmp_path / "model.json").read_text())
    trained_on = model["cdp_trained_on"]
    assert trained_on["records"] == 800 and trained_on["sources"] == ["crm", "shop"]
    assert "date_of_birth" in trained_on["fields"] and "email" not in trained_on["fields"]
    for comparison in model["comparisons"]:  # nothing untrained vetoes a pair
        levels = [level for level in comparison["comparison_levels"] if not level.get("is_null_level")]
        weights = [
            math.log2(level["m_probability"] / level["u_probability"])
            for level in levels
            if level.get("m_probability") and level.get("u_probability")
        ]
        assert not weights or min(weights) == weights[-1], comparison["output_column_name"]
    labels = {f"{c}: {label}" for c, label in report.unestimated}
    assert set(trained_on["unestimated_levels"]) == labels


def test_a_run_whose_inputs_lost_the_models_fields_says_so(resolve):
    from tests.identity.conftest import records

    model = load_model()
    model["cdp_trained_on"] = {"fields": ["first_name", "soc_sec_id"]}
    inputs = records(
        dict(source="shop", source_record_id="S1", first_name="anna"),
        dict(source="crm", source_record_id="C1", first_name="piet"),
    )
    result = resolve(inputs, model=model)
    assert len(result.warnings) == 1 and "soc_sec_id" in result.warnings[0] and "first_name" not in result.warnings[0]
    model["cdp_trained_on"] = {"fields": ["first_name"]}
    assert resolve(inputs, model=model).warnings == []
