"""Read a batch of source files into Arrow, split into good rows and quarantined rows.

Vectorised all the way, and one DuckDB pass per batch of files (not per file, so a
thousand small daily files cost about what one big file does): CSV is read by
DuckDB's read_csv with its rejects tables, JSONL is split into lines with numpy and
parsed by DuckDB's JSON functions, Parquet by pyarrow; declared column types are
checked with TRY_CAST in SQL. No per-row Python except for rows that go to quarantine.

Every good row gets `_source_file` and `_source_row` (the 1-based line number in the
file for JSONL and CSV, where the CSV header is line 1; the 1-based row for Parquet).
Every bad row becomes one quarantine row: `source_file`, `source_row`, `table_name`,
`field`, `reason`, `raw_record`, `quarantined_at`. So for every file:
rows in = good rows + quarantined rows.

Column names are dlt's snake_case of the file's own names (`column_names`): names that
collide after that (`Page_URL` and `PAGE_URL`) keep both values, the second under a
suffixed name, and a record's own field that clashes with lineage (`_source_file`,
`_dlt_id`, ...) loads as `record_<name>` instead of overwriting or being dropped. Types:
a declared column, or one the table already holds with a type other than text, is cast to
that type; a value that does not fit is a quarantined row, never a failed source. Files
compressed with gzip (by content) are read as their content.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import itertools
import logging
import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingest.config import FileTable

log = logging.getLogger(__name__)

SQL_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}
# dlt's data types of columns already loaded -> the type a later value is cast to (json: left as is)
DLT_SQL_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "decimal": "DECIMAL(38, 9)",
    "time": "TIME",
    "binary": "BLOB",
}
LINEAGE_COLUMNS = frozenset({"_source_file", "_source_row", "_dlt_id", "_dlt_load_id", "_cdp_deleted_at"})
_INTERNAL = frozenset({"_raw", "_path", "_file", "_bad_field", "_loaded_version"})
FORGOTTEN = "forgotten"  # the quarantine reason of a row of a person who asked to be forgotten (cdp forget)
_naming = NamingConvention()

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("table_name", pa.string()),
        ("field", pa.string()),
        ("reason", pa.string()),
        ("raw_record", pa.string()),
        ("quarantined_at", pa.timestamp("us", tz="UTC")),
    ]
)

_names = itertools.count()


@dataclass(frozen=True)
class FileBytes:
    name: str  # as recorded in _source_file
    data: bytes
    local_path: str | None = None  # lets DuckDB read a local file itself
    line_offset: int = 0  # added to every row number (a file that grew: only its new lines are here)


@dataclass
class FileCounts:
    rows_in: int = 0
    quarantined: int = 0
    problem: str | None = None  # the file as a whole: empty or unreadable

    @property
    def loaded(self) -> int:
        return self.rows_in - self.quarantined


@dataclass
class BatchRead:
    good: pa.Table | None
    quarantine: pa.Table
    files: dict[str, FileCounts] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # renamed columns and the like, for the summary


def new_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for parsing; UTC so timestamps come out as UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def quarantine_table(rows: list[dict], table_name: str) -> pa.Table:
    now = datetime.now(UTC)
    return pa.Table.from_pylist(
        [{**row, "table_name": table_name, "quarantined_at": now} for row in rows], schema=QUARANTINE_SCHEMA
    )


# -- forgotten people --------------------------------------------------------------


def split_forgotten(con, rows: pa.Table, table_name: str, suppression, *, source_file: str | None = None):
    """(which rows to keep, a bool array, or None when all; quarantine rows of the rest).

    The rest are rows of forgotten people (cdp.privacy.suppression): each quarantine row
    holds where it was and why (file, row, the column that matched, FORGOTTEN), never the
    row itself.
    """
    from cdp.privacy.suppression import forgotten_rows

    found = forgotten_rows(con, rows, suppression)
    if not found:
        return None, _empty_quarantine()
    files = rows["_source_file"].to_pylist() if "_source_file" in rows.column_names else [source_file] * rows.num_rows
    lines = rows["_source_row"].to_pylist() if "_source_row" in rows.column_names else [None] * rows.num_rows
    out = [_quarantine_row(files[i], lines[i], column, FORGOTTEN, None) for i, column in sorted(found.items())]
    keep = np.ones(rows.num_rows, dtype=bool)
    keep[list(found)] = False
    return keep, quarantine_table(out, table_name)


def without_forgotten(con, result: BatchRead, table_name: str, suppression) -> BatchRead:
    """`result` with forgotten people's rows moved to quarantine, and their quarantined rows emptied of them."""
    if suppression is None or suppression.empty:
        return result
    from cdp.privacy.suppression import forgotten_rows

    good, keep, moved = result.good, None, _empty_quarantine()
    if good is not None:
        keep, moved = split_forgotten(con, good, table_name, suppression)
        good = good if keep is None else good.filter(pa.array(keep))
    for name in moved["source_file"].to_pylist():
        result.files[name].quarantined += 1
    quarantine = result.quarantine
    found = forgotten_rows(con, quarantine.select(["raw_record", "reason"]), suppression, token_columns=["raw_record"])
    if found:  # quarantined for another reason: keep where and that it was forgotten, not what it held
        rows = quarantine.to_pylist()
        for index, column in found.items():
            rows[index].update(field=column, reason=FORGOTTEN, raw_record=None)
        quarantine = pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA)
    good = good if good is not None and good.num_rows else None
    return BatchRead(good, _concat_quarantine(quarantine, moved), result.files, result.notes)


