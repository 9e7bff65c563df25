"""`cdp forget`: the right to be forgotten, warehouse side.

In this order, so a crash at any point leaves nothing a rerun cannot finish:

1. Refuse while dlt holds load packages not loaded yet (they would bring the person back).
2. Resolve the person (cdp.privacy.person): every customer id the identifiers reach, every
   email, phone, record and strong id of those customers.
3. In one transaction: put the SHA-256 hashes of those identifiers on the suppression list
   (`privacy.suppression`), queue the deletions in the destinations that were sent the person
   (`cdp.activate.erasure.queue_erasures`, which reads reverse_etl before it is purged), and
   delete the person's rows from every table (raw, their _quarantine, dlt's merge staging,
   staging, identity, marts, segments, reverse_etl ...; the matcher of cdp.privacy.suppression
   finds them: module docstring there). In raw, rows whose key a deleted row had (an order's
   items) go with it: sources.yml's primary keys, by column name, within the source.
4. Ask each destination to delete them (`process_pending_erasures`; what it came to is in
   privacy.erasure_requests, and a destination that was down is asked again by its next sync).
5. The files beside the warehouse (cdp.privacy.outside): exports, run logs, dlt's packages.
6. Record the request in `privacy.forget_requests` (counts per place, hashes only).
7. Write the database file again: DuckDB reuses freed blocks but never wipes them, so deleted
   rows stay readable in the file (and its old blocks) until overwritten. A fresh copy (`copy
   from database`) swapped in with one rename holds only live rows.

Which columns hold record ids is learned from the staging models at every forget (the column
whose every value equals the model's `source_record_id`: raw keeps the name, e.g. crm_id,
transaction_id, anonymous_id) and kept in privacy.identifier_columns for ingest. Why not
sources.yml: it declares keys, not which column is a person's record (pos transactions, web
events have none), and the names there are the source's, where staging's lineage is what
identity actually used; the data says it for every source, own ones included.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cdp.errors import CdpError
from cdp.privacy import outside, suppression
from cdp.privacy.person import Person, Request, resolve
from cdp.warehouse_schema import table_exists

log = logging.getLogger(__name__)

NOW_UTC = "(now() at time zone 'UTC')"
OWN_SCHEMAS = ("identity", "marts", "segments", "reverse_etl", "privacy", "cdp_meta")
SKIPPED_SCHEMAS = ("privacy", "cdp_meta", "information_schema", "pg_catalog")
REQUESTS_DDL = """
create schema if not exists privacy;
create table if not exists privacy.forget_requests (
    request_id varchar primary key,
    requested_at timestamp not null,   -- UTC
    finished_at timestamp not null,
    identifiers json not null,         -- what was asked, as [{kind, hash}]: hashes only
    customers integer not null,        -- customer ids the request reached
    hashes_added integer not null,     -- new rows of privacy.suppression
    deleted json not null,             -- {"schema.table": rows deleted}
    outside json not null,             -- {"exports": {files, rows}, "run logs": {files, lines}, "dlt packages": n}
    erasures json not null             -- {"sync": "status: error"} of the destination deletions
);
"""


@dataclass
class ForgetReport:
    """What one `cdp forget` did, place by place."""

    request_id: str
    dry_run: bool
    customers: int = 0
    hashes: dict[str, int] = field(default_factory=dict)  # kind -> hashes added
    queued: int = 0
    deleted: dict[str, int] = field(default_factory=dict)  # schema.table -> rows
    exports: outside.Rewritten = field(default_factory=outside.Rewritten)
    logs: outside.Rewritten = field(default_factory=outside.Rewritten)
    packages: int = 0
    erasures: dict[str, str] = field(default_factory=dict)
    file_bytes: tuple[int, int] | None = None

    @property
    def rows_deleted(self) -> int:
        return sum(self.deleted.values())

    def lines(self) -> list[str]:
        """One line per place (the command prints them)."""
        would = "would be " if self.dry_run else ""
        hashes = ", ".join(f"{kind} {count}" for kind, count in sorted(self.hashes.items()) if count)
        lines = [
            f"request {self.request_id}: {self.customers} customer id(s) reached",
            f"suppression list: {sum(self.hashes.values())} hash(es) {would}added" + (f" ({hashes})" if hashes else ""),
            f"destinations: {self.queued} deletion request(s) {would}queued",
        ]
        lines += [f"{table}: {count} row(s) {would}deleted" for table, count in sorted(self.deleted.items()) if count]
        if not self.rows_deleted:
            lines.append("warehouse tables: no row of this person left")
        lines += [
            f"exports: {self.exports.removed} row(s) {would}removed from {self.exports.files} file(s)",
            f"run logs: {self.logs.removed} line(s) {would}removed from {self.logs.files} file(s)",
            f"dlt working folder: {self.packages} completed load package(s) {would}removed",
        ]
        lines += [f"destination {sync}: {outcome}" for sync, outcome in sorted(self.erasures.items())]
        if self.file_bytes:
            before, after = self.file_bytes
            lines.append(f"warehouse file: written again without freed pages ({before:,} -> {after:,} bytes)")
        elif not self.dry_run:
            lines.append("warehouse file: unchanged (nothing deleted)")
        if not self.dry_run:
            lines.append(f"recorded in privacy.forget_requests as {self.request_id}")
        return lines


def forget(
    warehouse: Path,
    request: Request,
    *,
    specs: list | None = None,
    env=None,
    policy=None,
    dry_run: bool = False,
) -> ForgetReport:
    """Forget the person `request` names everywhere in and beside `warehouse` (module docstring)."""
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise CdpError(f"{warehouse}: no warehouse here (set CDP_WAREHOUSE or --warehouse)")
    pending = outside.pending_packages(warehouse)
    if pending:
        raise CdpError(
            f"{outside.dlt_folder(warehouse)}: load packages not loaded yet ({', '.join(pending)}) could bring the"
            " person back: run `cdp ingest` first, then forget"
        )
    report = ForgetReport(request_id=uuid.uuid4().hex[:16], dry_run=dry_run)
    requested_at = datetime.now(UTC).replace(tzinfo=None)
    person, columns = _forget_in_warehouse(warehouse, request, report, dry_run)
    if not dry_run and report.queued:
        _erase_in_destinations(warehouse, specs or [], env, policy, report)
    matcher_input = suppression.Suppression(person.needles(), columns)
    report.exports = outside.rewrite_exports(
        outside.export_folders(warehouse, specs or []), matcher_input, dry_run=dry_run
    )
    report.logs = outside.rewrite_logs(warehouse.parent / "logs", matcher_input, dry_run=dry_run)
    # dlt's completed packages hold copies of rows loaded (theirs too, also from an earlier forget cut short)
    report.packages = outside.remove_loaded_packages(warehouse, dry_run=dry_run)
    if not dry_run:
        _record(warehouse, request, report, requested_at)
        if report.rows_deleted:
            report.file_bytes = rewrite_database(warehouse)
    return report


def _forget_in_warehouse(warehouse: Path, request: Request, report: ForgetReport, dry_run: bool):
    """Steps 2 and 3 of the module docstring, in one transaction (a dry run rolls it back)."""
    with open_warehouse(warehouse) as con:
        con.execute("begin transaction")
        try:
            suppression.ensure_schema(con)
            columns = learn_identifier_columns(con).merged(suppression.stored_columns(con))
            person = resolve(con, request)
            report.customers = len(person.customer_ids)
            con.register("_cdp_forget_needles", person.needles())
            con.execute("create temp table forget_needles as select * from _cdp_forget_needles")
            con.unregister("_cdp_forget_needles")
            _save_columns(con, columns)
            report.hashes = _suppress(con, person, report.request_id)
            if not dry_run:
                report.queued = _queue_erasures(con, report.request_id, person)
            report.deleted = purge(con, columns, "forget_needles", dry_run=dry_run)
            report.deleted |= _purge_scored_pairs(con, person, dry_run=dry_run)
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("rollback" if dry_run else "commit")
    return person, columns


def _purge_scored_pairs(con, person: Person, *, dry_run: bool) -> dict[str, int]:
    """The identity step's kept pairs (cdp/identity/incremental.py) name records by
    "<source>:<record id>" alone, which the matcher does not read as a record: by the
    person's records."""
    table = "identity.identity_scored_pairs"
    if not table_exists(con, "identity", "identity_scored_pairs") or not person.records:
        return {}
    con.execute("create or replace temp table forget_unique_ids (unique_id varchar)")
    unique_ids = [[f"{source}:{record_id}"] for source, record_id in person.records]
    con.executemany("insert into forget_unique_ids values (?)", unique_ids)
    where = " or ".join(f"unique_id_{side} in (select unique_id from forget_unique_ids)" for side in "lr")
    count = con.execute(f"select count(*) from {table} where {where}").fetchone()[0]
    if count and not dry_run:
        con.execute(f"delete from {table} where {where}")
    return {table: count} if count else {}


