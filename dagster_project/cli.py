"""`cdp run`: the command-line face of dagster_project/nightly.py (light to import)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

INTERRUPTED = 130  # the shell's exit status for a command stopped by Ctrl-C


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
    confirm_removals: bool = typer.Option(
        False,
        "--confirm-removals",
        help="Let this run's syncs remove more than CDP_MAX_REMOVAL_SHARE of their members (after a check).",
    ),
) -> None:
    """Run the whole nightly pipeline now, in-process: ingest -> dbt build (identity) -> syncs, then a summary.

    Generates the demo universe first when the demo is configured and its folder is empty (or
    with --demo); any other missing or empty data folder is an error. Runs are recorded in
    $DAGSTER_HOME (default .dagster_home/), so `dagster dev` shows them. One run at a time per
    warehouse: a second one stops at once, naming the first. Ctrl-C (or SIGTERM) stops the run
    and dbt with it, marks the run canceled and exits 130; the next run starts normally.
    """
    from cdp.console import make_console
    from dagster_project.nightly import run_pipeline

    console = make_console()
    if confirm_removals:  # read by every sync of this run (cdp.settings.confirm_removals)
        os.environ["CDP_CONFIRM_REMOVALS"] = "1"
    try:
        report = run_pipeline(
            persons=persons, seed=seed, data_dir=data_dir, warehouse=warehouse, console=console, demo=demo
        )
    except KeyboardInterrupt:  # before the job started or after it ended: there is no run to report
        console.print("cdp run: interrupted")
        exit_now(INTERRUPTED)
    console.print(report.render())
    if report.cancelled:
        exit_now(INTERRUPTED)
    if not report.success:
        raise typer.Exit(1)


def exit_now(code: int) -> None:
    """End an interrupted `cdp run` at once, once its output is out.

    Everything that matters is done by then (dbt stopped, the lock released, the Dagster run
    marked canceled). But an interrupt is raised wherever the main thread is, an import
    included, and one that lands between the import lock's acquire and release leaves it held:
    a library's worker thread then waits for it forever (dlt's telemetry sender does, in its
    thread pool), and a normal exit waits for that thread. So no normal exit here.
    """
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