@dataclass
class _Batch:
    """What every reader of one batch shares: the connection, the table's rules, the counts."""

    con: duckdb.DuckDBPyConnection
    table: str
    spec: FileTable
    targets: dict[str, tuple[str, str]]  # column -> (SQL type, its name in messages) values are cast to
    known_columns: set[str]  # the table's columns so far, declared ones included
    counts: dict[str, FileCounts]
    quarantined: list[dict] = field(default_factory=list)  # rows found by Python (file-level problems)
    notes: list[str] = field(default_factory=list)

    @property
    def primary_key(self) -> list[str]:
        return [_naming.normalize_identifier(key) for key in self.spec.primary_key]

    def problem(self, file: FileBytes, reason: str, *, keep_lines: bool = False, skip_header: bool = False) -> None:
        """The file as a whole is not loaded; with `keep_lines`, each of its lines is quarantined with the reason.

        `skip_header`: the first non-blank line is the file's header, not a row.
        """
        log.warning("%s: %s", file.name, reason)
        self.counts[file.name].problem = reason
        if not keep_lines:
            self.quarantined.append(_quarantine_row(file.name, None, None, reason, None))
            return
        split = _split_lines(file.data, file.line_offset)
        rows = split.line_numbers[~split.blank][1 if skip_header else 0 :]
        for line_number in rows:
            self.quarantined.append(
                _quarantine_row(file.name, int(line_number), None, reason, split.text_of(line_number))
            )
        self.counts[file.name].rows_in = len(rows)


def read_batch(
    con: duckdb.DuckDBPyConnection,
    files: list[FileBytes],
    table: str,
    spec: FileTable,
    known_types: dict[str, str] | None = None,
) -> BatchRead:
    """Parse `files` (all of one table) per `spec.format`; count rows in and quarantined per file.

    `known_types` are the dlt data types of the columns the table already has: a value of
    another type is cast to it, or quarantined when it does not fit (schema drift).
    """
    known_types = known_types or {}
    batch = _Batch(
        con=con,
        table=table,
        spec=spec,
        targets=_targets(spec, known_types),
        known_columns=(set(known_types) | {_naming.normalize_identifier(c) for c in spec.columns}) - LINEAGE_COLUMNS,
        counts={file.name: FileCounts() for file in files},
    )
    readable = []
    for file in files:
        file = _decompressed(file, batch)
        if file is None:
            continue
        if not file.data or file.data.isspace():  # isspace stops at the first other byte: cheap
            batch.problem(file, "empty file")
        else:
            readable.append(file)
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[spec.format]
    good, bad = reader(batch, readable) if readable else (None, _empty_quarantine())
    quarantine = _concat_quarantine(quarantine_table(batch.quarantined, table), bad)
    for name, quarantined in quarantine_count_per_file(quarantine).items():
        batch.counts[name].quarantined = quarantined
    if good is not None:
        good = with_row_ids(good)
    return BatchRead(good=good, quarantine=quarantine, files=batch.counts, notes=list(dict.fromkeys(batch.notes)))


def quarantine_count_per_file(quarantine: pa.Table) -> dict[str, int]:
    """Quarantined rows per file (file-level problems, without a row, are not rows)."""
    return dict(Counter(quarantine.filter(quarantine["source_row"].is_valid())["source_file"].to_pylist()))


def with_row_ids(arrow: pa.Table) -> pa.Table:
    """Add dlt's `_dlt_id` (unique row id) vectorised; dlt's own adds it one Python call per row."""
    ids = np.frombuffer(os.urandom(8 * arrow.num_rows), dtype=np.uint64)
    return arrow.append_column("_dlt_id", pa.compute.cast(pa.array(ids), pa.string()))


