"""`cdp run` killed between record_customers and identity_changelog: the rerun logs what a clean run would.

The warehouse is simulated by a DuckDB connection holding `record_customers` and
`identity_changelog` as the dbt models write them (the changelog appended, a run_id logged
once); a crash is a run whose record_customers is written and whose changelog is not.
The last test does the same with the real dbt models.
"""

from __future__ import annotations

import duckdb
import pytest

from cdp.identity.stable_ids import previous_for_next_run
from tests.identity.conftest import records, strong_ids

CHANGE = ["change", "customer_id", "other_customer_id", "reason"]


class Warehouse:
    """record_customers and identity_changelog, written the way the two dbt models write them."""

    def __init__(self, resolve):
        self.resolve = resolve
        self.con = duckdb.connect()

    def has(self, table: str) -> bool:
        return bool(
            self.con.execute("select count(*) from information_schema.tables where table_name = ?", [table]).fetchone()[
                0
            ]
        )

    def record_customers(self, inputs, ids, at):
        """The record_customers model: resolve against the table as it stands, then replace it."""
        previous = None
        if self.has("record_customers"):
            changelog = "identity_changelog" if self.has("identity_changelog") else None
            previous = previous_for_next_run(self.con, "record_customers", changelog)
        resolution = self.resolve(inputs, ids, previous, at=at)
        self.con.register("new_records", resolution.records)
        self.con.execute("create or replace table record_customers as select * from new_records")
        self.con.unregister("new_records")
        return resolution

    def identity_changelog(self, resolution) -> None:
        """The identity_changelog model: append the run's changes unless its run_id is logged."""
        self.con.register("changes", resolution.changes)
        if not self.has("identity_changelog"):
            self.con.execute("create table identity_changelog as select * from changes")
        else:
            self.con.execute(
                "insert into identity_changelog select * from changes "
                "where run_id not in (select run_id from identity_changelog)"
            )
        self.con.unregister("changes")

    def run(self, inputs, ids, at):
        self.identity_changelog(self.record_customers(inputs, ids, at))

    def crash(self, inputs, ids, at):
        """Killed after record_customers, before identity_changelog."""
        self.record_customers(inputs, ids, at)

    def log(self) -> list[tuple]:
        """The changelog per run, in run order, without the run's id and time."""
        if not self.has("identity_changelog"):
            return []
        rows = self.con.execute(
            f"select changed_at, {', '.join(CHANGE)} from identity_changelog order by changed_at, {', '.join(CHANGE)}"
        ).fetchall()
        runs: dict = {}
        for changed_at, *change in rows:
            runs.setdefault(changed_at, []).append(tuple(change))
        return list(runs.values())

    def customers(self) -> dict[str, str]:
        return dict(self.con.execute("select source_record_id, customer_id from record_customers").fetchall())


def anna(record_id: str, **extra) -> dict:
    return dict(source="crm", source_record_id=record_id, first_name="anna", **extra)


DAY1 = records(
    anna("C1", email="anna@mail.nl"),
    anna("C2", email="anna@mail.nl"),
    dict(source="shop", source_record_id="S1", first_name="bea", email="bea@mail.nl"),
    dict(source="web", source_record_id="W1"),
    dict(source="crm", source_record_id="P1", first_name="piet", email="piet@mail.nl"),
    dict(source="crm", source_record_id="P2", first_name="piet", email="piet@mail.nl"),
)
DAY1_IDS = strong_ids(("shop", "S1", "user_id", "S1"))
# day 2: the web visitor logs in as the shop customer (a merge), P2 gets another email
# (a split), a new person arrives (new)
DAY2 = records(
    anna("C1", email="anna@mail.nl"),
    anna("C2", email="anna@mail.nl"),
    dict(source="shop", source_record_id="S1", first_name="bea", email="bea@mail.nl"),
    dict(source="web", source_record_id="W1"),
    dict(source="crm", source_record_id="P1", first_name="piet", email="piet@mail.nl"),
    dict(source="crm", source_record_id="P2", first_name="piet", email="piet2@mail.nl"),
    dict(source="crm", source_record_id="N1", first_name="noor", email="noor@mail.nl"),
)
DAY2_IDS = strong_ids(("shop", "S1", "user_id", "S1"), ("web", "W1", "user_id", "S1"))