def open_warehouse(warehouse: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The warehouse, or one CdpError line saying why not (another process writing it, most often)."""
    try:
        return duckdb.connect(str(warehouse), read_only=read_only)
    except duckdb.IOException as error:
        reason = str(error).splitlines()[0]
        raise CdpError(
            f"{warehouse}: cannot open the warehouse: {reason} (is a cdp run or Dagster using it?)"
        ) from None


# -- which columns hold identifiers -------------------------------------------------------


def learn_identifier_columns(con: duckdb.DuckDBPyConnection) -> suppression.IdentifierColumns:
    """Record-id columns from the models with `source` and `source_record_id`; strong-id types from identity."""
    records: dict[str, set[str]] = {}
    for schema, table in _tables_with(con, {"source", "source_record_id"}):
        if schema.startswith("raw_") or schema in OWN_SCHEMAS:
            continue  # raw has no source_record_id; cdp's own models only repeat what staging says
        candidates = [
            name
            for name, data_type in table_columns(con, schema, table)
            if name not in ("source", "source_record_id") and data_type.upper() in suppression.ID_TYPES
        ]
        for source, name in _equal_to_record_id(con, schema, table, candidates):
            records.setdefault(name.lower(), set()).add(source)
    strong = set()
    if table_exists(con, "identity", "identity_strong_ids"):
        rows = con.execute("select distinct id_type from identity.identity_strong_ids").fetchall()
        strong = {t.lower() for (t,) in rows}
    return suppression.IdentifierColumns({n: tuple(sorted(s)) for n, s in records.items()}, frozenset(strong))


def _equal_to_record_id(con, schema: str, table: str, candidates: list[str]) -> list[tuple[str, str]]:
    """(source, column) where the column equals source_record_id in every row of that source."""
    if not candidates:
        return []
    checks = ", ".join(
        f"count(*) filter (where cast({_ident(c)} as varchar) is distinct from source_record_id) = 0"
        f" and count({_ident(c)}) > 0"
        for c in candidates
    )
    rows = con.execute(f"select source, {checks} from {qualified(schema, table)} group by source").fetchall()
    return [(row[0], name) for row in rows if row[0] for name, equal in zip(candidates, row[1:], strict=True) if equal]


def _save_columns(con, columns: suppression.IdentifierColumns) -> None:
    rows = columns.rows()
    if rows:
        con.executemany("insert or ignore into privacy.identifier_columns values (?, ?, ?)", rows)


# -- the warehouse ------------------------------------------------------------------------


def _suppress(con, person: Person, request_id: str) -> dict[str, int]:
    """Add the person's hashes to the suppression list; the new ones per kind."""
    added: dict[str, int] = {}
    for kind, value in person.hashes():
        inserted = con.execute(
            f"insert or ignore into privacy.suppression values (?, ?, {NOW_UTC}, ?) returning 1",
            [value, kind, request_id],
        ).fetchall()
        added[kind] = added.get(kind, 0) + len(inserted)
    return added


def _queue_erasures(con, request_id: str, person: Person) -> int:
    """Destination deletions, queued before reverse_etl loses the person (cdp.activate.erasure)."""
    if not person.customer_ids:
        return 0
    from cdp.activate.erasure import queue_erasures

    extra = [{"email": e} for e in sorted(person.emails)] + [{"phone": p} for p in sorted(person.phones)]
    return queue_erasures(con, request_id, sorted(person.customer_ids), extra)


def purge(con, columns: suppression.IdentifierColumns, needles: str, *, dry_run: bool = False) -> dict[str, int]:
    """Delete every row holding a needle from every table but privacy's and cdp_meta's; rows per table."""
    kinds = {kind for (kind,) in con.execute(f"select distinct kind from {needles}").fetchall()}
    if not kinds:
        return {}
    matcher = suppression.Matcher(columns, kinds=kinds)
    marked = _mark(con, matcher, needles)
    _mark_rows_keyed_by_deleted(con, marked)
    deleted = {}
    for (schema, table), relation in marked.items():
        where = f"rowid in (select _key from {relation})"
        count = con.execute(f"select count(*) from {qualified(schema, table)} where {where}").fetchone()[0]
        if count and not dry_run:
            con.execute(f"delete from {qualified(schema, table)} where {where}")
        if count:
            deleted[f"{schema}.{table}"] = count
        con.execute(f"drop table {relation}")
    return deleted


def _mark(con, matcher: suppression.Matcher, needles: str) -> dict[tuple[str, str], str]:
    """A temp table of the matching rowids per table (found before anything is deleted)."""
    marked = {}
    for index, (schema, table) in enumerate(person_tables(con)):
        token_columns = ["raw_record", "reason"] if table == "_quarantine" else []
        sql = matcher.sql(
            qualified(schema, table), "rowid", table_columns(con, schema, table), needles, token_columns=token_columns
        )
        if sql:
            relation = f"forget_marked_{index}"
            con.execute(f"create temp table {relation} as select * from ({sql}) as m(_key, field)")
            marked[(schema, table)] = relation
    return marked


def _mark_rows_keyed_by_deleted(con, marked: dict[tuple[str, str], str]) -> None:
    """In raw, rows that name a deleted row by its key (an order's items name the order) go with it."""
    keys = _raw_primary_keys()
    for (schema, table), relation in list(marked.items()):
        key = keys.get((schema.removesuffix("_staging"), table))
        if not key or not con.execute(f"select count(*) from {relation}").fetchone()[0]:
            continue
        values = f"select {_ident(key)} from {qualified(schema, table)} where rowid in (select _key from {relation})"
        for (other_schema, other), other_relation in marked.items():
            names = {name.lower() for name, _ in table_columns(con, other_schema, other)}
            if other_schema == schema and other != table and key in names:
                con.execute(
                    f"insert into {other_relation} select rowid, {_lit(key)} from {qualified(schema, other)}"
                    f" where {_ident(key)} in ({values})"
                )


def _raw_primary_keys() -> dict[tuple[str, str], str]:
    """(raw_<source>, table) -> its one-column primary key, from ingest/sources.yml."""
    from ingest.config import load_config

    try:
        config = load_config()
    except CdpError:
        return {}
    return {
        (f"raw_{name}", table): spec.primary_key[0].lower()
        for name, source in config.sources.items()
        for table, spec in source.tables.items()
        if len(spec.primary_key) == 1
    }


def person_tables(con) -> list[tuple[str, str]]:
    rows = con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
        " and not temporary order by 1, 2"
    ).fetchall()
    return [(s, t) for s, t in rows if s not in SKIPPED_SCHEMAS and not t.startswith("_dlt_")]