def column_names(keys: list[str], notes: list[str]) -> dict[str, str]:
    """The column each of a file's field names loads into: dlt's snake_case, never two fields in one column.

    A name that clashes with lineage or dlt's own columns gets `record_` in front; of fields that
    share a name after normalising (`Page_URL`, `PAGE_URL`), one already in snake_case (else the
    first) keeps it and each other is suffixed with a short hash of its own spelling (stable).
    """
    wanted = {}
    for key in keys:
        name = _naming.normalize_identifier(key) if key.strip() else "unnamed"
        if name in LINEAGE_COLUMNS or name in _INTERNAL or name.startswith(("_dlt", "_text_")):
            renamed = _naming.normalize_identifier("record" + name)
            notes.append(f"field {key!r} is a name cdp keeps for lineage: loaded as {renamed}")
            name = renamed
        wanted[key] = name
    order = {key: index for index, key in enumerate(keys)}
    final, taken = {}, {}
    for key in sorted(keys, key=lambda k: (wanted[k] != k, order[k])):
        name = wanted[key]
        if name in taken:
            suffixed = f"{name}_{hashlib.sha1(key.encode()).hexdigest()[:6]}"
            notes.append(
                f"fields {taken[name]!r} and {key!r} are both {name} in snake_case: {key!r} loads as {suffixed}"
            )
            name = suffixed
        taken[name] = key
        final[key] = name
    return final


def arrow_to_dlt_type(arrow_type: pa.DataType) -> str | None:
    """The dlt data type a column of this Arrow type lands as (for types seen earlier in the same run)."""
    checks = [
        (pa.types.is_string, "text"),
        (pa.types.is_large_string, "text"),
        (pa.types.is_integer, "bigint"),
        (pa.types.is_floating, "double"),
        (pa.types.is_boolean, "bool"),
        (pa.types.is_timestamp, "timestamp"),
        (pa.types.is_date, "date"),
    ]
    return next((name for check, name in checks if check(arrow_type)), None)


