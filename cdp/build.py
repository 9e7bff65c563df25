"""`cdp build`: run the dbt project (staging -> identity -> marts -> segments) on the warehouse.

Two things live here:

- `build(...)`, the command: `dbt build` through dbt's programmatic `dbtRunner`, with the
  project and profiles in `cdp.settings.DBT_PROJECT_DIR`; a failure raises `CdpError`
  naming the failing nodes.
- `Plugin`, the dbt-duckdb plugin named in dbt_project/profiles.yml (`module: cdp.build`).
  It registers the Python UDFs the staging SQL calls, so `dbt build` stays self-contained
  whether it is started by `cdp build`, Dagster or a bare `dbt` command.

Heavy imports (dbt, duckdb, phonenumbers) happen inside functions: `cdp --help` stays fast.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any

import typer

from cdp import settings
from cdp.errors import CdpError

PHONE_UDF = "cdp_phone_e164"


@lru_cache(maxsize=1_000_000)
def phone_to_e164(raw: str | None, regions: str | None) -> str | None:
    """A phone number in E.164 (+31612345678), or None when it is not one valid number.

    `regions` is the record's ISO-2 country, or a comma-separated list of candidates in
    order of preference when the country is unknown (a number typed at a till): a national
    format (06-12345678) is read in the first region where it is a valid number.
    A leading 00 is read as the international prefix (0031 6...) even where the region's
    own prefix differs (011 in the US). Placeholders such as 000000 are never valid.
    """
    if raw is None or not raw.strip():
        return None
    for region in (regions or "").split(","):
        if number := _parse_valid(raw, region.strip()):
            return number
    if raw.strip().startswith("00"):
        return _parse_valid("+" + raw.strip()[2:], "")
    return None


def _parse_valid(raw: str, region: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def register_udfs(conn: Any) -> None:
    """Add cdp's UDFs to a DuckDB connection: `cdp_phone_e164(phone, regions)`."""
    from duckdb import sqltypes

    conn.create_function(
        PHONE_UDF,
        phone_to_e164,
        [sqltypes.VARCHAR, sqltypes.VARCHAR],
        sqltypes.VARCHAR,
        null_handling="special",  # null regions still parse +31... numbers
        side_effects=False,
    )


def __getattr__(name: str) -> Any:
    """`Plugin`, built on first use: dbt-duckdb loads it; the CLI never pays for importing dbt."""
    if name != "Plugin":
        raise AttributeError(name)
    from dbt.adapters.duckdb.plugins import BasePlugin

    class Plugin(BasePlugin):
        """dbt-duckdb plugin: registers cdp's UDFs on every connection dbt opens, and bounds its memory."""

        def configure_connection(self, conn: Any) -> None:
            register_udfs(conn)
            conn.execute(f"set memory_limit = '{settings.duckdb_memory_limit()}'")

    globals()["Plugin"] = Plugin
    return Plugin


def run_dbt_build(
    select: list[str] | None = None,
    *,
    full_refresh: bool = False,
    dbt_vars: dict[str, Any] | None = None,
) -> None:
    """`dbt build` on the warehouse; raises CdpError naming every failing node."""
    from dbt.cli.main import dbtRunner

    settings.export_environment()  # dbt-duckdb resolves a relative warehouse path against the cwd
    settings.warehouse_path().parent.mkdir(parents=True, exist_ok=True)
    args = [
        "build",
        "--project-dir",
        str(settings.DBT_PROJECT_DIR),
        "--profiles-dir",
        str(settings.DBT_PROJECT_DIR),
    ]
    for selector in select or []:
        args += ["--select", selector]
    if select:
        # only tests whose parents are all selected: a segment's test on customer_360 must
        # not run when the segment itself is not being built
        args += ["--indirect-selection", "cautious"]
    if full_refresh:
        args.append("--full-refresh")
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars, default=str)]  # YAML reads 2026-01-10 as a date
    try:
        result = dbtRunner().invoke(args)
    finally:
        release_warehouse()
    if result.exception is not None:
        raise CdpError(f"{settings.DBT_PROJECT_DIR}: dbt build could not run: {result.exception}")
    if not result.success:
        raise CdpError(f"{settings.DBT_PROJECT_DIR}: dbt build failed: {', '.join(failed_nodes(result.result))}")


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
    if node.resource_type == "unit_test":
        return f"{node.model}::{node.name}"
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
