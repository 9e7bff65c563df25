"""The `sql_database` kind: tables of any SQLAlchemy database into raw_<source>.

What it loads: each table listed under the source, read with dlt's sql_database
source (`sql_table`, pyarrow backend: rows arrive as Arrow batches, not per-row dicts),
with column types reflected from the database, incremental on its cursor column
(`updated_at`) and merged on its primary key (a changed row replaces the old one).
The cursor and everything else this module remembers live in dlt's resource state,
committed in the same load package as the rows, so a crashed run resumes from the
last committed state.

Settings (ingest/sources.yml): `url` (SQLAlchemy URL; `{data_dir}` is replaced, the
demo shop is `sqlite:///{data_dir}/shop/shop.sqlite`; SQLite waits `?timeout=` seconds
for a lock, 5 by default), and per table `primary_key`, `cursor`, `write_disposition`,
`lag_seconds`, `full_scan_every_days` (ingest/config.py `SqlTable`).

Rows in = rows loaded + rows quarantined, per table, however the source misbehaves:

- Late updates: dlt's own `lag` (`lag_seconds`, default one day; days for a date cursor).
  Each run re-reads the rows whose cursor is up to a day below the highest one loaded,
  so a row committed late with an older `updated_at` (a long transaction, a clock a
  little behind, a batch job that stamps the business date) is still loaded. With a lag
  dlt switches its own boundary de-duplication off, so re-read rows would load again
  (append tables: duplicates; merge tables: a summary counting them as loaded every run).
  So every loaded row carries `_cdp_row_hash` (md5 of its values), and a re-read row whose
  hash a live raw row already has is dropped before it is loaded. A day because re-reading
  is cheap (the rows are hashed and dropped, not loaded) and a late update is rarer than
  it is costly; anything later still is caught by the full scan.
- NULL cursors: `on_cursor_value_missing="include"`. dlt then adds `OR updated_at IS NULL`
  to its query on later runs, so such rows are read on every run; the row hash drops the
  unchanged ones, a changed one loads (merged again on its key). Never excluded, and the
  first load no longer fails with "Cursor element ... None".
- Deleted rows (merge tables with a primary key): every `full_scan_every_days` (UTC days,
  default 7; the time of the last one in the resource state) a run reads the whole table
  instead of the cursor's window (dlt's incremental is left out of that run; its cursor
  state stays as it was). The hash drops unchanged rows, so it loads exactly what the
  cursor missed. The keys it saw are compared with the live raw rows: a raw row whose key
  is gone is loaded again, as it was, with `_cdp_deleted_at` set to the time of the scan;
  a key that comes back loads its row again (its hash is no longer live), which clears the
  mark. The marks are rows of the same load package as the state, so a crash cannot leave
  half of them. A table without a cursor is read whole every run, and so scanned every run.
- A value of another type (`price='n/a'` in a SQLite REAL column: SQLite types are only
  affinities): dlt's Arrow conversion fails for the whole batch, so the loader catches that
  per batch and only then checks that batch column by column, value by value: a row with a
  value its reflected column type cannot hold goes to raw_<source>._quarantine (the files'
  schema: `ingest.readers.QUARANTINE_SCHEMA`; `table_name`, `field`, `reason`, the row with
  its key in `raw_record`, `source_file` = the database URL, `source_row` NULL: a SQL row has
  no line number), the batch's good rows load.
  A row already quarantined with the same record and reason is not quarantined again (re-read
  by the lag or a scan). Column types come from reflection (`reflection_level="full"`), so
  the type of a column is the database's, not whatever the first batch happened to hold;
  SQLAlchemy 2.1 no longer makes Float a Numeric, which dlt 1.31 needs to see REAL/FLOAT
  as double, hence `_reflected_type`.
- A database that cannot be read (locked, wrong URL) or a table or key/cursor column that
  is not there: `SqlSourceError` (a ValueError) from a check before anything is read (connect,
  SQLAlchemy's inspector), or from the read itself (then wrapped in dlt's extract failure), one
  line naming the database, table and reason; a SQLite file that is not there: FileNotFoundError.

`sql_source(..., pipeline=, stats=)`: given the run's `SourceStats`, it counts the rows it
quarantines per table (one problem line per field and kind of value, naming the keys) and
notes the rows it marked deleted; the rows loaded are dlt's normalize counts, as before.

Our own code (not dlt's) is: the row hash (dlt has no "skip rows the destination already
holds"), the deletion marks (dlt's scd2 retires absent rows but changes what a raw table
is), and the per-value quarantine (dlt's conversion is all-or-nothing per batch).
Reading the warehouse during extract goes through the pipeline's own sql_client.

Run it alone: `cdp ingest --source shop`.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa
from dlt.common.time import detect_datetime_format
from dlt.extract.hints import make_hints
from dlt.extract.incremental.lag import DATE_STR_FORMATS
from dlt.extract.items_transform import YieldMapItem
from dlt.extract.resource import with_hints
from dlt.sources.sql_database import TableLoader, sql_table
from dlt.sources.sql_database.arrow_helpers import row_tuples_to_arrow

from ingest.config import SCHEMA_CONTRACT, SqlSource, SqlTable
from ingest.readers import new_connection, quarantine_table, with_row_ids

log = logging.getLogger(__name__)

QUARANTINE_TABLE = "_quarantine"
ROW_HASH = "_cdp_row_hash"
DELETED_AT = "_cdp_deleted_at"
TIMESTAMP = pa.timestamp("us", tz="UTC")
STATE_KEY = "cdp"  # our part of each table's dlt resource state

_names = itertools.count()

# A table variant starts from the resource's hints: drop the data table's columns and key.
_QUARANTINE_HINTS = make_hints(table_name=QUARANTINE_TABLE, write_disposition="append", columns={}, primary_key=[])


class SqlSourceError(ValueError):
    """A SQL source (or one of its tables) that cannot be read; the message says which and why."""


def _now() -> datetime:
    return datetime.now(UTC)


def sql_source(name: str, spec: SqlSource, data_dir: Path, *, pipeline: dlt.Pipeline | None = None, stats=None):
    """The dlt source for one `sql_database` entry.

    `pipeline` (default: the active one) is where the raw tables and the state live;
    `stats` (an `ingest.stats.SourceStats`), when given, counts the rows quarantined per table.
    Raises SqlSourceError (a ValueError) or FileNotFoundError when the source cannot be read.
    """
    url = spec.url.replace("{data_dir}", str(data_dir))
    _check_sqlite_file(url)
    where = _display_url(url)
    columns = _check_tables(url, where, spec)
    pipeline = pipeline or dlt.current.pipeline()
    resources = [
        _table(url, where, name, table, table_spec, columns[table], pipeline, stats)
        for table, table_spec in spec.tables.items()
    ]

    @dlt.source(name=name, schema_contract=SCHEMA_CONTRACT)
    def source():
        return resources

    return source()


# -- one table ----------------------------------------------------------------


@dataclass
class _Table:
    """One table's settings, and what its loader hands to the step after dlt's incremental."""

    name: str
    spec: SqlTable
    where: str  # the database, for messages and quarantine rows
    pipeline: dlt.Pipeline | None
    stats: Any
    pending: list = field(default_factory=list)  # (kind, Arrow table) to emit after the incremental

    @property
    def marks_deletions(self) -> bool:
        return (
            self.spec.write_disposition == "merge"
            and bool(self.spec.primary_key)
            and self.spec.full_scan_every_days > 0
        )

    def emit(self, item):
        """After dlt's incremental: the rows (with row ids), then what the loader set aside for this point.

        Quarantine rows and deletion marks are not rows of the cursor's window, so they must
        not pass through the incremental (it would filter or fail on them).
        """
        if not isinstance(item, pa.Table):  # e.g. dlt's empty list that only carries hints
            yield item
        elif item.num_rows:
            if self.marks_deletions:
                item = item.append_column(DELETED_AT, pa.nulls(item.num_rows, TIMESTAMP))
            yield with_row_ids(item)
        while self.pending:
            kind, table = self.pending.pop(0)
            if kind == "quarantine":
                yield with_hints(table, _QUARANTINE_HINTS, create_table_variant=True)
            else:
                yield with_row_ids(table)

    def quarantined(self, rows: list[dict]) -> None:
        """Set quarantine rows aside for `emit`, and count them (one summary line per field and kind of value)."""
        self.pending.append(("quarantine", quarantine_table(rows, self.name)))  # takes the schema's keys only
        if self.stats is None:
            return
        table_stats = self.stats.table(self.name)
        table_stats.quarantined += len(rows)
        for row in rows:
            record = json.loads(row["raw_record"])
            key = ", ".join(str(record.get(k)) for k in self.spec.primary_key) or "?"
            table_stats.problems.setdefault((f"{self.where} {self.name}", row["kind"]), []).append(key)

    def marked_deleted(self, rows: pa.Table) -> None:
        self.pending.append(("rows", rows))
        log.info("%s: %d rows gone from the source, marked %s", self.name, rows.num_rows, DELETED_AT)
        if self.stats is not None:
            count = f"{rows.num_rows} row{'' if rows.num_rows == 1 else 's'}"
            self.stats.table(self.name).note(f"{count} gone from the source: kept in raw, marked {DELETED_AT}")


def _table(url: str, where: str, source: str, table: str, spec: SqlTable, columns: dict, pipeline, stats):
    plan = _Table(table, spec, where, pipeline, stats)
    state = _stored_state(pipeline, source, table)
    last_value = state.get("incremental", {}).get(spec.cursor, {}).get("last_value") if spec.cursor else None
    # A due full scan reads the whole table without dlt's incremental (its cursor state stays);
    # with no cursor value yet the incremental reads the whole table anyway and starts the cursor.
    full_scan = last_value is not None and _full_scan_due(spec, state)
    incremental = None
    if spec.cursor and not full_scan:
        incremental = dlt.sources.incremental(
            spec.cursor,
            on_cursor_value_missing="include",
            lag=_dlt_lag(table, spec, columns[spec.cursor], last_value),
        )
    loader = type(f"_Loader_{table}", (_Loader,), {"plan": plan})
    try:
        resource = sql_table(
            credentials=url,
            table=table,
            backend="pyarrow",
            incremental=incremental,
            write_disposition=spec.dlt_write_disposition,
            primary_key=spec.primary_key or None,
            reflection_level="full",  # column types are the database's: a value that does not fit is quarantined
            type_adapter_callback=_reflected_type,
            table_loader_class=loader,
        )
    except sa.exc.SQLAlchemyError as error:
        raise SqlSourceError(f"{where}: table {table}: cannot read it: {_reason(error)}") from error
    return resource.add_step(_AfterIncremental(plan.emit))


class _AfterIncremental(YieldMapItem):
    """A yield-map step that runs after dlt's incremental step (affinity 1), before `add_limit` (1.1)."""

    placement_affinity: ClassVar[float] = 1.05