def _targets(spec: FileTable, known_types: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Declared types first (sources.yml), then the types the table already has."""
    targets = {column: (DLT_SQL_TYPES[t], t) for column, t in known_types.items() if t in DLT_SQL_TYPES}
    for column, declared in spec.columns.items():
        targets[_naming.normalize_identifier(column)] = (SQL_TYPES[declared], declared)
    return targets


def _decompressed(file: FileBytes, batch: _Batch) -> FileBytes | None:
    """A gzip file (by its content, whatever its name) is read as what it holds."""
    if file.data[:2] != b"\x1f\x8b":
        return file
    try:
        return FileBytes(file.name, gzip.decompress(file.data), line_offset=file.line_offset)
    except (OSError, EOFError, zlib.error) as error:
        batch.problem(file, f"gzip content that cannot be decompressed: {error}")
        return None


def _quarantine_row(source_file, source_row, field_name, reason, raw_record) -> dict:
    return {
        "source_file": source_file,
        "source_row": source_row,
        "field": field_name,
        "reason": reason,
        "raw_record": raw_record,
    }


# -- lines -------------------------------------------------------------------


@dataclass
class _Lines:
    """A file split at newlines, without copying: Arrow binary views into its bytes."""

    lines: pa.LargeBinaryArray  # each line including its newline
    line_numbers: np.ndarray  # 1-based (plus the file's line offset), same length
    blank: np.ndarray  # bool, line holds nothing but its line break
    offset: int = 0

    def text_of(self, line_number: int) -> str:
        raw = self.lines[int(line_number) - self.offset - 1].as_py()
        return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def _split_lines(data: bytes, offset: int = 0) -> _Lines:
    buffer = np.frombuffer(data, dtype=np.uint8)
    start = 3 if data[:3] == b"\xef\xbb\xbf" else 0  # UTF-8 byte order mark
    newlines = np.flatnonzero(buffer == 10)
    ends = newlines + 1
    if len(ends) == 0 or ends[-1] != len(buffer):
        ends = np.append(ends, len(buffer))
    offsets = np.concatenate([[start], ends]).astype(np.int64)
    lengths = np.diff(offsets)
    last_byte = buffer[np.maximum(offsets[1:] - 1, 0)]
    content = lengths - (last_byte == 10) - ((lengths >= 2) & (buffer[np.maximum(offsets[1:] - 2, 0)] == 13))
    lines = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    return _Lines(lines=lines, line_numbers=np.arange(1, len(lengths) + 1) + offset, blank=content <= 0, offset=offset)


# -- JSONL -------------------------------------------------------------------


def _read_jsonl(batch: _Batch, files: list[FileBytes]):
    con, table = batch.con, batch.table
    splits = {file.name: _split_lines(file.data, file.line_offset) for file in files}
    names = list(splits)
    chunks = []
    for index, (name, split) in enumerate(splits.items()):
        keep = pa.array(~split.blank)
        batch.counts[name].rows_in = int((~split.blank).sum())
        chunks.append(
            pa.table(
                {
                    "_file": pa.array(np.full(len(split.line_numbers), index, dtype=np.int32)),
                    "_source_row": split.line_numbers,
                    "line": split.lines,
                }
            ).filter(keep)
        )
    lines = pa.concat_tables(chunks)
    rel = _temp_name("lines")
    con.register(rel + "_arrow", lines)
    try:  # fast path: the whole batch is valid UTF-8
        _classify_json_lines(con, rel, "decode(line)", names)
    except duckdb.ConversionException:  # find the lines that are not, row by row (slower)
        _classify_json_lines(con, rel, "try(decode(line))", names)
    con.unregister(rel + "_arrow")
    bad_lines = con.execute(
        f"SELECT _source_file, _source_row, error FROM {rel} WHERE error IS NOT NULL ORDER BY _source_file, _source_row"
    ).fetchall()
    quarantined = [_quarantine_row(name, row, None, error, splits[name].text_of(row)) for name, row, error in bad_lines]
    keys = _json_keys(con, rel)
    good, bad = None, _empty_quarantine()
    if keys:  # else not one line holds a JSON object: every line is quarantined above
        columns = column_names(keys, batch.notes)
        # every value as text (nested values as JSON text); paths, not a struct: keys may differ only in case
        paths = "[" + ", ".join(_sql_string(_json_path(key)) for key in keys) + "]"
        values = ", ".join(f"v[{i}] AS {_ident(columns[key])}" for i, key in enumerate(keys, start=1))
        con.execute(
            f"""CREATE TEMP VIEW {rel}_records AS
                SELECT _source_file, _source_row, text AS _raw, {values}
                FROM (SELECT _source_file, _source_row, text, json_extract_string(text, {paths}) AS v
                      FROM {rel} WHERE error IS NULL)"""
        )
        good, bad = _check_types(batch, f"{rel}_records", list(columns.values()))
        con.execute(f"DROP VIEW {rel}_records")
    con.execute(f"DROP TABLE {rel}")
    return good, _concat_quarantine(quarantine_table(quarantined, table), bad)


def _json_path(key: str) -> str:
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _classify_json_lines(con, rel: str, text_expression: str, names: list[str]) -> None:
    file_names = "[" + ", ".join(map(_sql_string, names)) + "]"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {rel} AS
        SELECT _source_file, _source_row, text,
               CASE WHEN text IS NULL THEN 'not valid UTF-8 (wrong encoding?)'
                    WHEN NOT json_valid(text) THEN 'malformed JSON'
                    WHEN json_type(text) <> 'OBJECT' THEN 'not a JSON object'
               END AS error
        FROM (SELECT {file_names}[_file + 1] AS _source_file, _source_row, {text_expression} AS text FROM {rel}_arrow)
        """
    )


def _json_keys(con, rel: str) -> list[str]:
    """Every key seen in the batch, in order of first appearance: new keys become new columns."""
    rows = con.execute(
        f"""SELECT key FROM (
                SELECT unnest(json_keys(text)) AS key, rowid AS seen FROM {rel} WHERE error IS NULL
            ) GROUP BY key ORDER BY min(seen), key"""
    ).fetchall()
    return [key for (key,) in rows]


# -- CSV ---------------------------------------------------------------------


def _read_csv(batch: _Batch, files: list[FileBytes]):
    """Files with the same header are read in one read_csv call; a new header starts another.

    A header that cannot be this table's (no header, another delimiter, none of the table's
    columns) quarantines the file, line by line, instead of adding junk columns for good.
    """
    goods, bads = [], []
    by_header: dict[bytes, list[FileBytes]] = {}
    for file in files:
        by_header.setdefault(_first_line(file.data), []).append(file)
    for header, group in by_header.items():
        reason = _header_problem(header, batch)
        if reason:
            for file in group:
                batch.problem(file, reason, keep_lines=True, skip_header=not reason.startswith("no header"))
            continue
        good, bad = _read_csv_group(batch, group)
        bads.append(bad)
        if good is not None:
            goods.append(good)
    good = pa.concat_tables(goods, promote_options="permissive") if goods else None
    return good, _concat_quarantine(*bads)


