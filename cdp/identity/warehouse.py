"""Read the identity tables out of the warehouse into a private connection.

The CLI commands (train, evaluate) and the benchmark work on a copy in memory: the
warehouse file is opened read-only and only for as long as the copy takes.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import duckdb

from cdp.errors import CdpError

INPUT_TABLES = {
    "identity_inputs": "identity.identity_inputs",
    "identity_strong_ids": "identity.identity_strong_ids",
    "blocked_identifiers": "seeds.blocked_identifiers",
    "nicknames": "seeds.nicknames",
}


def load_tables(
    warehouse: Path, tables: dict[str, str], con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """An in-memory connection (new, or `con`) holding `name -> schema.table` copied from the warehouse."""
    if not warehouse.exists():
        raise CdpError(
            f"{warehouse}: warehouse not found (run `cdp ingest` and `cdp build` first, or set CDP_WAREHOUSE)"
        )
    con = con or duckdb.connect()
    quoted = str(warehouse).replace("'", "''")
    con.execute(f"attach '{quoted}' as wh (read_only)")
    for name, qualified in tables.items():
        try:
            con.execute(f"create table {name} as select * from wh.{qualified}")
        except duckdb.CatalogException as error:
            con.execute("detach wh")
            raise CdpError(f"{warehouse}: table {qualified} is missing (run `cdp build`): {error}") from error
    con.execute("detach wh")
    return con


# Added after the first release: a warehouse built before it has no such table.
OPTIONAL_INPUT_TABLES = {"identity_match_fields": "identity.identity_match_fields"}


def load_identity_inputs(warehouse: Path, con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """The identity step's input tables, and the match fields where the warehouse has them."""
    con = load_tables(warehouse, INPUT_TABLES, con)
    with contextlib.suppress(CdpError):
        load_tables(warehouse, OPTIONAL_INPUT_TABLES, con)
    return con
