"""Explanations: the waterfall stored per linked record, and `cdp identity explain`."""

from __future__ import annotations

import json
import os

import duckdb

from cdp import settings
from tests.identity.conftest import customer_of, records, strong_ids
from tests.identity.test_cli import cdp

ANNA = dict(first_name="anna", last_name="jansen", date_of_birth="1990-04-02", postcode="1011AB", city="amsterdam")
INPUTS = records(
    dict(source="shop", source_record_id="S1", email="anna.jansen@mail.nl", address="kerkstraat 1", **ANNA),
    dict(source="crm", source_record_id="C1", email="anna.jansen@mail.nl", first_name="anna"),
    # a broker row: name, birth date and postcode; Splink joins it
    dict(source="broker", source_record_id="B1", party="third", **ANNA),
    # her neighbour: the same home, another first name; the guardrail keeps her apart
    dict(
        source="crm",
        source_record_id="C2",
        first_name="pieter",
        last_name="jansen",
        postcode="1011AB",
        address="kerkstraat 1",
        city="amsterdam",
        date_of_birth="1988-11-30",
    ),
)


def test_each_linked_record_carries_its_deciding_link_and_weights(resolve):
    result = resolve(INPUTS)
    rows = result.record_customers.set_index("source_record_id")
    broker = json.loads(rows.explanation["B1"])
    assert broker["rule"] == "probabilistic" and broker["linked_to"] in {"shop:S1"}
    weights = {part["comparison"]: part for part in broker["comparisons"]}
    assert weights["first_name"]["level"] == "Exact match on first_name" and weights["first_name"]["match_weight"] > 0
    assert rows.match_weight["B1"] == broker["match_weight"]
    assert json.loads(rows.explanation["C1"])["rule"] == "email"
    assert rows.explanation.isna()["C2"] and rows.linked_to.isna()["C2"]  # alone


def write_warehouse(path, result) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema identity; create schema seeds")
        con.register("records_frame", result.records)
        con.register("inputs_frame", INPUTS)
        con.register("ids_frame", strong_ids())
        con.execute("create table identity.record_customers as select * from records_frame")
        con.execute("create table identity.identity_inputs as select * from inputs_frame")
        con.execute("create table identity.identity_strong_ids as select * from ids_frame")
        for seed in ("blocked_identifiers", "nicknames"):
            con.execute(
                f"create table seeds.{seed} as select * from read_csv('{settings.SEEDS_DIR / seed}.csv', all_varchar=true)"
            )


def test_cdp_identity_explain_answers_for_a_customer_and_for_a_pair_kept_apart(resolve, tmp_path):
    result = resolve(INPUTS)
    warehouse = tmp_path / "cdp.duckdb"
    write_warehouse(warehouse, result)
    env = {**os.environ, "CDP_WAREHOUSE": str(warehouse)}

    merged = cdp("identity", "explain", customer_of(result, "B1"), env=env)
    assert merged.returncode == 0, merged.stderr
    assert "3 record(s)" in merged.stdout and "joined by probabilistic to shop:S1" in merged.stdout
    assert "Exact match on first_name" in merged.stdout and "prior" in merged.stdout
    by_email = cdp("identity", "explain", "Anna.Jansen@mail.nl", env=env)
    assert by_email.stdout == merged.stdout

    apart = cdp("identity", "explain", "shop:S1", "crm:C2", env=env)
    assert apart.returncode == 0, apart.stderr
    assert "are apart" in apart.stdout and "blocked together by" in apart.stdout
    assert "guardrail different_first_names" in apart.stdout and "guardrail different_birth_dates" in apart.stdout

    unknown = cdp("identity", "explain", "shop:nope", env=env)
    assert unknown.returncode == 2 and "shop:nope" in unknown.stderr