_VALUE_LIKE = re.compile(
    r"[-+]?\d+([.,]\d+)?"  # a number
    r"|\d{4}-\d{2}-\d{2}.*"  # a date or timestamp
    r"|[^@\s]+@[^@\s]+\.\w+"  # an email address
    r"|\+?[\d ()-]{7,}"  # a phone number
)


def _header_problem(header: bytes, batch: _Batch) -> str | None:
    """Why the first line of a CSV cannot be the header of this table, or None."""
    spec = batch.spec
    if spec.encoding != "utf-8":
        return None
    text = header.decode("utf-8", errors="replace")
    fields = next(csv.reader([text], delimiter=spec.delimiter), [])
    if len(fields) <= 1:
        for other in (";", "\t", "|", ","):
            if other != spec.delimiter and other in text:
                return f"the header is one column; is the file separated by {other!r}? (this table's delimiter is {spec.delimiter!r})"
    values = [value for value in fields if _VALUE_LIKE.fullmatch(value.strip())]
    if values:
        return f"no header? the first line holds values, not column names (such as {values[0]!r})"
    names = {_naming.normalize_identifier(value) for value in fields if value.strip()}
    if batch.known_columns and not names & batch.known_columns:
        expected = ", ".join(sorted(batch.known_columns)[:6])
        return f"the header has none of the table's columns ({expected}, ...): another file's layout?"
    return None


def _read_csv_group(batch: _Batch, files: list[FileBytes]):
    con, table, spec = batch.con, batch.table, batch.spec
    rel = _temp_name("csv")
    fs = None
    paths = []
    for index, file in enumerate(files):
        if file.local_path and not _GLOB_CHARACTERS.search(file.local_path):
            paths.append(file.local_path)
        else:  # remote, decompressed or named like a glob: hand DuckDB the bytes we already hold
            fs = fs or _memory_fs(con)
            fs.pipe(f"/{rel}_{index}.csv", file.data)
            paths.append(f"memory:///{rel}_{index}.csv")
    try:
        errors = _read_csv_into(con, rel, paths, spec, strict=True)
    except duckdb.Error as error:
        con.execute(f"DROP TABLE IF EXISTS {rel}")
        if len(files) > 1:  # find the file that cannot be parsed: read them one by one
            _drop_memory_files(fs, rel, len(files))
            return _read_csv_one_by_one(batch, files)
        _drop_memory_files(fs, rel, len(files))
        parts = _split_at_unclosed_quote(files[0])
        if parts is None:
            batch.problem(files[0], f"cannot parse as CSV: {_first_line_of(error)}", keep_lines=True, skip_header=True)
            return None, _empty_quarantine()
        return _read_around_unclosed_quote(batch, *parts)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rel}_errors; DROP TABLE IF EXISTS {rel}_scans")
    _drop_memory_files(fs, rel, len(files))
    name_of = dict(zip(paths, (file.name for file in files), strict=True))
    good_per_path = dict(con.execute(f"SELECT _path, count(*) FROM {rel} GROUP BY _path").fetchall())
    by_path = dict(zip(paths, files, strict=True))
    layouts = {path: _CsvLayout.of(file.data) for path, file in by_path.items()}
    rejected: dict[str, list[int]] = {}
    quarantined = []
    for path, record_start, column, reason, raw in errors:
        file = by_path[path]
        line = int(layouts[path].lines_of([record_start])[0]) + file.line_offset
        rejected.setdefault(file.name, []).append(record_start)
        quarantined.append(_quarantine_row(file.name, line, column, reason, raw.rstrip("\r\n")))
    line_numbers = []
    for path, file in by_path.items():
        good_rows = good_per_path.get(path, 0)
        good_lines = layouts[path].good_record_lines(rejected.get(file.name, [])) + file.line_offset
        if len(good_lines) != good_rows:
            log.warning("%s: records do not match lines; _source_row is the record number", file.name)
            good_lines = np.arange(1, good_rows + 1)
        line_numbers.append(good_lines)
        batch.counts[file.name].rows_in = good_rows + len(rejected.get(file.name, []))
    # rows come out of read_csv in file order: pair them with their line numbers by position
    con.register(rel + "_lines", pa.table({"_source_row": pa.array(np.concatenate(line_numbers), pa.int64())}))
    header = [c for (c,) in con.execute(f"SELECT name FROM pragma_table_info('{rel}') ORDER BY cid").fetchall()]
    header.remove("_path")
    columns = column_names(header, batch.notes)
    names_map = "MAP {" + ", ".join(f"{_sql_string(p)}: {_sql_string(n)}" for p, n in name_of.items()) + "}"
    raw = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in header) + "))::VARCHAR"
    renamed = ", ".join(f"{_ident(c)} AS {_ident(columns[c])}" for c in header)
    con.execute(
        f"""CREATE TEMP VIEW {rel}_records AS
            SELECT {renamed}, {names_map}[_path] AS _source_file, _source_row, {raw} AS _raw
            FROM {rel} POSITIONAL JOIN {rel}_lines"""
    )
    good, bad = _check_types(batch, f"{rel}_records", list(columns.values()))
    con.execute(f"DROP VIEW {rel}_records; DROP TABLE {rel}")
    con.unregister(rel + "_lines")
    return good, _concat_quarantine(quarantine_table(quarantined, table), bad)


