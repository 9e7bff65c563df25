"""The whole nightly job, in-process, on a small generated universe: `cdp run` twice.

One session-scoped fixture runs it (the first run generates the universe, the second runs on
it unchanged); the tests read the reports and what the first run left in the warehouse.
Processing a day added by `cdp generate --advance` is the ingest tests' incremental loading
plus this same job; it is left out here to keep the suite fast.
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
    customers_in_360: int
    cart_abandoners_logged: int
    cart_abandoner_exports: list[str]
    ids_after_first: dict
    unchanged: PipelineReport
    ids_after_unchanged: dict
    console_output: str


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Runs:
    root = tmp_path_factory.mktemp("pipeline")
    data_dir, warehouse = root / "data", root / "warehouse" / "cdp.duckdb"
    output = io.StringIO()
    console = Console(file=output, width=160)
    with pytest.MonkeyPatch.context() as patch:  # run_pipeline pins the paths in the environment
        patch.setenv("CDP_DATA_DIR", str(data_dir))
        patch.setenv("CDP_WAREHOUSE", str(warehouse))

        def run() -> PipelineReport:
            report = run_pipeline(persons=PERSONS, seed=7, dagster_home=root / "dagster_home", console=console)
            console.print(report.render())
            return report

        first = run()
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            customers_in_360 = connection.execute("select count(*) from marts.customer_360").fetchone()[0]
            cart_abandoners_logged = connection.execute(
                "select count(*) from reverse_etl.sync_log where sync_name = 'cart_abandoners_file'"
            ).fetchone()[0]
        exports = sorted((warehouse.parent / "exports" / "cart_abandoners_file").glob("*.csv"))
        ids_after_first = customer_ids(warehouse)
        unchanged = run()
        ids_after_unchanged = customer_ids(warehouse)
    return Runs(
        warehouse,
        first,
        customers_in_360,
        cart_abandoners_logged,
        [path.read_text() for path in exports],
        ids_after_first,
        unchanged,
        ids_after_unchanged,
        output.getvalue(),
    )


def test_the_first_run_generates_loads_resolves_segments_and_syncs(runs):
    report = runs.first
    assert report.success, report.failures
    assert report.generated
    assert report.rows_loaded > 0 and set(report.sources) >= {"web", "app", "shop", "pos", "crm", "email"}
    assert 0 < report.customers <= report.records
    assert sum(report.segments.values()) > 0 and report.segments["cart_abandoners"] > 0
    assert report.rows_sent["file"] > 0
    assert list(report.seconds) == ["generate", "ingest", "dbt build", "syncs"]


def test_customers_are_in_the_360_and_the_file_destination_received_them(runs):
    assert runs.customers_in_360 == runs.first.customers
    assert len(runs.cart_abandoner_exports) == 1 and runs.cart_abandoners_logged > 0
    exported_rows = runs.cart_abandoner_exports[0].splitlines()[1:]
    assert len(exported_rows) == runs.first.segments["cart_abandoners"]


def test_a_second_run_on_an_unchanged_universe_loads_nothing_and_changes_no_customer_id(runs):
    report = runs.unchanged
    assert report.success, report.failures
    assert not report.generated
    assert report.rows_loaded == 0
    assert report.customer_ids_changed == 0 and runs.ids_after_unchanged == runs.ids_after_first
    assert list(report.seconds) == ["ingest", "dbt build", "syncs"]


def test_a_second_run_on_an_unchanged_universe_sends_nothing(runs):
    assert runs.unchanged.rows_sent and set(runs.unchanged.rows_sent.values()) == {0}, runs.unchanged.rows_sent


def test_the_summary_reads_at_a_glance(runs):
    for words in ("collect", "rows loaded", "customers", "segment", "rows sent", "time: "):
        assert words in runs.console_output