def _reflected_type(sql_type):
    """Float / REAL / DOUBLE as dlt's double: SQLAlchemy 2.1's Float is no longer a Numeric, which dlt checks."""
    if isinstance(sql_type, sa.Float) and not isinstance(sql_type, sa.Numeric):
        return sa.Numeric(asdecimal=bool(sql_type.asdecimal))
    return sql_type


def _dlt_lag(table: str, spec: SqlTable, cursor_type, last_value) -> float | None:
    """`lag_seconds` in the unit dlt applies to this cursor: days for dates, seconds (or the number) else."""
    if not spec.lag_seconds:
        return None
    text_format = detect_datetime_format(last_value) if isinstance(last_value, str) else None
    if isinstance(last_value, str) and text_format is None:
        log.warning("%s: cursor %s holds text that is not a date or time (%r): no lag", table, spec.cursor, last_value)
        return None
    is_date = isinstance(cursor_type, sa.Date) and not isinstance(cursor_type, sa.DateTime)
    if is_date or text_format in DATE_STR_FORMATS or (type(last_value) is date):
        return math.ceil(spec.lag_seconds / 86400)
    return spec.lag_seconds


def _stored_state(pipeline, source: str, table: str) -> dict:
    """The table's resource state as the pipeline holds it now (read-only; before the run)."""
    if pipeline is None:
        return {}
    return pipeline.state.get("sources", {}).get(source, {}).get("resources", {}).get(table, {})