_GLOB_CHARACTERS = re.compile(r"[*?\[\]{}]")


def _read_csv_into(con, rel: str, paths: list[str], spec: FileTable, *, strict: bool) -> list[tuple]:
    """read_csv into temp table `rel`; returns the rejected records: (path, record start byte, column, reason, text)."""
    con.execute(f"DROP TABLE IF EXISTS {rel}_errors; DROP TABLE IF EXISTS {rel}_scans")
    con.execute(
        f"""CREATE TEMP TABLE {rel} AS SELECT * FROM read_csv([{", ".join(map(_sql_string, paths))}],
                header = true, all_varchar = true, filename = '_path',
                delim = ?, quote = '"', escape = '"', encoding = ?, strict_mode = {str(strict).lower()},
                store_rejects = true, rejects_table = '{rel}_errors', rejects_scan = '{rel}_scans')""",
        [spec.delimiter, spec.encoding],
    )
    return con.execute(
        f"""SELECT s.file_path, e.line_byte_position, any_value(e.column_name ORDER BY e.column_idx),
                   any_value(e.error_type || ': ' || e.error_message ORDER BY e.column_idx), any_value(e.csv_line)
            FROM {rel}_errors AS e JOIN {rel}_scans AS s USING (scan_id, file_id)
            GROUP BY ALL ORDER BY 1, 2"""
    ).fetchall()


@dataclass(frozen=True)
class _CsvLayout:
    """A CSV file's line breaks and record starts, found once with numpy, to number its rows by line."""

    newlines: np.ndarray  # byte offsets of every line break
    records: np.ndarray  # byte offsets where data records start (after the header; blank lines skipped)

    @classmethod
    def of(cls, data: bytes) -> _CsvLayout:
        buffer = np.frombuffer(data, dtype=np.uint8)
        newlines = np.flatnonzero(buffer == 10)
        quotes = np.flatnonzero(buffer == 34)
        outside = np.searchsorted(quotes, newlines) % 2 == 0  # an even number of quotes before it ends a record
        start = 3 if data[:3] == b"\xef\xbb\xbf" else 0
        starts = np.concatenate([[start], newlines[outside] + 1])
        starts = starts[starts < len(buffer)]
        first = buffer[starts]
        second = buffer[np.minimum(starts + 1, len(buffer) - 1)]
        blank = (first == 10) | ((first == 13) & (second == 10))
        return cls(newlines=newlines, records=starts[~blank][1:])  # the first record is the header

    def lines_of(self, positions) -> np.ndarray:
        """1-based line numbers of byte offsets."""
        return (np.searchsorted(self.newlines, np.asarray(positions)) + 1).astype(np.int64)

    def good_record_lines(self, rejected_starts: list[int]) -> np.ndarray:
        """Line numbers of the records DuckDB did not reject (a rejected start falls inside its record)."""
        keep = np.ones(len(self.records), dtype=bool)
        if rejected_starts and len(self.records):
            inside = np.searchsorted(self.records, np.asarray(rejected_starts), side="right") - 1
            keep[inside[inside >= 0]] = False
        return self.lines_of(self.records[keep])


def _line_at(data: bytes, position: int) -> int:
    """The 1-based line number of a byte offset."""
    return data.count(b"\n", 0, int(position)) + 1


def _drop_memory_files(fs, rel: str, count: int) -> None:
    if fs is not None:
        for index in range(count):
            if fs.exists(f"/{rel}_{index}.csv"):
                fs.rm(f"/{rel}_{index}.csv")


def _first_line_of(error: Exception) -> str:
    return str(error).strip().splitlines()[0]


