"""The dbt Python models on a small hand-made warehouse: two runs, ids kept, changes logged.

Identity inputs and seeds are written straight into the warehouse (the contract tables),
then only record_customers and identity_changelog are built, with the real dbt.
"""

from __future__ import annotations

import duckdb
import pytest

from cdp.build import run_dbt_build
from tests.identity.conftest import records, strong_ids

MODELS = ["record_customers", "identity_changelog"]


def write_identity_tables(warehouse, inputs, ids) -> None:
    from cdp import settings

    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema if not exists identity; create schema if not exists seeds")
        con.register("inputs_frame", inputs)
        con.register("ids_frame", ids)
        con.execute("create or replace table identity.identity_inputs as select * from inputs_frame")
        con.execute("create or replace table identity.identity_strong_ids as select * from ids_frame")
        con.execute(
            "create or replace table identity.identity_match_fields (source varchar, source_record_id varchar,"
            " field varchar, kind varchar, value varchar)"
        )
        for seed in ("blocked_identifiers", "nicknames"):
            con.execute(
                f"create or replace table seeds.{seed} as select * from read_csv('{settings.SEEDS_DIR / seed}.csv', all_varchar=true)"
            )


@pytest.mark.slow
def test_two_runs_keep_ids_and_log_only_real_changes(tmp_path, monkeypatch):
    warehouse = tmp_path / "cdp.duckdb"
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "target" / "logs"))
    anna = dict(first_name="anna", last_name="jansen", email="anna@mail.nl")
    inputs = records(
        dict(source="crm", source_record_id="C1", **anna),
        dict(source="web", source_record_id="W1"),
        dict(source="shop", source_record_id="S1", **anna),
        dict(source="crm", source_record_id="C2", first_name="piet", email="piet@mail.nl"),
    )
    ids = strong_ids(("shop", "S1", "user_id", "S1"))
    write_identity_tables(warehouse, inputs, ids)
    run_dbt_build(MODELS)

    def snapshot():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            customers = dict(
                con.execute("select source_record_id, customer_id from identity.record_customers").fetchall()
            )
            log = con.execute(
                "select change, customer_id, other_customer_id from identity.identity_changelog "
                "order by changed_at, change, customer_id"
            ).fetchall()
        return customers, log

    first, log = snapshot()
    assert first["C1"] == first["S1"] and len(set(first.values())) == 3
    assert sorted(change for change, _, _ in log) == ["new", "new", "new"]

    run_dbt_build(MODELS)  # unchanged data: nothing moves, nothing logged
    second, log_after_rerun = snapshot()
    assert second == first and log_after_rerun == log

    # the web visitor logs in as the shop customer: one person now; both ids were first
    # assigned in the same run, so the smaller one survives
    write_identity_tables(
        warehouse, inputs, strong_ids(("shop", "S1", "user_id", "S1"), ("web", "W1", "user_id", "S1"))
    )
    run_dbt_build(MODELS)
    third, log_after_merge = snapshot()
    survivor, absorbed = sorted([first["S1"], first["W1"]])
    assert third["W1"] == third["S1"] == survivor
    assert log_after_merge[len(log) :] == [("merge", survivor, absorbed)]
