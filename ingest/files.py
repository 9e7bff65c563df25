"""The `files` kind: JSONL, CSV and Parquet files into raw_<source>, with a file manifest.

What it loads: every file matching each table's glob under the source's location
(a local folder or any fsspec URL), one dlt resource per table. Good rows land in
the table with `_source_file` and `_source_row`; bad rows land in `_quarantine`;
each file read is recorded in `_files` (the manifest), in the same load package as
its rows, so a file is skipped next time exactly when its rows are in the warehouse.

Settings (ingest/sources.yml): `location`, and per table `format`, `files` (glob),
`columns` (declared types), `primary_key`, `write_disposition`, `dedup_sort`,
`delimiter`, `encoding`.

Schema contract: tables and columns evolve (a new column in a file becomes a new
text column), data types are frozen (a value that does not fit its declared type is
quarantined by the reader before dlt sees it; dlt's contract backs this up).

Run one source alone: `cdp ingest --source web`, or from Python
`ingest.runner.run_ingest(["web"])`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dlt
import fsspec
import pyarrow as pa
from dlt.extract.hints import make_hints
from dlt.extract.resource import with_hints

from ingest.config import SCHEMA_CONTRACT, FilesSource, FileTable
from ingest.readers import FileBytes, new_connection, read_batch
from ingest.stats import SourceStats

log = logging.getLogger(__name__)

QUARANTINE_TABLE = "_quarantine"
MANIFEST_TABLE = "_files"
BATCH_BYTES = 128 * 2**20  # read up to this much per DuckDB pass (memory stays bounded)
BATCH_FILES = 500

MANIFEST_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("table_name", pa.string()),
        ("size_bytes", pa.int64()),
        ("rows_in", pa.int64()),
        ("rows_loaded", pa.int64()),
        ("rows_quarantined", pa.int64()),
        ("problem", pa.string()),
        ("read_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class SourceFile:
    fs: fsspec.AbstractFileSystem
    path: str
    name: str  # as recorded in _source_file / the manifest
    size: int

    @property
    def local_path(self) -> str | None:
        return self.path if _is_local(self.fs) else None


def location_of(name: str, spec: FilesSource, data_dir: Path) -> str:
    return (spec.location or f"{{data_dir}}/{name}").replace("{data_dir}", str(data_dir))


def list_files(location: str, pattern: str, data_dir: Path) -> list[SourceFile]:
    """Files matching `pattern` under `location`, sorted so days load in order.

    Raises FileNotFoundError when the location itself does not exist (the source
    cannot be read at all); no matching files is fine (nothing new yet).
    """
    fs, root = fsspec.core.url_to_fs(location)
    if not fs.isdir(root):
        raise FileNotFoundError(f"{location}: no such folder")
    found = []
    for path in sorted(fs.glob(f"{root.rstrip('/')}/{pattern}")):
        info = fs.info(path)
        if info["type"] == "file":
            found.append(SourceFile(fs, path, _display_name(fs, path, data_dir), int(info["size"])))
    return found


def files_source(
    name: str, spec: FilesSource, data_dir: Path, already_loaded: set[tuple[str, str]], stats: SourceStats
):
    """The dlt source for one `files` entry; `already_loaded` holds (table, source_file) pairs from the manifest."""
    location = location_of(name, spec, data_dir)
    tables = {table: list_files(location, table_spec.files, data_dir) for table, table_spec in spec.tables.items()}

    @dlt.source(name=name, schema_contract=SCHEMA_CONTRACT)
    def source():
        return [
            _table_resource(table, spec.tables[table], files, already_loaded, stats) for table, files in tables.items()
        ]

    return source()


def _table_resource(table: str, spec: FileTable, files: list[SourceFile], already_loaded, stats: SourceStats):
    # Every item goes out with its table's own hints (a "table variant"), so the data
    # table's key and merge settings never leak into _quarantine and _files.
    data_hints = make_hints(
        table_name=table,
        write_disposition=spec.dlt_write_disposition,
        primary_key=spec.primary_key,
        columns={spec.dedup_sort: {"name": spec.dedup_sort, "dedup_sort": "desc"}} if spec.dedup_sort else None,
    )

    @dlt.resource(name=table)
    def rows():
        con = new_connection()
        table_stats = stats.table(table)
        new_files = [file for file in files if (table, file.name) not in already_loaded]
        table_stats.files_skipped += len(files) - len(new_files)
        for batch in _batches(new_files):
            result = read_batch(con, [_fetch(file) for file in batch], table, spec)
            table_stats.add(result)
            if result.good is not None:
                yield with_hints(result.good, data_hints, create_table_variant=True)
            if result.quarantine.num_rows:
                yield with_hints(result.quarantine, _side_table_hints(QUARANTINE_TABLE), create_table_variant=True)
            yield with_hints(
                _manifest_rows(batch, table, result), _side_table_hints(MANIFEST_TABLE), create_table_variant=True
            )
        con.close()

    return rows


def _batches(files: list[SourceFile]):
    """Groups of files read in one DuckDB pass: many small daily files, or one big one, at a time."""
    batch, size = [], 0
    for file in files:
        if batch and (size + file.size > BATCH_BYTES or len(batch) >= BATCH_FILES):
            yield batch
            batch, size = [], 0
        batch.append(file)
        size += file.size
    if batch:
        yield batch


def _fetch(file: SourceFile) -> FileBytes:
    return FileBytes(name=file.name, data=file.fs.cat_file(file.path), local_path=file.local_path)


def _side_table_hints(table_name: str):
    """A bookkeeping table of the same dataset: always appended, no key."""
    return make_hints(table_name=table_name, write_disposition="append")


def _manifest_rows(files: list[SourceFile], table: str, result) -> pa.Table:
    now = datetime.now(UTC)
    rows = [
        {
            "source_file": file.name,
            "table_name": table,
            "size_bytes": file.size,
            "rows_in": result.files[file.name].rows_in,
            "rows_loaded": result.files[file.name].loaded,
            "rows_quarantined": result.files[file.name].quarantined,
            "problem": result.files[file.name].problem,
            "read_at": now,
        }
        for file in files
    ]
    return pa.Table.from_pylist(rows, schema=MANIFEST_SCHEMA)


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    return "file" in (fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,))


def _display_name(fs: fsspec.AbstractFileSystem, path: str, data_dir: Path) -> str:
    """Local files are named relative to the data dir (portable); remote ones by full URL."""
    if _is_local(fs):
        try:
            return Path(path).relative_to(data_dir).as_posix()
        except ValueError:
            return path
    return fs.unstrip_protocol(path)