def _split_at_unclosed_quote(file: FileBytes):
    """(the file before, the line whose quote never closes, its line number, the file after), or None.

    A quote left open runs to the end of the file, so DuckDB cannot even sniff it. Cut there:
    the records before it read as usual, that one line is quarantined, and the lines after it
    are read again as a file of their own (with the header), where later problems show too.
    """
    data = file.data
    buffer = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(buffer == 34)
    if len(quotes) % 2 == 0:
        return None
    newlines = np.flatnonzero(buffer == 10)
    outside = newlines[np.searchsorted(quotes, newlines) % 2 == 0]
    start = int(outside[outside < quotes[-1]][-1]) + 1 if (outside < quotes[-1]).any() else 0
    end = data.find(b"\n", start)
    if start == 0 or end < 0:
        return None  # the header itself, or the last line: nothing after it to save
    header = data[: data.index(b"\n") + 1]
    line = _line_at(data, start)
    before = FileBytes(file.name, data[:start], line_offset=file.line_offset)
    after = FileBytes(file.name, header + data[end + 1 :], line_offset=file.line_offset + line - 1)
    broken = data[start:end].rstrip(b"\r").decode("utf-8", errors="replace")
    return before, broken, line + file.line_offset, after


def _read_around_unclosed_quote(batch: _Batch, before: FileBytes, broken: str, line: int, after: FileBytes):
    counts = batch.counts[before.name]
    good, bad = _read_csv_group(batch, [before])
    rows_in = counts.rows_in
    broken_row = _quarantine_row(before.name, line, None, "unclosed quote: the quoted value never ends", broken)
    parts = [(good, bad), (None, quarantine_table([broken_row], batch.table))]
    if after.data.count(b"\n") > 1 or not after.data.endswith(b"\n"):
        parts.append(_read_csv_group(batch, [after]))
    counts.rows_in += rows_in + 1
    goods = [g for g, _ in parts if g is not None]
    good = pa.concat_tables(goods, promote_options="permissive") if goods else None
    return good, _concat_quarantine(*(b for _, b in parts))


def _read_csv_one_by_one(batch: _Batch, files: list[FileBytes]):
    results = [_read_csv_group(batch, [file]) for file in files]
    goods = [good for good, _ in results if good is not None]
    good = pa.concat_tables(goods, promote_options="permissive") if goods else None
    return good, _concat_quarantine(*(bad for _, bad in results))


def _first_line(data: bytes) -> bytes:
    return data.lstrip(b"\xef\xbb\xbf\r\n").split(b"\n", 1)[0].rstrip(b"\r")


def _memory_fs(con):
    """fsspec's in-memory file system, registered once per connection, so DuckDB reads bytes we hold."""
    import fsspec

    fs = fsspec.filesystem("memory")
    if "memory" not in con.list_filesystems():
        con.register_filesystem(fs)
    return fs


# -- Parquet -----------------------------------------------------------------


def _read_parquet(batch: _Batch, files: list[FileBytes]):
    """Each file's own types; a column whose type differs between files is read as text, then cast."""
    con = batch.con
    tables = {}
    for file in files:
        try:
            arrow = pq.read_table(pa.BufferReader(file.data))
        except (pa.ArrowException, OSError) as error:
            batch.problem(file, f"cannot read as Parquet: {error}")
            continue
        batch.counts[file.name].rows_in = arrow.num_rows
        columns = column_names(arrow.column_names, batch.notes)
        arrow = arrow.rename_columns([columns[c] for c in arrow.column_names])
        rows = pa.array(np.arange(1, arrow.num_rows + 1) + file.line_offset, pa.int64())
        arrow = arrow.append_column("_source_row", rows)
        tables[file.name] = arrow.append_column("_source_file", pa.array([file.name] * arrow.num_rows, pa.string()))
    if not tables:
        return None, _empty_quarantine()
    types: dict[str, set[pa.DataType]] = {}
    for arrow in tables.values():
        for column in arrow.schema:
            types.setdefault(column.name, set()).add(column.type)
    mixed = {name for name, seen in types.items() if len(seen) > 1}
    rel = _temp_name("parquet")
    selects = []
    for index, arrow in enumerate(tables.values()):
        con.register(f"{rel}_{index}", arrow)
        selected = ", ".join(
            f"{_ident(c)}::VARCHAR AS {_ident(c)}" if c in mixed else _ident(c) for c in arrow.column_names
        )
        selects.append(f"SELECT {selected} FROM {rel}_{index}")
    columns = [c for c in types if c not in ("_source_row", "_source_file")]
    raw = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in columns) + "))::VARCHAR"
    con.execute(f"CREATE TEMP VIEW {rel} AS SELECT *, {raw} AS _raw FROM ({' UNION ALL BY NAME '.join(selects)})")
    good, bad = _check_types(batch, rel, columns)
    con.execute(f"DROP VIEW {rel}")
    for index in range(len(tables)):
        con.unregister(f"{rel}_{index}")
    return good, bad


