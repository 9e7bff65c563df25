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
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq

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


def read_batch(con: duckdb.DuckDBPyConnection, files: list[FileBytes], table: str, spec: FileTable) -> BatchRead:
    """Parse `files` (all of one table) per `spec.format`; count rows in and quarantined per file."""
    counts = {file.name: FileCounts() for file in files}
    problems = []

    def problem(name: str, reason: str) -> None:
        log.warning("%s: %s", name, reason)
        counts[name].problem = reason
        problems.append({"source_file": name, "source_row": None, "field": None, "reason": reason, "raw_record": None})

    readable = []
    for file in files:
        if not file.data or file.data.isspace():  # isspace stops at the first other byte: cheap
            problem(file.name, "empty file")
        else:
            readable.append(file)
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "parquet": _read_parquet}[spec.format]
    good, bad = reader(con, readable, table, spec, counts, problem) if readable else (None, _empty_quarantine())
    quarantine = _concat_quarantine(quarantine_table(problems, table), bad)
    rows = (
        quarantine.filter(quarantine["source_row"].is_valid())
        .group_by("source_file")
        .aggregate([("source_file", "count")])
    )
    for name, quarantined in zip(rows["source_file"].to_pylist(), rows["source_file_count"].to_pylist(), strict=True):
        counts[name].quarantined = quarantined
    if good is not None:
        good = with_row_ids(good)
    return BatchRead(good=good, quarantine=quarantine, files=counts)


def with_row_ids(arrow: pa.Table) -> pa.Table:
    """Add dlt's `_dlt_id` (unique row id) vectorised; dlt's own adds it one Python call per row."""
    ids = np.frombuffer(os.urandom(8 * arrow.num_rows), dtype=np.uint64)
    return arrow.append_column("_dlt_id", pa.compute.cast(pa.array(ids), pa.string()))


# -- lines -------------------------------------------------------------------


@dataclass
class _Lines:
    """A file split at newlines, without copying: Arrow binary views into its bytes."""

    lines: pa.LargeBinaryArray  # each line including its newline
    line_numbers: np.ndarray  # 1-based, same length
    blank: np.ndarray  # bool, line holds nothing but its line break

    def text_of(self, line_number: int) -> str:
        raw = self.lines[line_number - 1].as_py()
        return raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def _split_lines(data: bytes) -> _Lines:
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
    return _Lines(lines=lines, line_numbers=np.arange(1, len(lengths) + 1), blank=content <= 0)


# -- JSONL -------------------------------------------------------------------


def _read_jsonl(con, files: list[FileBytes], table: str, spec: FileTable, counts, problem):
    splits = {file.name: _split_lines(file.data) for file in files}
    names = list(splits)
    chunks = []
    for index, (name, split) in enumerate(splits.items()):
        keep = pa.array(~split.blank)
        counts[name].rows_in = int((~split.blank).sum())
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
    quarantined = [
        {
            "source_file": name,
            "source_row": row,
            "field": None,
            "reason": error,
            "raw_record": splits[name].text_of(row),
        }
        for name, row, error in bad_lines
    ]
    columns = _json_keys(con, rel)
    # every value as text (json_transform to VARCHAR keeps nested values as JSON text)
    structure = _sql_string(json.dumps(dict.fromkeys(columns, "VARCHAR")))
    values = ", ".join(f"v[{_sql_string(c)}] AS {_ident(c)}" for c in columns)
    con.execute(
        f"""CREATE TEMP VIEW {rel}_records AS
            SELECT _source_file, _source_row, text AS _raw, {values}
            FROM (SELECT _source_file, _source_row, text, json_transform(text, {structure}) AS v FROM {rel} WHERE error IS NULL)"""
    )
    good, bad = _check_types(con, f"{rel}_records", columns, spec, table)
    con.execute(f"DROP VIEW {rel}_records; DROP TABLE {rel}")
    return good, _concat_quarantine(quarantine_table(quarantined, table), bad)


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


