"""The `sql_database` kind: tables of any SQLAlchemy database into raw_<source>.

What it loads: each table listed under the source, read with dlt's sql_database
source (pyarrow backend: rows arrive as Arrow batches, not per-row dicts),
incremental on its cursor column (`updated_at`: only rows changed since the last
run are read) and merged on its primary key (a changed row replaces the old one).
The cursor lives in dlt's pipeline state, committed in the same load package as the
rows, so a crashed run resumes from the last loaded cursor.

Settings (ingest/sources.yml): `url` (SQLAlchemy URL; `{data_dir}` is replaced, the
demo shop is `sqlite:///{data_dir}/shop/shop.sqlite`), and per table `primary_key`,
`cursor`, `write_disposition`.

Run it alone: `cdp ingest --source shop`.
"""

from __future__ import annotations

from pathlib import Path

import dlt
from dlt.sources.sql_database import sql_table

from ingest.config import SCHEMA_CONTRACT, SqlSource, SqlTable
from ingest.readers import with_row_ids


def sql_source(name: str, spec: SqlSource, data_dir: Path):
    url = spec.url.replace("{data_dir}", str(data_dir))
    _check_sqlite_file(url)

    @dlt.source(name=name, schema_contract=SCHEMA_CONTRACT)
    def source():
        return [_table(url, table, table_spec) for table, table_spec in spec.tables.items()]

    return source()


def _table(url: str, table: str, spec: SqlTable):
    resource = sql_table(
        credentials=url,
        table=table,
        backend="pyarrow",
        incremental=dlt.sources.incremental(spec.cursor) if spec.cursor else None,
        write_disposition=spec.dlt_write_disposition,
        primary_key=spec.primary_key or None,
        reflection_level="minimal",  # column types come from the Arrow batches
    )
    return resource.add_map(with_row_ids)


def _check_sqlite_file(url: str) -> None:
    """SQLite would quietly create an empty database for a wrong path: refuse instead."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        path = Path(url[len(prefix) :].split("?")[0])
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such SQLite file")
