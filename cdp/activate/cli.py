"""`cdp sync`: send the segments to their destinations (or show what would be sent)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def sync(
    select: Annotated[
        list[str] | None, typer.Option("--select", "-s", help="Sync name (repeatable); default: every declared sync.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be added, updated and removed; send nothing.")
    ] = False,
    full_resync: Annotated[
        bool, typer.Option("--full-resync", help="Send every row again (no deletes fired).")
    ] = False,
    manifest: Annotated[
        Path | None,
        typer.Option(help="dbt manifest to read the syncs from (default: dbt_project/target/manifest.json)."),
    ] = None,
    sample: Annotated[int, typer.Option(help="Rows shown per operation in a dry run.")] = 3,
    confirm_removals: Annotated[
        bool,
        typer.Option(
            "--confirm-removals",
            help="Let a sync remove more than CDP_MAX_REMOVAL_SHARE of its members in this run.",
        ),
    ] = False,
) -> None:
    """Sync segments to their destinations (reverse ETL). Credentials come from environment variables."""
    from rich.table import Table

    from cdp import settings
    from cdp.activate import load_sync_specs, run_sync
    from cdp.console import make_console
    from cdp.errors import CdpError

    warehouse = settings.warehouse_path()
    if not warehouse.exists():
        raise CdpError(f"{warehouse}: no warehouse here; run `cdp ingest` and `cdp build` first (or set CDP_WAREHOUSE)")
    specs = load_sync_specs(manifest or settings.DBT_PROJECT_DIR / "target" / "manifest.json")
    if select:
        unknown = sorted(set(select) - {spec.name for spec in specs})
        if unknown:
            raise CdpError(
                f"--select: no sync named {', '.join(unknown)}; declared: {', '.join(s.name for s in specs)}"
            )
        specs = [spec for spec in specs if spec.name in select]
    console = make_console()
    table = Table(title="dry run: nothing sent" if dry_run else "syncs")
    table.add_column("sync", overflow="fold")
    table.add_column("destination", overflow="fold")
    table.add_column("status")
    for column in ("add", "update", "remove", "withdrawn", "failed", "no consent"):
        table.add_column(column, justify="right")
    notes: list[str] = []
    failed = False
    for spec in specs:
        result = run_sync(
            warehouse, spec, dry_run=dry_run, full_resync=full_resync, confirm_removals=confirm_removals or None
        )
        planned = result.planned
        counts = (
            (
                planned.get("add", 0),
                planned.get("update", 0),
                planned.get("remove", 0) + planned.get("clear", 0),
                planned.get("withdraw", 0),
            )
            if dry_run
            else (result.added, result.updated, result.removed, result.withdrawn)
        )
        table.add_row(
            spec.name,
            spec.destination,
            result.status,
            *map(str, counts),
            str(result.failed),
            str(result.skipped_consent),
        )
        if result.message:
            notes.append(f"{spec.name}: {result.message}")
        failed |= result.status in ("failed", "blocked")
        if dry_run:
            for operation, rows in result.sample.items():
                for primary_key, record in rows[:sample]:
                    notes.append(f"{spec.name}: would {operation} {primary_key}: {record}")
    console.print(table)
    for note in notes:
        console.print(note, markup=False, highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