def _read_csv(con, files: list[FileBytes], table: str, spec: FileTable, counts, problem):
    """Files with the same header are read in one read_csv call; a new header starts another."""
    goods, bads = [], []
    by_header: dict[bytes, list[FileBytes]] = {}
    for file in files:
        by_header.setdefault(_first_line(file.data), []).append(file)
    for group in by_header.values():
        good, bad = _read_csv_group(con, group, table, spec, counts, problem)
        bads.append(bad)
        if good is not None:
            goods.append(good)
    good = pa.concat_tables(goods, promote_options="permissive") if goods else None
    return good, _concat_quarantine(*bads)


def _read_csv_group(con, files: list[FileBytes], table: str, spec: FileTable, counts, problem):
    rel = _temp_name("csv")
    fs = None
    paths = []
    for index, file in enumerate(files):
        if file.local_path:
            paths.append(file.local_path)
        else:  # remote file: hand DuckDB the bytes we already hold
            fs = fs or _memory_fs(con)
            fs.pipe(f"/{rel}_{index}.csv", file.data)
            paths.append(f"memory:///{rel}_{index}.csv")
    try:
        con.execute(
            f"""CREATE TEMP TABLE {rel} AS SELECT * FROM read_csv([{", ".join(map(_sql_string, paths))}],
                    header = true, all_varchar = true, filename = '_path',
                    delim = ?, quote = '"', escape = '"', encoding = ?,
                    store_rejects = true, rejects_table = '{rel}_errors', rejects_scan = '{rel}_scans')""",
            [spec.delimiter, spec.encoding],
        )
        errors = con.execute(
            f"""SELECT s.file_path, e.line, any_value(e.column_name ORDER BY e.column_idx),
                       any_value(e.error_type || ': ' || e.error_message ORDER BY e.column_idx)
                FROM {rel}_errors AS e JOIN {rel}_scans AS s USING (scan_id, file_id)
                GROUP BY ALL ORDER BY 1, 2"""
        ).fetchall()
    except duckdb.Error as error:
        con.execute(f"DROP TABLE IF EXISTS {rel}")
        if len(files) > 1:  # find the file that cannot be parsed: read them one by one
            return _read_csv_one_by_one(con, files, table, spec, counts, problem)
        problem(files[0].name, f"cannot parse as CSV: {error}")
        return None, _empty_quarantine()
    finally:
        if fs is not None:
            for index in range(len(files)):
                if fs.exists(f"/{rel}_{index}.csv"):
                    fs.rm(f"/{rel}_{index}.csv")
        con.execute(f"DROP TABLE IF EXISTS {rel}_errors; DROP TABLE IF EXISTS {rel}_scans")
    name_of = dict(zip(paths, (file.name for file in files), strict=True))
    good_per_path = dict(con.execute(f"SELECT _path, count(*) FROM {rel} GROUP BY _path").fetchall())
    rejected: dict[str, list[int]] = {}
    quarantined = []
    splits = {file.name: _split_lines(file.data) for file in files}
    for path, line, column, reason in errors:
        name = name_of[path]
        rejected.setdefault(name, []).append(line)
        quarantined.append(
            {
                "source_file": name,
                "source_row": line,
                "field": column,
                "reason": reason,
                "raw_record": splits[name].text_of(line),
            }
        )
    line_numbers = []
    for path, file in zip(paths, files, strict=True):
        split, good_rows = splits[file.name], good_per_path.get(path, 0)
        data_lines = split.line_numbers[~split.blank][1:]  # the header is the first non-blank line
        good_lines = data_lines[~np.isin(data_lines, rejected.get(file.name, []))]
        if len(good_lines) != good_rows:
            # quoted fields spanning lines: rows no longer map 1:1 to lines
            log.warning("%s: records span several lines; _source_row is the record number", file.name)
            good_lines = np.arange(1, good_rows + 1)
        line_numbers.append(good_lines)
        counts[file.name].rows_in = good_rows + len(rejected.get(file.name, []))
    # rows come out of read_csv in file order: pair them with their line numbers by position
    con.register(rel + "_lines", pa.table({"_source_row": pa.array(np.concatenate(line_numbers), pa.int64())}))
    columns = [
        c
        for (c,) in con.execute(f"SELECT name FROM pragma_table_info('{rel}') ORDER BY cid").fetchall()
        if c != "_path"
    ]
    names_map = "MAP {" + ", ".join(f"{_sql_string(p)}: {_sql_string(n)}" for p, n in name_of.items()) + "}"
    raw = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in columns) + "))::VARCHAR"
    con.execute(
        f"""CREATE TEMP VIEW {rel}_records AS
            SELECT * EXCLUDE (_path), {names_map}[_path] AS _source_file, {raw} AS _raw
            FROM {rel} POSITIONAL JOIN {rel}_lines"""
    )
    good, bad = _check_types(con, f"{rel}_records", columns, spec, table)
    con.execute(f"DROP VIEW {rel}_records; DROP TABLE {rel}")
    con.unregister(rel + "_lines")
    return good, _concat_quarantine(quarantine_table(quarantined, table), bad)


