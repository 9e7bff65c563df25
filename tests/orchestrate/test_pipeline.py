"""The whole nightly job, in-process, on a small generated universe: `cdp run` three times.

One session-scoped fixture runs it (first run, unchanged rerun, rerun after one more day);
the tests read its reports and the warehouse.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from rich.console import Console

from cdp.pipeline import PipelineReport, customer_ids, run_pipeline

pytestmark = pytest.mark.slow
PERSONS = 300


@dataclass
class Runs:
    warehouse: Path
    first: PipelineReport
    ids_after_first: dict
    unchanged: PipelineReport
    ids_after_unchanged: dict
    next_day: PipelineReport
    console_output: str


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Runs:
    from cdp.demo.universe import advance

    root = tmp_path_factory.mktemp("pipeline")
    data_dir, warehouse = root / "data", root / "warehouse" / "cdp.duckdb"
    output = io.StringIO()
    console = Console(file=output, width=120)
    with pytest.MonkeyPatch.context() as patch:  # run_pipeline pins the paths in the environment
        patch.setenv("CDP_DATA_DIR", str(data_dir))
        patch.setenv("CDP_WAREHOUSE", str(warehouse))

        def run() -> PipelineReport:
            report = run_pipeline(persons=PERSONS, seed=7, dagster_home=root / "dagster_home", console=console)
            console.print(report.render())
            return report

        first = run()
        ids_after_first = customer_ids(warehouse)
        unchanged = run()
        ids_after_unchanged = customer_ids(warehouse)
        advance(data_dir)
        next_day = run()
    return Runs(warehouse, first, ids_after_first, unchanged, ids_after_unchanged, next_day, output.getvalue())


def test_the_first_run_generates_loads_resolves_segments_and_syncs(runs):
    report = runs.first
    assert report.success, report.failures
    assert report.generated
    assert report.rows_loaded > 0 and set(report.sources) >= {"web", "app", "shop", "pos", "crm", "email"}
    assert 0 < report.customers <= report.records
    assert sum(report.segments.values()) > 0 and report.segments["cart_abandoners"] > 0
    assert report.rows_sent["file"] > 0
    assert set(report.seconds) == {"ingest", "dbt build", "syncs"}


def test_customers_are_in_the_360_and_the_file_destination_received_them(runs):
    with duckdb.connect(str(runs.warehouse), read_only=True) as connection:
        customers = connection.execute("select count(*) from marts.customer_360").fetchone()[0]
        sent = connection.execute(
            "select count(*) from reverse_etl.sync_log where sync_name = 'cart_abandoners_file'"
        ).fetchone()[0]
    assert customers == runs.first.customers
    exports = list((runs.warehouse.parent / "exports" / "cart_abandoners_file").glob("*.csv"))
    assert exports and sent > 0
    assert sum(len(path.read_text().splitlines()) - 1 for path in exports) == runs.first.segments["cart_abandoners"]


def test_a_second_run_on_an_unchanged_universe_loads_nothing_changes_no_id_and_sends_nothing(runs):
    report = runs.unchanged
    assert report.success, report.failures
    assert not report.generated
    assert report.rows_loaded == 0
    assert report.customer_ids_changed == 0 and runs.ids_after_unchanged == runs.ids_after_first
    assert report.rows_sent and set(report.rows_sent.values()) == {0}


def test_a_run_after_the_universe_advances_processes_the_new_day(runs):
    report = runs.next_day
    assert report.success, report.failures
    assert report.rows_loaded > 0
    assert report.records > runs.first.records


def test_the_summary_reads_at_a_glance(runs):
    for words in ("collect", "rows loaded", "customers", "segment", "rows sent", "time: ingest"):
        assert words in runs.console_output