def _full_scan_due(spec: SqlTable, state: dict) -> bool:
    if not spec.full_scan_every_days:
        return False
    last = state.get(STATE_KEY, {}).get("last_full_scan")
    if last is None:
        return True
    return (_now().date() - datetime.fromisoformat(last).date()).days >= spec.full_scan_every_days


# -- the loader -----------------------------------------------------------------


class _Loader(TableLoader):
    """dlt's table loader, plus: per-value quarantine, skipping rows raw holds, deletion marks."""

    plan: ClassVar[_Table]

    def load_rows(self, backend_kwargs: dict | None = None):
        plan = self.plan
        tz = (backend_kwargs or {}).get("tz", "UTC")
        started = _now()
        whole_table = self.incremental is None or (self.last_value is None and self.end_value is None)
        seen_keys = [] if whole_table and plan.marks_deletions else None
        hashes = new_connection()
        try:
            with _raw_tables(plan) as raw, self.engine.connect() as conn:
                result = conn.execution_options(yield_per=self.chunk_size).execute(self.make_query())
                names = list(result.keys())
                columns = {name: self.columns.get(name, {"name": name}) for name in names}
                empty = row_tuples_to_arrow([], columns=columns, tz=tz)
                for partition in result.partitions(size=self.chunk_size):
                    rows = [row._data for row in partition]
                    good, bad = _to_arrow(rows, columns, tz)
                    if seen_keys is not None:
                        seen_keys.append(_keys(good, bad, plan.spec.primary_key, empty.schema))
                    good = good.append_column(ROW_HASH, _row_hashes(hashes, good, names))
                    good = good.filter(raw.unknown(good[ROW_HASH]))
                    quarantine = raw.new_quarantine(
                        [{"source_file": plan.where, "source_row": None, **entry} for entry in bad], plan.name
                    )
                    if quarantine:
                        plan.quarantined(quarantine)
                    if good.num_rows:
                        yield good
                if seen_keys is not None:
                    deleted = raw.deleted_rows(seen_keys, plan.spec.primary_key, started)
                    if deleted is not None and deleted.num_rows:
                        plan.marked_deleted(deleted)
                result.close()
        except sa.exc.SQLAlchemyError as error:
            raise SqlSourceError(f"{plan.where}: table {plan.name}: cannot read it: {_reason(error)}") from error
        finally:
            hashes.close()
        if whole_table:
            dlt.current.resource_state().setdefault(STATE_KEY, {})["last_full_scan"] = started.isoformat()
        if plan.pending:  # an empty batch carries what was set aside past the incremental
            yield empty.append_column(ROW_HASH, pa.array([], pa.string()))