def _read_csv_one_by_one(con, files, table, spec, counts, problem):
    results = [_read_csv_group(con, [file], table, spec, counts, problem) for file in files]
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


def _read_parquet(con, files: list[FileBytes], table: str, spec: FileTable, counts, problem):
    tables = []
    for file in files:
        try:
            arrow = pq.read_table(pa.BufferReader(file.data))
        except (pa.ArrowException, OSError) as error:
            problem(file.name, f"cannot read as Parquet: {error}")
            continue
        counts[file.name].rows_in = arrow.num_rows
        arrow = arrow.append_column("_source_row", pa.array(np.arange(1, arrow.num_rows + 1), pa.int64()))
        tables.append(arrow.append_column("_source_file", pa.array([file.name] * arrow.num_rows, pa.string())))
    if not tables:
        return None, _empty_quarantine()
    arrow = pa.concat_tables(tables, promote_options="permissive")
    rel = _temp_name("parquet")
    con.register(rel + "_arrow", arrow)
    columns = [c for c in arrow.column_names if c not in ("_source_row", "_source_file")]
    raw = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in columns) + "))::VARCHAR"
    con.execute(f"CREATE TEMP VIEW {rel} AS SELECT *, {raw} AS _raw FROM {rel}_arrow")
    good, bad = _check_types(con, rel, columns, spec, table)
    con.execute(f"DROP VIEW {rel}")
    con.unregister(rel + "_arrow")
    return good, bad


# -- types -------------------------------------------------------------------


def _check_types(con, relation: str, columns: list[str], spec: FileTable, table: str):
    """Cast declared columns and require primary keys; a row that fails goes to quarantine, naming the field.

    Empty strings count as missing. Undeclared columns pass through unchanged (text from
    JSONL/CSV), so a new column evolves the table while declared types stay frozen.
    `relation` has the columns plus `_source_file`, `_source_row` and `_raw` (the row as read).
    """
    declared = {c: t for c, t in spec.columns.items() if c in columns and t != "text"}
    texts = {c: f"_text_{i}" for i, c in enumerate(columns)}  # values as read, empty = missing
    typed = ", ".join(
        f"try_cast({texts[c]} AS {SQL_TYPES[declared[c]]}) AS {_ident(c)}" if c in declared else _ident(c)
        for c in columns
    )
    # (field, condition on the checked row, reason): the first that holds names the row's problem
    checks = [
        (key, f"{texts[key]} IS NULL" if key in columns else "true", "'missing primary key value'")
        for key in spec.primary_key
    ] + [
        (c, f"{texts[c]} IS NOT NULL AND {_ident(c)} IS NULL", f"'not a valid {t}: ' || r.{_ident(c)}::VARCHAR")
        for c, t in declared.items()
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
            FROM (SELECT {typed}, _source_file, _source_row{text_columns} FROM (SELECT {selected}{as_read} FROM {relation}))"""
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


def _empty_quarantine() -> pa.Table:
    return QUARANTINE_SCHEMA.empty_table()


def _concat_quarantine(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables([t.cast(QUARANTINE_SCHEMA) for t in tables])


def _temp_name(prefix: str) -> str:
    return f"_ingest_{prefix}_{next(_names)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
