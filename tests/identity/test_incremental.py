"""Incremental identity: scoring only the pairs of new or changed records gives exactly
what scoring every pair gives (cdp/identity/incremental.py)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from cdp.identity.stable_ids import previous_for_next_run
from tests.identity.conftest import records


def person(record_id: str, source: str = "crm", **fields) -> dict:
    return {"source": source, "source_record_id": record_id, **fields}


# Probabilistic links only (no email, no phone): Splink's pairs decide every cluster.
DAY_1 = [
    person("a1", first_name="Anna", last_name="Kowalski", date_of_birth="1985-07-17", postcode="1011AB"),
    person("a2", "shop", first_name="Anna", last_name="Kowalski", date_of_birth="1985-07-17", address="dam 1"),
    person("b1", first_name="Bart", last_name="Jansen", date_of_birth="1970-01-02", postcode="3011CD"),
    person("b2", "shop", first_name="Bart", last_name="Jansen", date_of_birth="1970-01-02", postcode="3011CD"),
    person("c1", first_name="Cees", last_name="de Vries", date_of_birth="1990-03-04", postcode="9711EF"),
    person("d1", first_name="Dirk", last_name="Bakker", date_of_birth="1960-05-06", postcode="5611GH"),
    person("d2", "pos", first_name="Dirk", last_name="Bakker", date_of_birth="1960-05-06", postcode="5611GH"),
]
# A day later: a new record joins Cees, one of Bart's records changes its birth date so the
# pair no longer scores, Dirk's till record is gone, and Anna is untouched.
DAY_2 = [
    DAY_1[0],
    DAY_1[1],
    DAY_1[2],
    person("b2", "shop", first_name="Bart", last_name="Jansen", date_of_birth="1999-12-31", postcode="3011CD"),
    DAY_1[4],
    person("c2", "web", first_name="Cees", last_name="de Vries", date_of_birth="1990-03-04", postcode="9711EF"),
    DAY_1[5],
]


def previous_state(resolution) -> tuple[pa.Table, pa.Table]:
    """What record_customers hands the next run: its previous records and scored pairs."""
    con = duckdb.connect()
    con.register("record_customers", resolution.records)
    return previous_for_next_run(con, "record_customers", None), resolution.scored_pairs


def comparable(resolution) -> pd.DataFrame:
    return resolution.record_customers.sort_values(["source", "source_record_id"]).reset_index(drop=True)


def test_scoring_only_changed_records_equals_scoring_all(resolve):
    day_1 = resolve(records(*DAY_1), at="2026-01-01")
    assert not day_1.increment.incremental  # nothing to reuse on a first run
    previous, pairs = previous_state(day_1)

    incremental = resolve(records(*DAY_2), previous=previous, previous_pairs=pairs, at="2026-01-02")
    full = resolve(records(*DAY_2), previous=previous, at="2026-01-02")

    assert incremental.increment.incremental and not full.increment.incremental
    assert incremental.increment.changed_records == 2  # b2 changed, c2 new
    pd.testing.assert_frame_equal(comparable(incremental), comparable(full))
    pd.testing.assert_frame_equal(incremental.changelog, full.changelog)
    assert incremental.scored_pairs.sort_by("unique_id_l").equals(full.scored_pairs.sort_by("unique_id_l"))
    customers = comparable(incremental).set_index("source_record_id").customer_id
    assert customers["c1"] == customers["c2"]  # the new record was scored against the old
    assert customers["b1"] != customers["b2"]  # the changed pair was scored again
    assert customers["a1"] == customers["a2"]  # the untouched pair was kept


def test_an_unchanged_day_scores_nothing_and_keeps_every_pair(resolve):
    day_1 = resolve(records(*DAY_1), at="2026-01-01")
    previous, pairs = previous_state(day_1)
    again = resolve(records(*DAY_1), previous=previous, previous_pairs=pairs, at="2026-01-02")
    assert again.increment.incremental and again.increment.changed_records == 0
    assert again.scored_pairs.num_rows == day_1.scored_pairs.num_rows > 0
    assert comparable(again).customer_id.tolist() == comparable(day_1).customer_id.tolist()


def test_new_prediction_settings_or_stale_pairs_score_everything(resolve):
    day_1 = resolve(records(*DAY_1), at="2026-01-01")
    previous, pairs = previous_state(day_1)
    retuned = resolve(records(*DAY_2), previous=previous, previous_pairs=pairs, threshold=0.95, at="2026-01-02")
    assert not retuned.increment.incremental
    assert "prediction settings changed" in retuned.increment.reason
    # pairs of another run than the records beside them (a run killed between the two writes)
    stale = pairs.set_column(pairs.schema.get_field_index("run_id"), "run_id", pa.array(["other"] * pairs.num_rows))
    rerun = resolve(records(*DAY_2), previous=previous, previous_pairs=stale, at="2026-01-02")
    assert not rerun.increment.incremental
    assert "not written with its records" in rerun.increment.reason