# -- types -------------------------------------------------------------------


def _check_types(batch: _Batch, relation: str, columns: list[str]):
    """Cast typed columns and require primary keys; a row that fails goes to quarantine, naming the field.

    Empty strings count as missing. A column with a declared type (sources.yml) or one the table
    already holds is cast to it; a value that does not fit is quarantined, so a changed type in a
    later file never blocks the source. Other columns pass through as read (text from JSONL/CSV),
    so a new column evolves the table. `relation` has the columns plus `_source_file`,
    `_source_row` and `_raw` (the row as read).
    """
    con, table = batch.con, batch.table
    read_types = {
        name: _TYPE_ALIASES.get(sql_type, sql_type)
        for name, sql_type in con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {relation})").fetchall()
    }
    targets = {c: batch.targets[c] for c in columns if c in batch.targets and read_types.get(c) != batch.targets[c][0]}
    as_text = {c for c, (sql_type, _) in targets.items() if sql_type == "VARCHAR"}  # any value fits text
    declared = {c: target for c, target in targets.items() if c not in as_text}
    texts = {c: f"_text_{i}" for i, c in enumerate(columns)}  # values as read, empty = missing

    def typed(c: str) -> str:
        if c in as_text:
            return f"{_ident(c)}::VARCHAR AS {_ident(c)}"
        if c in declared:
            return f"try_cast({texts[c]} AS {declared[c][0]}) AS {_ident(c)}"
        return _ident(c)

    # (field, condition on the checked row, reason): the first that holds names the row's problem
    checks = [
        (key, f"{texts[key]} IS NULL" if key in columns else "true", "'missing primary key value'")
        for key in batch.primary_key
    ] + [
        (c, f"{texts[c]} IS NOT NULL AND {_ident(c)} IS NULL", f"'not a valid {name}: ' || r.{_ident(c)}::VARCHAR")
        for c, (_, name) in declared.items()
    ]
    checked_columns = {c for c, _, _ in checks if c in columns}
    as_read = "".join(f", nullif(trim({_ident(c)}::VARCHAR), '') AS {texts[c]}" for c in checked_columns)
    text_columns = "".join(f", {texts[c]}" for c in checked_columns)
    first_bad = (
        "CASE " + " ".join(f"WHEN {condition} THEN {_sql_string(c)}" for c, condition, _ in checks) + " END"
        if checks
        else "NULL::VARCHAR"
    )
    exclude = f"EXCLUDE ({', '.join(texts[c] for c in checked_columns)})" if checked_columns else ""
    selected = ", ".join([*map(_ident, columns), "_source_file", "_source_row"])
    checked = _temp_name("checked")
    con.execute(
        f"""CREATE TEMP TABLE {checked} AS
            SELECT * {exclude}, {first_bad} AS _bad_field
            FROM (SELECT {", ".join(map(typed, columns))}, _source_file, _source_row{text_columns}
                  FROM (SELECT {selected}{as_read} FROM {relation}))"""
    )
    good = con.execute(f"SELECT * EXCLUDE (_bad_field) FROM {checked} WHERE _bad_field IS NULL").to_arrow_table()
    bad = _empty_quarantine()
    if good.num_rows < con.execute(f"SELECT count(*) FROM {checked}").fetchone()[0]:
        reason = "CASE c._bad_field " + " ".join(f"WHEN {_sql_string(c)} THEN {why}" for c, _, why in checks) + " END"
        bad = con.execute(
            f"""SELECT c._source_file AS source_file, c._source_row AS source_row,
                       {_sql_string(table)} AS table_name, c._bad_field AS field, {reason} AS reason,
                       rtrim(r._raw::VARCHAR, chr(13) || chr(10)) AS raw_record, now() AS quarantined_at
                FROM {checked} AS c JOIN {relation} AS r USING (_source_file, _source_row)
                WHERE c._bad_field IS NOT NULL ORDER BY c._source_file, c._source_row"""
        ).to_arrow_table()
    con.execute(f"DROP TABLE {checked}")
    return (good if good.num_rows else None), bad.cast(QUARANTINE_SCHEMA)


_TYPE_ALIASES = {"TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ", "DECIMAL(38,9)": "DECIMAL(38, 9)"}


def _empty_quarantine() -> pa.Table:
    return QUARANTINE_SCHEMA.empty_table()


def _concat_quarantine(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables([_empty_quarantine(), *(t.cast(QUARANTINE_SCHEMA) for t in tables)])


def _temp_name(prefix: str) -> str:
    return f"_ingest_{prefix}_{next(_names)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
