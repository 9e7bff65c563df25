"""The `files` kind: JSONL, CSV and Parquet files into raw_<source>, with a file manifest.

What it loads: every file matching each table's glob under the source's location
(a local folder or any fsspec URL), one dlt resource per table. Good rows land in
the table with `_source_file` and `_source_row`; bad rows land in `_quarantine`;
each file read is recorded in `_files` (the manifest), in the same load package as
its rows. Only manifest rows of committed loads count (`ingest.loaded`).

Which files are read: the content hash (sha256) decides; the size and modification
time recorded in the manifest only say when to compute it (a `touch` is hashed once,
and changes nothing). A file whose content is known under another name (renamed, or
delivered twice) is not loaded again. A JSONL or CSV file that only grew (its old
bytes unchanged, ending at a line break) loads its new lines, numbered as in the file.
Any other change reads the file again in full: in append tables its rows replace the
rows its earlier version loaded (deleted once the new load has committed); in merge
tables they merge again, the newest version of a key by its own `dedup_sort` winning
(`ingest.merge`).

Settings (ingest/sources.yml): `location`, and per table `format`, `files` (glob),
`columns` (declared types), `primary_key`, `write_disposition`, `dedup_sort`,
`delimiter`, `encoding`. A glob that matches nothing, and a declared column that no
file has, are notes in the summary (a typo shows the first night, not after a month).

Schema contract: tables and columns evolve (a new column in a file becomes a new
text column), data types are frozen (a value that does not fit its declared type, or
the type the table already has, is quarantined by the reader before dlt sees it;
dlt's contract backs this up).

Why our own readers and not dlt's `filesystem` readers: its `read_jsonl` and `read_csv`
yield Python dicts (line by line, or pandas chunks), and `read_csv_duckdb` and
`read_parquet` yield Arrow but none of them keeps line numbers, rejects a bad row
while loading its neighbours, or notices a missing header; ours parse a batch of files in
one vectorised DuckDB pass, keep file and line lineage on every row, and stay within
the ingest benchmark's 3x of DuckDB's own read (bench/results/ingest.md). Listing
files is fsspec, as dlt's is.

Run one source alone: `cdp ingest --source web`, or from Python
`ingest.runner.run_ingest(["web"])`.
"""

from __future__ import annotations

import hashlib
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
from ingest.loaded import (
    MANIFEST_TABLE,
    QUARANTINE_TABLE,
    Manifest,
    ManifestEntry,
    column_types,
    committed_manifest,
)
from ingest.merge import keep_newest
from ingest.readers import FileBytes, new_connection, read_batch, without_forgotten
from ingest.stats import SourceStats

log = logging.getLogger(__name__)

BATCH_BYTES = 128 * 2**20  # read up to this much per DuckDB pass (memory stays bounded)
BATCH_FILES = 500

MANIFEST_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("table_name", pa.string()),
        ("action", pa.string()),
        ("size_bytes", pa.int64()),
        ("modified_at", pa.string()),
        ("content_hash", pa.string()),
        ("read_from_byte", pa.int64()),
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
    modified_at: str | None  # as the file system reports it: with the size, says when to hash

    @property
    def local_path(self) -> str | None:
        return self.path if _is_local(self.fs) else None


@dataclass(frozen=True)
class PlannedRead:
    """One file to read now: what to hand the reader, and what the manifest records of it."""

    file: SourceFile
    action: str  # new, replaced (changed: read again in full), appended (grew: its new rows only)
    content: FileBytes
    content_hash: str
    read_from_byte: int = 0


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
            modified = info.get("mtime") or info.get("LastModified") or info.get("created")
            found.append(
                SourceFile(
                    fs,
                    path,
                    _display_name(fs, path, data_dir),
                    int(info["size"]),
                    None if modified is None else str(modified),
                )
            )
    return found


def files_source(
    name: str, spec: FilesSource, data_dir: Path, pipeline: dlt.Pipeline, stats: SourceStats, suppression=None
):
    """The dlt source for one `files` entry; what `pipeline` already holds decides what is read.

    `suppression` (cdp.privacy.suppression): rows of forgotten people are quarantined, not loaded.
    """
    location = location_of(name, spec, data_dir)
    tables = {table: list_files(location, table_spec.files, data_dir) for table, table_spec in spec.tables.items()}
    manifest = committed_manifest(pipeline)
    for table, files in tables.items():
        if not files:
            stats.table(table).note(f"no file matches {spec.tables[table].files!r} under {location}")

    @dlt.source(name=name, schema_contract=SCHEMA_CONTRACT)
    def source():
        return [
            _table_resource(table, spec.tables[table], files, manifest, pipeline, stats, suppression)
            for table, files in tables.items()
        ]

    return source()