@pytest.fixture
def clean(resolve):
    """The reference: day 1 and day 2, never interrupted."""
    warehouse = Warehouse(resolve)
    warehouse.run(DAY1, DAY1_IDS, at="2026-01-01")
    warehouse.run(DAY2, DAY2_IDS, at="2026-01-02")
    day1, day2 = warehouse.log()
    assert [change for change, *_ in day1] == ["new"] * 4
    assert sorted(change for change, *_ in day2) == ["merge", "new", "split"]
    return warehouse


def test_a_crash_on_the_first_day_is_logged_by_the_rerun(resolve, clean):
    warehouse = Warehouse(resolve)
    warehouse.crash(DAY1, DAY1_IDS, at="2026-01-01")
    assert warehouse.log() == []
    warehouse.run(DAY1, DAY1_IDS, at="2026-01-01 06:00")
    assert warehouse.log() == clean.log()[:1]
    warehouse.run(DAY2, DAY2_IDS, at="2026-01-02")
    assert warehouse.log() == clean.log() and warehouse.customers() == clean.customers()


def test_a_crash_on_a_later_day_keeps_its_merges_and_splits(resolve, clean):
    warehouse = Warehouse(resolve)
    warehouse.run(DAY1, DAY1_IDS, at="2026-01-01")
    warehouse.crash(DAY2, DAY2_IDS, at="2026-01-02")
    warehouse.crash(DAY2, DAY2_IDS, at="2026-01-02 06:00")  # and the first rerun is killed too
    assert len(warehouse.log()) == 1
    warehouse.run(DAY2, DAY2_IDS, at="2026-01-02 07:00")
    assert warehouse.log() == clean.log()
    assert warehouse.customers() == clean.customers()  # ids carried over as in a clean run


def test_a_rerun_with_no_changes_logs_nothing(resolve, clean):
    before = clean.log()
    clean.run(DAY2, DAY2_IDS, at="2026-01-03")
    clean.crash(DAY2, DAY2_IDS, at="2026-01-04")  # a crashed run with nothing to log
    clean.run(DAY2, DAY2_IDS, at="2026-01-05")
    assert clean.log() == before


def test_a_crashed_run_with_nothing_to_log_still_moves_the_base(resolve):
    """A new record joining a known customer logs nothing; when it leaves later, that is a split."""
    joined = records(anna("C1", email="anna@mail.nl"), anna("C2", email="anna@mail.nl"))
    left = records(anna("C1", email="anna@mail.nl"), anna("C2", email="anna2@mail.nl"))
    logs = []
    for crash_on_day2 in (False, True):
        warehouse = Warehouse(resolve)
        warehouse.run(records(anna("C1", email="anna@mail.nl")), strong_ids(), at="2026-01-01")
        (warehouse.crash if crash_on_day2 else warehouse.run)(joined, strong_ids(), at="2026-01-02")
        warehouse.run(left, strong_ids(), at="2026-01-03")
        logs.append(warehouse.log())
    clean, crashed = logs
    assert [[change for change, *_ in run] for run in clean] == [["new"], ["split"]]
    assert crashed == clean


@pytest.mark.slow
def test_dbt_rerun_after_a_crash_between_the_models_logs_the_same(tmp_path, monkeypatch, clean):
    """The real models: record_customers built alone (the crash), then both."""
    from cdp.build import run_dbt_build
    from tests.identity.test_dbt_models import MODELS, write_identity_tables

    warehouse = tmp_path / "cdp.duckdb"
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "target" / "logs"))

    def log():
        with duckdb.connect(str(warehouse), read_only=True) as con:
            if not con.execute(
                "select count(*) from information_schema.tables where table_name = 'identity_changelog'"
            ).fetchone()[0]:
                return []
            return con.execute(
                "select change, customer_id, other_customer_id from identity.identity_changelog "
                "order by changed_at, change, customer_id, other_customer_id"
            ).fetchall()

    write_identity_tables(warehouse, DAY1, DAY1_IDS)
    run_dbt_build(["record_customers"])  # killed before identity_changelog
    assert log() == []
    run_dbt_build(MODELS)
    day1 = log()
    clean_day1, clean_day2 = ([change[:3] for change in run] for run in clean.log())
    assert day1 == clean_day1

    write_identity_tables(warehouse, DAY2, DAY2_IDS)
    run_dbt_build(["record_customers"])
    run_dbt_build(MODELS)
    day2 = log()[len(day1) :]
    assert day2 == clean_day2

    run_dbt_build(MODELS)  # unchanged: nothing more
    assert log() == day1 + day2
