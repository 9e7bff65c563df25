"""The dbt-duckdb plugin named in dbt_project/profiles.yml (`module: cdp.dbt_plugin`).

It registers cdp's Python UDFs on every connection dbt opens and bounds DuckDB's memory,
so `dbt build` is self-contained whether `cdp build`, Dagster or a bare `dbt` starts it.
It also refuses to open a warehouse file that does not exist: DuckDB would create an empty
one, and every source test would then fail on it. dbt-duckdb calls
`update_connection_config` just before `duckdb.connect`, and reports a RuntimeError raised
there as one "Could not connect" error.
Only dbt imports this module (it imports dbt-duckdb at load).
"""

from __future__ import annotations

import os
import re
from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from cdp import settings
from cdp.identifiers import phone_e164

PHONE_UDF = "cdp_phone_e164"


def register_udfs(conn: Any) -> None:
    """Add cdp's UDFs to a DuckDB connection: `cdp_phone_e164(phone, regions)` (cdp.identifiers.phone_e164)."""
    from duckdb import sqltypes

    conn.create_function(
        PHONE_UDF,
        phone_e164,
        [sqltypes.VARCHAR, sqltypes.VARCHAR],
        sqltypes.VARCHAR,
        null_handling="special",  # null regions still parse +31... numbers
        side_effects=False,
    )


def is_local_file(path: str) -> bool:
    """A file on this machine, not `:memory:` or a URL such as md:db or s3://bucket/db."""
    return path != ":memory:" and not re.match(r"[A-Za-z][A-Za-z0-9+.-]+:", path)


class Plugin(BasePlugin):
    """Registers cdp's UDFs on every connection dbt opens, and bounds its memory."""

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        path = str(creds.path)
        if is_local_file(path) and not os.path.isfile(path):
            from cdp.build import missing_warehouse

            raise RuntimeError(missing_warehouse(settings.given_path(path)))

    def configure_connection(self, conn: Any) -> None:
        register_udfs(conn)
        conn.execute(f"set memory_limit = '{settings.duckdb_memory_limit()}'")
