"""The baseline for ingest: DuckDB reading the same source files natively into a DuckDB file.

No validation, no quarantine, no manifest, no load packages: just DuckDB's own readers
(read_json / read_csv / read_parquet) over exactly the files `cdp ingest` would read
(listed by the ingest config), each table created in one statement, with the column
types the ingest config declares (like ingest: declared types, the rest as read). CSV is
read as text and then cast: DuckDB's per-file type sniffing over a thousand small store
files costs 40x more than the read itself. The shop's SQLite
tables are copied through Python's sqlite3 module, because DuckDB's sqlite extension is
a download and this machine is offline.

    python -m bench.native_read --data-dir bench/work/10000/run/data --warehouse /tmp/native.duckdb

Prints the rows read per table as JSON.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlalchemy.engine import make_url

from ingest.config import FilesSource, SqlSource, load_config
from ingest.files import list_files, location_of

READERS = {
    "jsonl": "read_json({files}, format = 'newline_delimited', union_by_name = true)",
    "csv": "read_csv({files}, all_varchar = true)",
    "parquet": "read_parquet({files}, union_by_name = true)",
}
DUCKDB_TYPES = {
    "text": "varchar",
    "bigint": "bigint",
    "double": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
}


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + path.replace("'", "''") + "'" for path in paths) + "]"


def _declared_types(columns: dict[str, str]) -> str:
    """`*` with each declared column cast to its type (null where it does not cast)."""
    if not columns:
        return "*"
    casts = ", ".join(f'try_cast("{column}" as {DUCKDB_TYPES[kind]}) as "{column}"' for column, kind in columns.items())
    return f"* replace ({casts})"


def read_files_source(connection, name: str, spec: FilesSource, data_dir: Path) -> dict[str, int]:
    rows = {}
    for table, table_spec in spec.tables.items():
        files = [file.path for file in list_files(location_of(name, spec, data_dir), table_spec.files, data_dir)]
        if not files:
            continue
        target = f"native_{name}.{table}"
        reader = READERS[table_spec.format].format(files=_sql_list(files))
        connection.execute(
            f"create or replace table {target} as select {_declared_types(table_spec.columns)} from {reader}"
        )
        rows[target] = connection.execute(f"select count(*) from {target}").fetchone()[0]
    return rows


def read_sqlite_source(connection, name: str, spec: SqlSource, data_dir: Path) -> dict[str, int]:
    url = make_url(spec.url.replace("{data_dir}", str(data_dir)))
    rows = {}
    with sqlite3.connect(url.database) as source:
        for table in spec.tables:
            cursor = source.execute(f'select * from "{table}"')
            columns = [column[0] for column in cursor.description]
            arrow = pa.Table.from_pylist([dict(zip(columns, row, strict=True)) for row in cursor.fetchall()])
            target = f"native_{name}.{table}"
            connection.register("sqlite_rows", arrow)
            connection.execute(f"create or replace table {target} as select * from sqlite_rows")
            connection.unregister("sqlite_rows")
            rows[target] = arrow.num_rows
    return rows


def read_all(data_dir: Path, warehouse: Path) -> dict[str, int]:
    """Read every enabled file and SQLite source of the ingest config into `warehouse`."""
    config = load_config()
    rows: dict[str, int] = {}
    with duckdb.connect(str(warehouse)) as connection:
        for name, spec in config.enabled().items():
            connection.execute(f"create schema if not exists native_{name}")
            if isinstance(spec, FilesSource):
                rows |= read_files_source(connection, name, spec, data_dir)
            elif isinstance(spec, SqlSource) and spec.url.startswith("sqlite"):
                rows |= read_sqlite_source(connection, name, spec, data_dir)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, required=True)
    arguments = parser.parse_args()
    print(json.dumps(read_all(arguments.data_dir.resolve(), arguments.warehouse.resolve()), indent=1))


if __name__ == "__main__":
    main()