def _table_resource(
    table: str, spec: FileTable, files: list[SourceFile], manifest: Manifest, pipeline: dlt.Pipeline, stats, suppression
):
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
        known_types = column_types(pipeline, table)
        seen_hashes: dict[str, str] = {}
        columns_seen: set[str] = set(known_types)
        to_check = [file for file in files if not _unchanged(manifest.entry(table, file.name), file)]
        table_stats.files_skipped += len(files) - len(to_check)
        for batch in _batches(to_check):
            reads, skipped = _plan(batch, table, spec, manifest, seen_hashes, table_stats)
            if skipped:
                yield with_hints(
                    _manifest_rows(skipped, table), _side_table_hints(MANIFEST_TABLE), create_table_variant=True
                )
            if not reads:
                continue
            result = read_batch(con, [read.content for read in reads], table, spec, known_types)
            result = without_forgotten(con, result, table, suppression)  # before merging: no version of theirs stays
            if spec.write_disposition == "merge" and spec.dedup_sort:
                result = keep_newest(con, result, pipeline, table, spec)
            table_stats.add(result)
            if result.good is not None:
                columns_seen.update(result.good.column_names)
                yield with_hints(result.good, data_hints, create_table_variant=True)
            if result.quarantine.num_rows:
                yield with_hints(result.quarantine, _side_table_hints(QUARANTINE_TABLE), create_table_variant=True)
            yield with_hints(
                _manifest_rows(reads, table, result), _side_table_hints(MANIFEST_TABLE), create_table_variant=True
            )
        con.close()
        for column in sorted(set(spec.columns) - columns_seen - {"_source_file", "_source_row"}):
            if to_check or not files:
                table_stats.note(f"declared column {column!r} is in no file read (a typo in sources.yml?)")

    return rows


def _unchanged(entry: ManifestEntry | None, file: SourceFile) -> bool:
    """Size and modification time as recorded: not even hashed. (A `touch` alone is hashed once.)"""
    if entry is None or entry.content_hash is None:  # recorded before hashes were: hashed once now
        return False
    return entry.size_bytes == file.size and entry.modified_at == file.modified_at


def _plan(batch: list[SourceFile], table: str, spec: FileTable, manifest: Manifest, seen_hashes, table_stats):
    """What to do with each file of a batch, decided by its content hash."""
    reads, skipped = [], []
    for file in batch:
        data = file.fs.cat_file(file.path)
        content_hash = hashlib.sha256(data).hexdigest()
        entry = manifest.entry(table, file.name)
        upgraded = entry is not None and entry.content_hash is None and entry.size_bytes == file.size
        if entry is not None and (entry.content_hash == content_hash or upgraded):  # (an upgrade: assume the same)
            skipped.append(_Skipped(file, "unchanged", content_hash))  # touched: record the new time only
            table_stats.files_skipped += 1
            continue
        same_content = manifest.name_with_content(table, content_hash) or seen_hashes.get(content_hash)
        if entry is None and same_content is not None:
            skipped.append(_Skipped(file, "duplicate", content_hash, f"same content as {same_content}, already loaded"))
            table_stats.files_skipped += 1
            table_stats.note(f"{file.name}: not loaded, same content as {same_content}")
            continue
        seen_hashes.setdefault(content_hash, file.name)
        reads.append(_read_of(file, data, content_hash, entry, spec))
        if reads[-1].action == "replaced":
            table_stats.note(f"{file.name}: changed since it was loaded; read again, its earlier rows replaced")
    return reads, skipped


def _read_of(file: SourceFile, data: bytes, content_hash: str, entry: ManifestEntry | None, spec: FileTable):
    if entry is None:
        return PlannedRead(file, "new", _content(file, data), content_hash)
    old = entry.size_bytes or 0
    grew = (
        spec.format in ("jsonl", "csv")
        and 0 < old < len(data)
        and data[old - 1 : old] == b"\n"
        and hashlib.sha256(data[:old]).hexdigest() == entry.content_hash
    )
    if not grew:
        return PlannedRead(file, "replaced", _content(file, data), content_hash)
    lines_before = data.count(b"\n", 0, old)
    if spec.format == "csv":  # the header, then the new lines: rows keep their line numbers
        header = data[: data.index(b"\n") + 1]
        content = FileBytes(file.name, header + data[old:], line_offset=lines_before - 1)
    else:
        content = FileBytes(file.name, data[old:], line_offset=lines_before)
    return PlannedRead(file, "appended", content, content_hash, read_from_byte=old)


def _content(file: SourceFile, data: bytes) -> FileBytes:
    return FileBytes(name=file.name, data=data, local_path=file.local_path)


@dataclass(frozen=True)
class _Skipped:
    file: SourceFile
    action: str  # unchanged (only touched), duplicate (the same content under another name)
    content_hash: str
    problem: str | None = None
    read_from_byte: int = 0  # nothing read


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


def _side_table_hints(table_name: str):
    """A bookkeeping table of the same dataset: always appended, no key."""
    return make_hints(table_name=table_name, write_disposition="append")


def _manifest_rows(entries, table: str, result=None) -> pa.Table:
    now = datetime.now(UTC)
    rows = []
    for entry in entries:
        counts = result.files[entry.file.name] if result is not None else None
        rows.append(
            {
                "source_file": entry.file.name,
                "table_name": table,
                "action": entry.action,
                "size_bytes": entry.file.size,
                "modified_at": entry.file.modified_at,
                "content_hash": entry.content_hash,
                "read_from_byte": entry.read_from_byte,
                "rows_in": counts.rows_in if counts else 0,
                "rows_loaded": counts.loaded if counts else 0,
                "rows_quarantined": counts.quarantined if counts else 0,
                "problem": counts.problem if counts else entry.problem,
                "read_at": now,
            }
        )
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
