"""What the warehouse already holds for one source: committed loads, the file manifest, column types.

A file source decides what to read from this, and cleans up after itself with it:

- Only *committed* loads count. dlt writes a load's row to `_dlt_loads` after every job of
  its package has loaded, so a manifest row (`_files`) whose `_dlt_load_id` is not there
  belongs to a package that never finished (a crash, a failed job, or a package aborted by
  hand as dlt's own message suggests): its files are read again, and the rows it left in
  append tables are removed (`remove_uncommitted_rows`). Rows it left in merge tables stay:
  the file is merged again, which reaches the same end state.
- A changed file is read again in full, and once that load is committed the rows its older
  versions loaded into append tables (and their quarantine and manifest rows) are deleted
  (`remove_replaced_rows`). Both clean-ups are idempotent and run at the start and the end of
  every run, so a crash between the load and the clean-up is repaired by the next run.

dlt has no notion of "the rows this file loaded before", so this module is ours; it uses
dlt's own load ids and `_dlt_loads` table as the commit record.
"""

from __future__ import annotations

from dataclasses import dataclass

import dlt
import pyarrow as pa
from dlt.destinations.exceptions import DatabaseUndefinedRelation

MANIFEST_TABLE = "_files"
QUARANTINE_TABLE = "_quarantine"
FULL_READS = ("new", "replaced")  # manifest actions that (re)start a file's rows

MANIFEST_COLUMNS = (
    "table_name",
    "source_file",
    "action",
    "size_bytes",
    "modified_at",
    "content_hash",
    "read_from_byte",
    "_dlt_load_id",
)


@dataclass(frozen=True)
class ManifestEntry:
    """The newest committed manifest row of one file of one table."""

    table_name: str
    source_file: str
    action: str | None  # None: written before actions were recorded (read in full)
    size_bytes: int | None
    modified_at: str | None
    content_hash: str | None
    read_from_byte: int | None
    load_id: str


@dataclass
class Manifest:
    """Every file a table has committed rows from, by name, and which name first held each content."""

    files: dict[tuple[str, str], ManifestEntry]
    names_by_hash: dict[tuple[str, str], str]

    def entry(self, table: str, name: str) -> ManifestEntry | None:
        return self.files.get((table, name))

    def name_with_content(self, table: str, content_hash: str) -> str | None:
        return self.names_by_hash.get((table, content_hash))


def committed_manifest(pipeline: dlt.Pipeline) -> Manifest:
    """The manifest as far as committed loads go (empty before the first load)."""
    with pipeline.sql_client() as client:
        if not client.has_dataset() or not _has_table(client, "_dlt_loads"):
            return Manifest({}, {})
        have = _columns_of(client, MANIFEST_TABLE)
        if not have:
            return Manifest({}, {})
        selected = ", ".join(column if column in have else f"NULL AS {column}" for column in MANIFEST_COLUMNS)
        rows = client.execute_sql(
            f"SELECT {selected} FROM {client.make_qualified_table_name(MANIFEST_TABLE)}"
            f" WHERE _dlt_load_id IN ({_committed_loads(client)}) ORDER BY _dlt_load_id, read_at"
        )
    files, names_by_hash = {}, {}
    for row in rows:
        entry = ManifestEntry(*row)
        files[(entry.table_name, entry.source_file)] = entry  # ordered: the newest row wins
        if entry.content_hash:
            names_by_hash.setdefault((entry.table_name, entry.content_hash), entry.source_file)
    return Manifest(files, names_by_hash)


def column_types(pipeline: dlt.Pipeline, table: str) -> dict[str, str]:
    """dlt data types of a raw table's columns as loaded so far (not dlt's own columns)."""
    if not pipeline.default_schema_name or table not in pipeline.default_schema.tables:
        return {}
    columns = pipeline.default_schema.get_table_columns(table)
    return {
        name: column["data_type"]
        for name, column in columns.items()
        if column.get("data_type") and not name.startswith("_dlt")
    }


