"""The `cdp` command line.

Each phase owns its commands in its own module (kept light to import: heavy
libraries are imported inside the command functions); they are registered here
in pipeline order so `cdp --help` reads like the nightly run.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from cdp.errors import CdpError

app = typer.Typer(
    help=(
        "cdp: a customer data platform on your own DuckDB warehouse.\n\n"
        "Typical day: `cdp generate` (demo data) -> `cdp ingest` -> `cdp build` "
        "-> `cdp sync`; or all of it at once with `cdp run`."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"cdp {version('cdp')}")
        raise typer.Exit()


@app.callback()
def _group(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Show cdp's version and exit."
    ),
) -> None:
    """Checks every CDP_* setting once, before any command runs (cdp/settings.py)."""
    if not _asking_for_help():
        from cdp import settings

        settings.current()  # a bad setting: one CdpError line naming it, exit 2


def _asking_for_help() -> bool:
    """`cdp <command> --help` shows the help even while a setting is wrong."""
    return any(argument in ("--help", "-h") for argument in sys.argv[1:])


@app.command("where", rich_help_panel="Setup")
def where() -> None:
    """Show where cdp reads source data and writes the warehouse (set CDP_DATA_DIR / CDP_WAREHOUSE)."""
    from cdp import settings

    typer.echo(f"warehouse:  {settings.warehouse_path()}")
    typer.echo(f"data dir:   {settings.data_dir()}")
    typer.echo(f"dbt project: {settings.DBT_PROJECT_DIR}")
    typer.echo(f"duckdb memory limit: {settings.duckdb_memory_limit()} per instance")


def _register() -> None:
    """Attach each phase's commands. Order here is the order in `cdp --help`."""
    # Each phase adds its lines here, e.g.:
    #   from cdp.demo.cli import generate
    #   app.command("generate", rich_help_panel="Collect")(generate)
    from cdp.demo.cli import generate

    app.command("generate", rich_help_panel="Collect")(generate)
    from ingest.cli import ingest

    app.command("ingest", rich_help_panel="Collect")(ingest)
    from cdp.build import build

    app.command("build", rich_help_panel="Merge")(build)
    from cdp.identity.cli import identity_app

    app.add_typer(identity_app, name="identity", rich_help_panel="Merge")
    from cdp.dbt_files import dbt_app

    app.add_typer(dbt_app, name="dbt", rich_help_panel="Merge")
    from cdp.activate.cli import sync

    app.command("sync", rich_help_panel="Activate")(sync)
    from cdp.privacy.cli import export_person, forget

    app.command("forget", rich_help_panel="Privacy")(forget)
    app.command("export-person", rich_help_panel="Privacy")(export_person)
    from cdp.ui.cli import ui

    app.command("ui", rich_help_panel="Marketers")(ui)
    from dagster_project.cli import run

    app.command("run", rich_help_panel="Run")(run)
    from bench.cli import bench

    app.command("bench", rich_help_panel="Run")(bench)


def _hide_flag_placeholders() -> None:
    """An on/off flag takes no value, so its help shows none (typer 0.29 prints `<bool>` there)."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich


def main() -> None:
    """Entry point: user errors become one clear line and a non-zero exit."""
    _register()
    _hide_flag_placeholders()
    try:
        app()
    except CdpError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
