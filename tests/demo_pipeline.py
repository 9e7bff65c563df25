"""The demo pipeline, run once per test session and shared: `cdp run` twice on 300 persons.

The first run generates the universe, ingests, builds (identity resolution included) and
syncs; the second runs on it unchanged. The whole-pipeline tests (tests/orchestrate) read the
reports, and the merge tests (tests/dbt) read the warehouse it leaves, instead of building
their own, and the workspace and privacy tests copy it: one build of the demo universe serves
them all, once per test session even under pytest-xdist (the `demo_pipeline` fixture in
tests/conftest.py).
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
from rich.console import Console

from dagster_project.dbt_assets import cdp_project
from dagster_project.nightly import PipelineReport, customer_ids, run_pipeline

PERSONS = 300
SEED = 7


@dataclass
class Runs:
    warehouse: Path
    data_dir: Path
    manifest: Path
    first: PipelineReport
    customers_in_360: int
    cart_abandoners_logged: int
    cart_abandoner_exports: list[str]
    ids_after_first: dict
    unchanged: PipelineReport
    ids_after_unchanged: dict
    console_output: str


def run_demo_pipeline_twice(root: Path) -> Runs:
    """Both runs, in `root` (a new folder)."""
    data_dir, warehouse = root / "data", root / "warehouse" / "cdp.duckdb"
    output = io.StringIO()
    console = Console(file=output, width=160)

    def run() -> PipelineReport:  # the paths are given, not set in the environment
        report = run_pipeline(
            persons=PERSONS,
            seed=SEED,
            data_dir=data_dir,
            warehouse=warehouse,
            dagster_home=root / "dagster_home",
            console=console,
            demo=True,
        )
        console.print(report.render())
        return report

    first = run()
    manifest = root / "manifest.json"  # the project as the first run's dbt build saw it
    shutil.copyfile(cdp_project().manifest_path, manifest)
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
        data_dir,
        manifest,
        first,
        customers_in_360,
        cart_abandoners_logged,
        [path.read_text() for path in exports],
        ids_after_first,
        unchanged,
        ids_after_unchanged,
        output.getvalue(),
    )
