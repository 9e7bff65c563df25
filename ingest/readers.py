"""Read one source file into Arrow, split into good rows and quarantined rows.

Vectorised all the way: files are read by DuckDB (CSV, with its rejects tables) or
split into lines with numpy (JSONL) and parsed by DuckDB's JSON functions; declared
column types are checked with TRY_CAST in SQL. No per-row Python except for the
rows that go to quarantine.

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
from dataclasses import dataclass
from datetime import datetime, timezone

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401 (pa.compute)
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


@dataclass
class FileRead:
    good: pa.Table | None
    quarantine: pa.Table
    rows_in: int

    @property
    def rows_loaded(self) -> int:
        return self.good.num_rows if self.good is not None else 0

    @property
    def rows_quarantined(self) -> int:
        """Quarantined rows of the file (a file-level problem has no row and is not counted)."""
        return int(pa.compute.sum(self.quarantine["source_row"].is_valid()).as_py() or 0)


def new_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for parsing; UTC so timestamps come out as UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def quarantine_table(rows: list[dict], table_name: str) -> pa.Table:
    now = datetime.now(timezone.utc)
    return pa.Table.from_pylist(
        [{**row, "table_name": table_name, "quarantined_at": now} for row in rows], schema=QUARANTINE_SCHEMA
    )


def file_problem(source_file: str, table_name: str, reason: str) -> FileRead:
    """A file that yields no rows at all (empty, unreadable): recorded, with no row number."""
    log.warning("%s: %s", source_file, reason)
    row = {"source_file": source_file, "source_row": None, "field": None, "reason": reason, "raw_record": None}
    return FileRead(good=None, quarantine=quarantine_table([row], table_name), rows_in=0)


def read_file(
    con: duckdb.DuckDBPyConnection, data: bytes, source_file: str, table: str, spec: FileTable, local_path: str | None = None
) -> FileRead:
    """Parse `data` (the file's bytes) per `spec.format`; `local_path` lets DuckDB read a local file itself."""
    if not data or data.isspace():  # isspace stops at the first other byte: cheap on big files
        return file_problem(source_file, table, "empty file")
    if spec.format == "csv":
        result = _read_csv(con, data, source_file, table, spec, local_path)
    else:
        reader = {"jsonl": _read_jsonl, "parquet": _read_parquet}[spec.format]
        result = reader(con, data, source_file, table, spec)
    if result.good is not None:
        result.good = with_row_ids(result.good)
    return result


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


def _read_jsonl(con, data: bytes, source_file: str, table: str, spec: FileTable) -> FileRead:
    split = _split_lines(data)
    lines = pa.table({"_source_row": split.line_numbers, "line": split.lines}).filter(pa.array(~split.blank))
    rel = _temp_name("lines")
    con.register(rel + "_arrow", lines)
    try:  # fast path: the whole file is valid UTF-8
        _classify_json_lines(con, rel, "decode(line)")
    except duckdb.ConversionException:  # find the lines that are not, row by row (slower)
        _classify_json_lines(con, rel, "try(decode(line))")
    con.unregister(rel + "_arrow")
    bad_lines = con.execute(
        f"SELECT _source_row, error FROM {rel} WHERE error IS NOT NULL ORDER BY _source_row"
    ).fetchall()
    quarantined = [
        {"source_file": source_file, "source_row": row, "field": None, "reason": error, "raw_record": split.text_of(row)}
        for row, error in bad_lines
    ]
    columns = _json_keys(con, rel)
    # every value as text (json_transform to VARCHAR keeps nested values as JSON text)
    structure = _sql_string(json.dumps({c: "VARCHAR" for c in columns}))
    values = ", ".join(f"v[{_sql_string(c)}] AS {_ident(c)}" for c in columns)
    con.execute(
        f"""CREATE TEMP VIEW {rel}_records AS
            SELECT {_sql_string(source_file)} AS _source_file, _source_row, text AS _raw, {values}
            FROM (SELECT _source_row, text, json_transform(text, {structure}) AS v FROM {rel} WHERE error IS NULL)"""
    )
    rows_in = len(lines)
    good, bad = _check_types(con, f"{rel}_records", columns, spec, source_file, table)
    con.execute(f"DROP VIEW {rel}_records; DROP TABLE {rel}")
    return FileRead(good=good, quarantine=_concat_quarantine(quarantine_table(quarantined, table), bad), rows_in=rows_in)


def _classify_json_lines(con, rel: str, text_expression: str) -> None:
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {rel} AS
        SELECT _source_row, text,
               CASE WHEN text IS NULL THEN 'not valid UTF-8 (wrong encoding?)'
                    WHEN NOT json_valid(text) THEN 'malformed JSON'
                    WHEN json_type(text) <> 'OBJECT' THEN 'not a JSON object'
               END AS error
        FROM (SELECT _source_row, {text_expression} AS text FROM {rel}_arrow)
        """
    )


def _json_keys(con, rel: str) -> list[str]:
    """Every key seen in the file, in order of first appearance: new keys become new columns."""
    rows = con.execute(
        f"""SELECT key FROM (
                SELECT unnest(json_keys(text)) AS key, _source_row FROM {rel} WHERE error IS NULL
            ) GROUP BY key ORDER BY min(_source_row), key"""
    ).fetchall()
    return [key for (key,) in rows]


# -- CSV ---------------------------------------------------------------------


def _read_csv(con, data: bytes, source_file: str, table: str, spec: FileTable, local_path: str | None) -> FileRead:
    rel = _temp_name("csv")
    fs = None
    if local_path is None:  # remote file: hand DuckDB the bytes we already hold
        fs = _memory_fs(con)
        fs.pipe(f"/{rel}.csv", data)
    path = local_path or f"memory:///{rel}.csv"
    try:
        con.execute(
            f"""CREATE TEMP TABLE {rel} AS SELECT * FROM read_csv({_sql_string(path)}, header = true, all_varchar = true,
                    delim = ?, quote = '"', escape = '"', encoding = ?,
                    store_rejects = true, rejects_table = '{rel}_errors', rejects_scan = '{rel}_scans')""",
            [spec.delimiter, spec.encoding],
        )
        errors = con.execute(
            f"""SELECT line, any_value(column_name ORDER BY column_idx) AS field,
                       any_value(error_type || ': ' || error_message ORDER BY column_idx) AS reason
                FROM {rel}_errors GROUP BY line ORDER BY line"""
        ).fetchall()
    except duckdb.Error as error:
        return file_problem(source_file, table, f"cannot parse as CSV: {error}")
    finally:
        if fs is not None:
            fs.rm(f"/{rel}.csv")
        con.execute(f"DROP TABLE IF EXISTS {rel}_errors; DROP TABLE IF EXISTS {rel}_scans")
    columns = [name for (name,) in con.execute(f"SELECT name FROM pragma_table_info('{rel}') ORDER BY cid").fetchall()]
    good_rows = con.execute(f"SELECT count(*) FROM {rel}").fetchone()[0]
    split = _split_lines(data)
    data_lines = split.line_numbers[~split.blank][1:]  # the header is the first non-blank line
    rejected = np.array([line for line, _, _ in errors], dtype=np.int64)
    good_lines = data_lines[~np.isin(data_lines, rejected)]
    if len(good_lines) != good_rows:
        # quoted fields spanning lines: rows no longer map 1:1 to lines
        log.warning("%s: records span several lines; _source_row is the record number", source_file)
        good_lines = np.arange(1, good_rows + 1)
    quarantined = [
        {"source_file": source_file, "source_row": line, "field": field, "reason": reason, "raw_record": split.text_of(line)}
        for line, field, reason in errors
    ]
    # rows come out of read_csv in file order: pair them with their line numbers by position
    con.register(rel + "_lines", pa.table({"_source_row": pa.array(good_lines, pa.int64())}))
    raw = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in columns) + "))::VARCHAR"
    con.execute(
        f"""CREATE TEMP VIEW {rel}_records AS
            SELECT *, {_sql_string(source_file)} AS _source_file, {raw} AS _raw FROM {rel} POSITIONAL JOIN {rel}_lines"""
    )
    typed, bad = _check_types(con, f"{rel}_records", columns, spec, source_file, table)
    con.execute(f"DROP VIEW {rel}_records; DROP TABLE {rel}")
    con.unregister(rel + "_lines")
    return FileRead(
        good=typed,
        quarantine=_concat_quarantine(quarantine_table(quarantined, table), bad),
        rows_in=good_rows + len(errors),
    )


def _memory_fs(con):
    """fsspec's in-memory file system, registered once per connection, so DuckDB reads bytes we hold."""
    import fsspec

    fs = fsspec.filesystem("memory")
    if "memory" not in con.list_filesystems():
        con.register_filesystem(fs)
    return fs


# -- Parquet -----------------------------------------------------------------


def _read_parquet(con, data: bytes, source_file: str, table: str, spec: FileTable) -> FileRead:
    try:
        arrow = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as error:
        return file_problem(source_file, table, f"cannot read as Parquet: {error}")
    arrow = arrow.append_column("_source_row", pa.array(np.arange(1, arrow.num_rows + 1), pa.int64()))
    arrow = arrow.append_column("_source_file", pa.array([source_file] * arrow.num_rows, pa.string()))
    rel = _temp_name("parquet")
    con.register(rel + "_arrow", arrow)
    columns = [c for c in arrow.column_names if c not in ("_source_row", "_source_file")]
    raw = "to_json(struct_pack(" + ", ".join(f"{_ident(c)} := {_ident(c)}" for c in columns) + "))::VARCHAR"
    con.execute(f"CREATE TEMP VIEW {rel} AS SELECT *, {raw} AS _raw FROM {rel}_arrow")
    good, bad = _check_types(con, rel, columns, spec, source_file, table)
    con.execute(f"DROP VIEW {rel}")
    con.unregister(rel + "_arrow")
    return FileRead(good=good, quarantine=bad, rows_in=arrow.num_rows)


# -- types -------------------------------------------------------------------


def _check_types(con, relation: str, columns: list[str], spec: FileTable, source_file: str, table: str):
    """Cast declared columns; a row with a value that does not cast goes to quarantine, naming the field.

    Empty strings count as missing. Undeclared columns pass through unchanged (text from
    JSONL/CSV), so a new column evolves the table while declared types stay frozen.
    `relation` has the columns plus `_source_file`, `_source_row` and `_raw` (the row as read).
    """
    declared = {c: t for c, t in spec.columns.items() if c in columns and t != "text"}
    texts = {c: f"_text_{i}" for i, c in enumerate(declared)}  # the value as read, for the reason
    typed = ", ".join(
        f"try_cast({texts[c]} AS {SQL_TYPES[declared[c]]}) AS {_ident(c)}" if c in declared else _ident(c)
        for c in columns
    )
    as_read = "".join(f", nullif(trim({_ident(c)}::VARCHAR), '') AS {texts[c]}" for c in declared)
    first_bad = " ".join(
        f"WHEN {texts[c]} IS NOT NULL AND {_ident(c)} IS NULL THEN {_sql_string(c)}" for c in declared
    )
    checked = _temp_name("checked")
    selected = ", ".join([*map(_ident, columns), "_source_file", "_source_row"])
    if declared:
        text_columns = ", ".join(texts.values())
        con.execute(
            f"""CREATE TEMP TABLE {checked} AS
                SELECT * EXCLUDE ({text_columns}), CASE {first_bad} END AS _bad_field
                FROM (SELECT {typed}, _source_file, _source_row, {text_columns} FROM (SELECT {selected}{as_read} FROM {relation}))"""
        )
    else:
        con.execute(
            f"CREATE TEMP TABLE {checked} AS SELECT {typed}, _source_file, _source_row, NULL::VARCHAR AS _bad_field FROM {relation}"
        )
    good = con.execute(
        f"SELECT * EXCLUDE (_bad_field) FROM {checked} WHERE _bad_field IS NULL"
    ).to_arrow_table()
    bad = pa.table({f.name: pa.array([], f.type) for f in QUARANTINE_SCHEMA})
    if good.num_rows < con.execute(f"SELECT count(*) FROM {checked}").fetchone()[0]:
        bad_value = "CASE c._bad_field " + " ".join(
            f"WHEN {_sql_string(c)} THEN r.{_ident(c)}::VARCHAR" for c in declared
        ) + " END"
        bad_type = "CASE c._bad_field " + " ".join(
            f"WHEN {_sql_string(c)} THEN {_sql_string(t)}" for c, t in declared.items()
        ) + " END"
        bad = con.execute(
            f"""SELECT {_sql_string(source_file)} AS source_file, c._source_row AS source_row,
                       {_sql_string(table)} AS table_name, c._bad_field AS field,
                       'not a valid ' || {bad_type} || ': ' || coalesce({bad_value}, '') AS reason,
                       rtrim(r._raw::VARCHAR, chr(13) || chr(10)) AS raw_record, now() AS quarantined_at
                FROM {checked} AS c JOIN {relation} AS r USING (_source_row)
                WHERE c._bad_field IS NOT NULL ORDER BY c._source_row"""
        ).to_arrow_table()
    con.execute(f"DROP TABLE {checked}")
    return (good if good.num_rows else None), bad.cast(QUARANTINE_SCHEMA)


def _concat_quarantine(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables([t.cast(QUARANTINE_SCHEMA) for t in tables])


def _temp_name(prefix: str) -> str:
    return f"_ingest_{prefix}_{next(_names)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
