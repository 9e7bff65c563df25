"""`cdp bench`: the speed, memory and accuracy figures at one scale (light to import)."""

from __future__ import annotations

from pathlib import Path

import typer


def bench(
    persons: int = typer.Option(10_000, "--persons", min=50, help="Size of the demo universe."),
    seed: int = typer.Option(42, "--seed", help="Seed of the demo universe."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Generate the universe again instead of reusing bench/work/<persons>/."
    ),
    work_dir: Path = typer.Option(None, "--work-dir", help="Where universes and runs live; default bench/work."),
    results_dir: Path = typer.Option(None, "--results-dir", help="Where results go; default bench/results."),
) -> None:
    """Run the whole pipeline at a scale, stage by stage, then the next day; measure wall time, CPU
    and peak memory per stage, side by side with native DuckDB reads and plain Splink; score identity."""
    import sys

    from rich.markdown import Markdown

    from bench.run import RESULTS_DIR, WORK_ROOT, run_bench
    from cdp.console import make_console

    console = make_console(stderr=True)
    with console.status(f"benchmarking {persons:,} persons (each stage logs to bench/work/{persons}/run/logs) ..."):
        result = run_bench(
            persons,
            seed=seed,
            work_root=work_dir or WORK_ROOT,
            results_dir=results_dir or RESULTS_DIR,
            fresh=fresh,
            command="cdp bench " + " ".join(sys.argv[2:]),
        )
    from bench.report import to_markdown

    make_console().print(Markdown(to_markdown(result)))
    typer.echo(f"results: {(results_dir or RESULTS_DIR) / f'bench_{persons}.json'}")
