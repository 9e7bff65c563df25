"""`cdp ingest`: the collect phase from the command line (light to import)."""

from __future__ import annotations

from pathlib import Path

import typer


def ingest(
    source: list[str] | None = typer.Option(
        None, "--source", "-s", help="Load only this source (repeatable); default: every enabled source."
    ),
    config: Path | None = typer.Option(None, "--config", help="Sources file; default ingest/sources.yml."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Source data folder; default CDP_DATA_DIR."),
) -> None:
    """Load every source into raw_<source> in the warehouse: new files and changed rows only, bad rows quarantined."""
    import logging

    from cdp.console import make_console
    from ingest.config import load_config
    from ingest.runner import run_ingest

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    summary = run_ingest(source or None, data_dir=data_dir, config=load_config(config))
    make_console().print(summary.render())
    if summary.failed:
        raise typer.Exit(1)