def _tables_with(con, columns: set[str]) -> list[tuple[str, str]]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.columns c"
        " join information_schema.tables t using (table_catalog, table_schema, table_name)"
        " where table_catalog = current_database() and t.table_type = 'BASE TABLE'"
        " and column_name in (select unnest($names)) group by all having count(*) = $count",
        {"names": sorted(columns), "count": len(columns)},
    ).fetchall()
    return sorted(rows)


def table_columns(con, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns where table_catalog = current_database()"
        " and table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()


def qualified(schema: str, table: str) -> str:
    return f"{_ident(schema)}.{_ident(table)}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- destinations, the request's record, the file ------------------------------------------


def _erase_in_destinations(warehouse: Path, specs: list, env, policy, report: ForgetReport) -> None:
    from cdp.activate.engine import process_pending_erasures

    for result in process_pending_erasures(warehouse, specs, env=env, policy=policy):
        if result.request_id == report.request_id:
            outcome = f"{result.status} ({result.destination})"
            report.erasures[result.sync_name] = outcome + (f": {result.error}" if result.error else "")


def _record(warehouse: Path, request: Request, report: ForgetReport, requested_at: datetime) -> None:
    outside_counts = {
        "exports": {"files": report.exports.files, "rows": report.exports.removed},
        "run logs": {"files": report.logs.files, "lines": report.logs.removed},
        "dlt packages": report.packages,
    }
    with duckdb.connect(str(warehouse)) as con:
        con.execute(REQUESTS_DDL)
        con.execute(
            f"insert into privacy.forget_requests values (?, ?, {NOW_UTC}, ?, ?, ?, ?, ?, ?)",
            [
                report.request_id,
                requested_at,
                json.dumps(request.hashes()),
                report.customers,
                sum(report.hashes.values()),
                json.dumps(report.deleted, sort_keys=True),
                json.dumps(outside_counts),
                json.dumps(report.erasures, sort_keys=True),
            ],
        )


def rewrite_database(warehouse: Path) -> tuple[int, int]:
    """Copy the live database into a fresh file beside it and rename that over it; (bytes before, after).

    Same folder, so the rename is atomic: a crash leaves either file whole. The file keeps its
    name, so the catalog name dbt's views use (the file's stem) stays the same.
    """
    fresh = warehouse.with_name(warehouse.name + ".forget")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    before = warehouse.stat().st_size
    with duckdb.connect(str(warehouse)) as con:
        name = con.execute("select current_database()").fetchone()[0]
        con.execute(f"attach {_lit(str(fresh))} as cdp_forget_fresh")
        try:
            con.execute(f"copy from database {_ident(name)} to cdp_forget_fresh")
        finally:
            con.execute("detach cdp_forget_fresh")
    os.replace(fresh, warehouse)
    return before, warehouse.stat().st_size