def _to_arrow(rows: list[tuple], columns: dict, tz: str) -> tuple[pa.Table, list[dict]]:
    """The rows as Arrow, and the rows that cannot be (a value the column's type cannot hold).

    dlt converts a batch in one go; only when that fails is the batch checked column by
    column, and only a failing column value by value.
    """
    try:
        return row_tuples_to_arrow(rows, columns=columns, tz=tz), []
    except Exception as batch_error:  # re-raised below unless a value that does not fit explains it
        bad: dict[int, dict] = {}
        with _quiet_dlt():  # dlt warns about each failed conversion; these are expected
            for position, (name, column) in enumerate(columns.items()):
                values = [row[position] for row in rows]
                if _fits(values, name, column, tz):
                    continue
                for index, value in enumerate(values):
                    if index not in bad and not _fits([value], name, column, tz):
                        kind = f"not a {column.get('data_type', 'value')}"
                        bad[index] = {"field": name, "reason": f"{value!r} is {kind}", "kind": f"{name}: {kind}"}
        if not bad:
            raise batch_error
        good = row_tuples_to_arrow([row for i, row in enumerate(rows) if i not in bad], columns=columns, tz=tz)
        names = list(columns)
        quarantined = [{**entry, "raw_record": _record(names, rows[index])} for index, entry in sorted(bad.items())]
        return good, quarantined


