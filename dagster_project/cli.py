"""`cdp run`: the command-line face of dagster_project/nightly.py (light to import)."""

from __future__ import annotations

from pathlib import Path

import typer


def run(
    persons: int = typer.Option(5_000, "--persons", help="Persons in the demo universe, when one must be generated."),
    seed: int = typer.Option(42, "--seed", help="Seed of the demo universe, when one must be generated."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir", help="Source data folder; default CDP_DATA_DIR (data/demo)."
    ),
    warehouse: Path | None = typer.Option(
        None, "--warehouse", help="DuckDB file; default CDP_WAREHOUSE (warehouse/cdp.duckdb)."
    ),
    demo: bool = typer.Option(
        False, "--demo", help="Generate the demo universe into the data folder when it holds no files yet."
    ),
) -> None:
    """Run the whole nightly pipeline now, in-process: ingest -> dbt build (identity) -> syncs, then a summary.

    Generates the demo universe first when the demo is configured and its folder is empty (or
    with --demo); any other missing or empty data folder is an error. Runs are recorded in
    $DAGSTER_HOME (default .dagster_home/), so `dagster dev` shows them.
    """
    from cdp.console import make_console
    from dagster_project.nightly import run_pipeline

    console = make_console()
    report = run_pipeline(
        persons=persons, seed=seed, data_dir=data_dir, warehouse=warehouse, console=console, demo=demo
    )
    console.print(report.render())
    if not report.success:
        raise typer.Exit(1)
