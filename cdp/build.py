"""`cdp build`: run the dbt project (staging -> identity -> marts -> segments) on the warehouse.

`build(...)`, the command: `dbt build` through dbt's programmatic `dbtRunner`, with the
project and profiles in `cdp.settings.DBT_PROJECT_DIR`; a failure raises `CdpError` naming
the failing nodes. The UDFs dbt's connections need come from the dbt-duckdb plugin,
`cdp.dbt_plugin`.

dbt is imported inside functions: `cdp --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from cdp import settings
from cdp.errors import CdpError


def run_dbt_build(
    select: list[str] | None = None,
    *,
    full_refresh: bool = False,
    dbt_vars: dict[str, Any] | None = None,
) -> None:
    """`dbt build` on the warehouse; raises CdpError naming every failing node."""
    settings.export_environment()  # dbt-duckdb resolves a relative warehouse path against the cwd
    require_warehouse(settings.warehouse_path())
    from cdp.warehouse_schema import upgrade_warehouse

    upgrade_warehouse(settings.warehouse_path())  # state tables of an older release, migrated in place
    from dbt.cli.main import dbtRunner

    args = [
        "build",
        "--project-dir",
        str(settings.DBT_PROJECT_DIR),
        "--profiles-dir",
        str(settings.DBT_PROJECT_DIR),
    ]
    if settings.engine() != "duckdb":
        args += ["--target", settings.engine()]
    if full_refresh:
        args.append("--full-refresh")
        # record_customers is a table that scores only changed records' pairs: the var
        # (which, unlike the flag, invalidates dbt's partial parse) makes it score all
        dbt_vars = {**(dbt_vars or {}), "cdp_full_refresh": True}
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, default=str)]  # YAML reads 2026-01-10 as a date
    try:
        if settings.engine() == "spark":  # identity resolution is a step between two dbt selections
            from cdp.spark import build_on_spark

            results = build_on_spark(args, select, full_refresh=full_refresh)
        else:
            results = [dbtRunner().invoke([*args, *selection(select)])]
    finally:
        release_warehouse()
    for result in results:
        if result.exception is not None:
            raise CdpError(f"{settings.DBT_PROJECT_DIR}: dbt build could not run: {result.exception}")
        if not result.success:
            raise CdpError(f"{settings.DBT_PROJECT_DIR}: dbt build failed: {', '.join(failed_nodes(result.result))}")


def selection(select: list[str] | None) -> list[str]:
    """dbt's --select flags; with a selection only tests whose parents are all selected (a
    segment's test on customer_360 must not run when the segment itself is not being built)."""
    if not select:
        return []
    return [*(part for selector in select for part in ("--select", selector)), "--indirect-selection", "cautious"]


def require_warehouse(warehouse: Path) -> None:
    """dbt-duckdb would create an empty file and fail every source test on it: say what is missing."""
    if not warehouse.is_file():
        raise CdpError(missing_warehouse(warehouse))


def missing_warehouse(warehouse: Path) -> str:
    return f"{warehouse}: no warehouse here; run `cdp ingest` first (or set CDP_WAREHOUSE to yours)"


def release_warehouse() -> None:
    """Close dbt-duckdb's process-wide connection, so this process can open the file again.

    dbt-duckdb keeps one DuckDB instance per process after a run; opening the same file
    with another configuration (read-only, as the sync engine does) would fail until then.
    """
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
    DuckDBConnectionManager.close_all_connections()


def failed_nodes(run_result: Any) -> list[str]:
    """`name (status)` for every node that errored or failed its test."""
    failed = [
        f"{node_label(item.node)} ({item.status})"
        for item in getattr(run_result, "results", None) or []
        if str(item.status) in ("error", "fail", "runtime error")
    ]
    return failed or ["see dbt's log above"]


def node_label(node: Any) -> str:
    """A model, seed or test by name; a unit test as model::test, as dbt prints it."""
    if node.resource_type == "unit_test":  # a definition names its model; a compiled test node its id
        model = getattr(node, "model", None) or str(getattr(node, "tested_node_unique_id", "")).rsplit(".", 1)[-1]
        return f"{model}::{node.name}"
    return node.name


def build(
    select: Annotated[list[str] | None, typer.Option("--select", "-s", help="dbt node selection (repeatable)")] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Rebuild incremental models from scratch")
    ] = False,
    vars_: Annotated[
        str | None, typer.Option("--vars", help="dbt vars as YAML/JSON, e.g. '{as_of: \"2026-01-10\"}'")
    ] = None,
) -> None:
    """Build the warehouse with dbt: staging, identity resolution, customer_360, segments (with tests)."""
    import yaml

    dbt_vars = None
    if vars_:
        try:
            dbt_vars = yaml.safe_load(vars_)
        except yaml.YAMLError as error:
            raise CdpError(f"--vars: not valid YAML: {error}") from error
        if not isinstance(dbt_vars, dict):
            raise CdpError(f"--vars: expected a mapping like '{{as_of: 2026-01-10}}', got {vars_!r}")
    run_dbt_build(select, full_refresh=full_refresh, dbt_vars=dbt_vars)