@contextmanager
def _quiet_dlt():
    dlt_log = logging.getLogger("dlt")
    level = dlt_log.level
    dlt_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        dlt_log.setLevel(level)


def _fits(values: list, name: str, column: dict, tz: str) -> bool:
    try:
        row_tuples_to_arrow([(value,) for value in values], columns={name: column}, tz=tz)
        return True
    except Exception:  # any failure to convert means: does not fit
        return False


def _record(names: list[str], row: tuple) -> str:
    """A source row as JSON text (keys sorted, so the same row is always the same text)."""
    return json.dumps(dict(zip(names, row, strict=True)), sort_keys=True, default=str, ensure_ascii=False)


def _row_hashes(con, rows: pa.Table, names: list[str]) -> pa.Array:
    """md5 of each row's values (as JSON, column by name), computed by DuckDB."""
    relation = f"_rows_{next(_names)}"
    con.register(relation, rows)
    try:
        fields = ", ".join(f"{_quote(name)} := {_quote(name)}" for name in names)
        hashed = con.execute(
            f"SELECT md5(CAST(to_json(struct_pack({fields})) AS VARCHAR)) FROM {relation}"
        ).to_arrow_table()
    finally:
        con.unregister(relation)
    return hashed.column(0).combine_chunks().cast(pa.string())


def _keys(good: pa.Table, bad: list[dict], key: list[str], schema: pa.Schema) -> pa.Table:
    """The primary keys of a batch, its quarantined rows included (they are still in the source)."""
    keys = good.select(key).cast(pa.schema([schema.field(k) for k in key]))
    if not bad:
        return keys
    by_record = [json.loads(entry["raw_record"]) for entry in bad]
    try:
        quarantined = pa.table({k: pa.array([record[k] for record in by_record], schema.field(k).type) for k in key})
    except (pa.ArrowException, KeyError):  # the key itself is the bad value: no raw row can have it
        return keys
    return pa.concat_tables([keys, quarantined])


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- what raw already holds ------------------------------------------------------


@contextmanager
def _raw_tables(plan: _Table):
    """The table's raw rows and the source's quarantine, read through the pipeline's destination."""
    if plan.pipeline is None:
        yield _Raw(None, plan.name)
        return
    with plan.pipeline.sql_client() as client:
        yield _Raw(client, plan.name)