def newest_versions(pipeline: dlt.Pipeline, table: str, keys: list[str], sort_column: str, batch: pa.Table):
    """For the keys in `batch`, the `sort_column` value of the version already loaded (Arrow)."""
    with pipeline.sql_client() as client:
        have = _columns_of(client, table)
        if not have or sort_column not in have or not set(keys) <= have:
            return None
        connection = client.native_connection
        connection.register("_cdp_incoming_keys", batch.select(keys))
        key_list = ", ".join(f'"{key}"' for key in keys)
        try:
            return connection.execute(
                f'SELECT {key_list}, "{sort_column}" AS _loaded_version FROM {client.make_qualified_table_name(table)}'
                f" WHERE ({key_list}) IN (SELECT ({key_list}) FROM _cdp_incoming_keys)"
            ).to_arrow_table()
        finally:
            connection.unregister("_cdp_incoming_keys")


def remove_uncommitted_rows(pipeline: dlt.Pipeline) -> int:
    """Delete rows of loads that never committed from append tables and the bookkeeping tables."""
    removed = 0
    with pipeline.sql_client() as client:
        if not client.has_dataset() or not _has_table(client, "_dlt_loads"):
            return 0
        for table in _tables_with_load_ids(client):
            if _write_disposition(pipeline, table) == "merge":
                continue  # its files are merged again instead (see the module docstring)
            removed += _delete(
                client,
                f"DELETE FROM {client.make_qualified_table_name(table)}"
                f" WHERE _dlt_load_id NOT IN ({_committed_loads(client)})",
            )
    return removed


def remove_replaced_rows(pipeline: dlt.Pipeline, append_tables: list[str]) -> int:
    """Delete what the older versions of files read again in full had loaded (see the module docstring)."""
    removed = 0
    with pipeline.sql_client() as client:
        if not client.has_dataset() or not _columns_of(client, MANIFEST_TABLE) >= {"action"}:
            return 0
        manifest = client.make_qualified_table_name(MANIFEST_TABLE)
        base = (
            f"SELECT table_name, source_file, max(_dlt_load_id) AS base_load FROM {manifest}"
            f" WHERE action IN {FULL_READS} AND _dlt_load_id IN ({_committed_loads(client)}) GROUP BY ALL"
        )
        replaced = client.execute_sql(f"SELECT count(*) FROM {manifest} WHERE action = 'replaced'")[0][0]
        if not replaced:
            return 0
        for table in append_tables:
            if _columns_of(client, table) >= {"_source_file"}:
                removed += _delete(
                    client,
                    f"DELETE FROM {client.make_qualified_table_name(table)} AS t USING ({base}) AS b"
                    f" WHERE b.table_name = '{table}' AND t._source_file = b.source_file"
                    " AND t._dlt_load_id < b.base_load",
                )
        for bookkeeping in (QUARANTINE_TABLE, MANIFEST_TABLE):
            if _columns_of(client, bookkeeping):
                _delete(
                    client,
                    f"DELETE FROM {client.make_qualified_table_name(bookkeeping)} AS t USING ({base}) AS b"
                    " WHERE t.table_name = b.table_name AND t.source_file = b.source_file"
                    " AND t._dlt_load_id < b.base_load",
                )
    return removed


def _committed_loads(client) -> str:
    return f"SELECT load_id FROM {client.make_qualified_table_name('_dlt_loads')} WHERE status = 0"


def _delete(client, sql: str) -> int:
    result = client.execute_sql(sql + " RETURNING 1")
    return len(result or [])


def _has_table(client, table: str) -> bool:
    return bool(_columns_of(client, table))


def _columns_of(client, table: str) -> set[str]:
    try:
        rows = client.execute_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            client.dataset_name,
            table,
        )
    except DatabaseUndefinedRelation:
        return set()
    return {name for (name,) in rows}


def _tables_with_load_ids(client) -> list[str]:
    rows = client.execute_sql(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = %s AND column_name = '_dlt_load_id'"
        " AND table_name NOT LIKE '_dlt_%%'",
        client.dataset_name,
    )
    return [table for (table,) in rows]


def _write_disposition(pipeline: dlt.Pipeline, table: str) -> str | None:
    if not pipeline.default_schema_name or table not in pipeline.default_schema.tables:
        return None
    return pipeline.default_schema.tables[table].get("write_disposition")
