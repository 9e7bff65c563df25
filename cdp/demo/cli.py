"""`cdp generate`: the demo universe from the command line (light to import)."""

from __future__ import annotations

from pathlib import Path

import typer


def generate(
    persons: int = typer.Option(5000, "--persons", "-n", help="How many persons live in the universe."),
    seed: int = typer.Option(42, "--seed", help="Same seed, same bytes."),
    out: Path | None = typer.Option(None, "--out", help="Folder to write; default CDP_DATA_DIR (data/demo)."),
    advance: bool = typer.Option(
        False, "--advance", help="Add the next day to the universe in --out (its manifest gives persons and seed)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace a non-empty --out folder."),
) -> None:
    """Write the demo universe: every source in its native form, plus truth.parquet (who is who)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cdp import settings
    from cdp.demo import universe

    target = out if out is not None else settings.data_dir()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), transient=True
    ) as progress:
        if advance:
            total = universe.read_manifest(target)["persons_total"]
            task = progress.add_task("advancing one day", total=total)
            manifest = universe.advance(target, on_batch=lambda n: progress.advance(task, n))
        else:
            task = progress.add_task("generating persons", total=persons)
            manifest = universe.generate(
                target, persons=persons, seed=seed, force=force, on_batch=lambda n: progress.advance(task, n)
            )
    records = sum(manifest["counts"]["truth"].values())
    typer.echo(
        f"{target}: {manifest['persons_total']:,} persons, {records:,} person records, "
        f"current date {manifest['current_date']}"
    )