class _Raw:
    """Lookups in raw_<source>.<table> and raw_<source>._quarantine; a table not there yet holds nothing."""

    def __init__(self, client, table: str):
        self.client = client
        if client is None:
            self.columns, self.quarantine_columns = set(), set()
            return
        naming = dlt.current.source_schema().naming
        self.naming = naming
        self.con = client.native_connection
        self.table = client.make_qualified_table_name(naming.normalize_table_identifier(table))
        self.quarantine = client.make_qualified_table_name(QUARANTINE_TABLE)
        self.columns = self._columns(naming.normalize_table_identifier(table))
        self.quarantine_columns = self._columns(QUARANTINE_TABLE)

    def _columns(self, table: str) -> set[str]:
        rows = self.con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
            [self.client.dataset_name, table],
        ).fetchall()
        return {name for (name,) in rows}

    def _live(self) -> str:
        return f"{DELETED_AT} IS NULL" if DELETED_AT in self.columns else "true"

    def unknown(self, hashes: pa.ChunkedArray) -> pa.Array:
        """True for each row hash that no live raw row has (the row is new or changed)."""
        if ROW_HASH not in self.columns or len(hashes) == 0:
            return pa.array([True] * len(hashes), pa.bool_())
        relation = f"_hashes_{next(_names)}"
        self.con.register(relation, pa.table({"h": hashes}))
        try:
            known = self.con.execute(
                f"SELECT h FROM {relation} WHERE h IN (SELECT {ROW_HASH} FROM {self.table} WHERE {self._live()})"
            ).to_arrow_table()
        finally:
            self.con.unregister(relation)
        return pc.invert(pc.is_in(hashes, value_set=known.column(0).combine_chunks()))

    def new_quarantine(self, rows: list[dict], table: str) -> list[dict]:
        """The rows not already in _quarantine with the same table, field, reason and record."""
        if not rows or not {"raw_record", "table_name", "field", "reason"} <= self.quarantine_columns:
            return rows
        records = [row["raw_record"] for row in rows]
        placeholders = ", ".join("?" * len(records))
        known = set(
            self.con.execute(
                f"SELECT field, reason, raw_record FROM {self.quarantine}"
                f" WHERE table_name = ? AND raw_record IN ({placeholders})",
                [table, *records],
            ).fetchall()
        )
        return [row for row in rows if (row["field"], row["reason"], row["raw_record"]) not in known]

    def deleted_rows(self, seen: list[pa.Table], key: list[str], now: datetime) -> pa.Table | None:
        """The live raw rows whose key the whole-table read did not see, marked deleted at `now`."""
        if self.client is None:
            return None
        raw_key = [self.naming.normalize_identifier(k) for k in key]
        if not self.columns or not set(raw_key) <= self.columns:
            return None
        relation = f"_seen_{next(_names)}"
        keys = pa.concat_tables(seen).rename_columns(raw_key) if seen else pa.table({k: pa.array([]) for k in raw_key})
        self.con.register(relation, keys)
        drop = [c for c in ("_dlt_id", "_dlt_load_id", DELETED_AT) if c in self.columns]
        exclude = f" EXCLUDE ({', '.join(drop)})" if drop else ""
        match = " AND ".join(f"s.{_quote(k)} = r.{_quote(k)}" for k in raw_key)
        try:
            gone = self.con.execute(
                f"SELECT r.*{exclude} FROM {self.table} r WHERE {self._live()}"
                f" AND NOT EXISTS (SELECT 1 FROM {relation} s WHERE {match})"
            ).to_arrow_table()
        finally:
            self.con.unregister(relation)
        return gone.append_column(DELETED_AT, pa.array([now] * gone.num_rows, TIMESTAMP))


# -- checks before reading ---------------------------------------------------------


def _check_tables(url: str, where: str, spec: SqlSource) -> dict[str, dict[str, Any]]:
    """Connect, and check each table and its key and cursor columns are there: {table: {column: type}}."""
    engine = None
    try:
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            present = set(inspector.get_table_names()) | set(inspector.get_view_names())
            missing = [table for table in spec.tables if table not in present]
            if missing:
                raise SqlSourceError(
                    f"{where}: no table {', '.join(missing)} (tables there: {', '.join(sorted(present)) or 'none'})"
                )
            found = {}
            for table, table_spec in spec.tables.items():
                columns = {column["name"]: column["type"] for column in inspector.get_columns(table)}
                wanted = [("cursor", table_spec.cursor)] + [("primary_key", k) for k in table_spec.primary_key]
                for role, column in wanted:
                    if column and column not in columns:
                        raise SqlSourceError(
                            f"{where}: table {table}: no column {column!r} (its {role} in sources.yml;"
                            f" columns there: {', '.join(columns)})"
                        )
                found[table] = columns
            return found
    except sa.exc.SQLAlchemyError as error:
        raise SqlSourceError(f"{where}: cannot read the database: {_reason(error)}") from error
    finally:
        if engine is not None:
            engine.dispose()


def _reason(error: sa.exc.SQLAlchemyError) -> str:
    return str(getattr(error, "orig", None) or error).splitlines()[0]


def _display_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _check_sqlite_file(url: str) -> None:
    """SQLite would quietly create an empty database for a wrong path: refuse instead."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and ":memory:" not in url:
        path = Path(url[len(prefix) :].split("?")[0])
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such SQLite file")
