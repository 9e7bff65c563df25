"""`cdp export-person`: the right of access, everything cdp holds about one person as one JSON file.

The person is resolved as `cdp forget` resolves them (cdp.privacy.person), and their rows are
found by the same matcher, so the export shows exactly what a forget would delete:

    profile          marts.customer_360 rows of their customer ids
    identity         marts.customer_identities (which record is which customer, and why),
                     identity.identity_changelog (merges and splits)
    source_records   identity.identity_inputs rows (as staging read each record), and
                     every raw_<source> row that holds them, table by table
    consent          the consent columns of customer_360, and the consent and subscription
                     columns of their staging records (who said what, when)
    segments         each segment that holds them, with its row
    sent             reverse_etl.sync_state (what each destination holds) and sync_log (every send)

Read only: the warehouse is opened read-only and nothing is written but the output file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from cdp.errors import CdpError
from cdp.privacy import suppression
from cdp.privacy.person import Person, Request, resolve
from cdp.warehouse_schema import table_exists

CONSENT_COLUMN = r"(consent|subscribed_at|unsubscribed|opt_?in|opt_?out|^status$)"


def export_person(warehouse: Path, request: Request, out: Path) -> dict[str, int]:
    """Write the person's document to `out`; returns how many rows each part holds."""
    warehouse = Path(warehouse)
    if not warehouse.is_file():
        raise CdpError(f"{warehouse}: no warehouse here (set CDP_WAREHOUSE or --warehouse)")
    from cdp.privacy.forget import open_warehouse

    with open_warehouse(warehouse, read_only=True) as con:
        person = resolve(con, request)
        document = person_document(con, person)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(json.dumps(document, indent=2, default=str, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, out)
    return {part: _count(value) for part, value in document.items() if part != "request"}


def person_document(con: duckdb.DuckDBPyConnection, person: Person) -> dict[str, Any]:
    ids = sorted(person.customer_ids)
    records = sorted(f"{s}:{r}" for s, r in person.records)
    return {
        "request": {
            "exported_at": datetime.now(UTC).isoformat(),
            "customer_ids": ids,
            "emails": sorted(person.emails),
            "phones": sorted(person.phones),
            "source_records": records,
        },
        "profile": _rows(con, "marts", "customer_360", "customer_id in (select unnest($ids))", {"ids": ids}),
        "identity": {
            "links": _rows(con, "marts", "customer_identities", "customer_id in (select unnest($ids))", {"ids": ids}),
            "changes": _rows(
                con,
                "identity",
                "identity_changelog",
                "customer_id in (select unnest($ids)) or other_customer_id in (select unnest($ids))",
                {"ids": ids},
            ),
        },
        "source_records": {
            "as_read": _rows(con, "identity", "identity_inputs", _record_filter(), {"records": records}),
            "raw": _raw_rows(con, person),
        },
        "consent": _consent(con, ids, records),
        "segments": _segments(con, ids),
        "sent": {
            "state": _rows(con, "reverse_etl", "sync_state", "primary_key in (select unnest($ids))", {"ids": ids}),
            "log": _rows(con, "reverse_etl", "sync_log", "primary_key in (select unnest($ids))", {"ids": ids}),
        },
    }


def _record_filter() -> str:
    return "source || ':' || source_record_id in (select unnest($records))"


def _rows(con, schema: str, table: str, where: str, parameters: dict) -> list[dict[str, Any]]:
    if not table_exists(con, schema, table):
        return []
    return _dicts(con.execute(f'select * from "{schema}"."{table}" where {where}', parameters))


def _dicts(relation) -> list[dict[str, Any]]:
    names = [column[0] for column in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def _raw_rows(con, person: Person) -> dict[str, list[dict[str, Any]]]:
    """Every raw row (and quarantined row) holding the person, found as `cdp forget` finds them."""
    from cdp.privacy.forget import learn_identifier_columns, person_tables, qualified, table_columns

    columns = learn_identifier_columns(con).merged(suppression.stored_columns(con))
    needles = person.needles()
    matcher = suppression.Matcher(columns, kinds=set(needles["kind"].to_pylist()))
    con.register("_cdp_export_needles", needles)
    found = {}
    try:
        for schema, table in person_tables(con):
            if not schema.startswith("raw_") or schema.endswith("_staging"):
                continue
            token_columns = ["raw_record", "reason"] if table == "_quarantine" else []
            relation = qualified(schema, table)
            sql = matcher.sql(
                relation, "rowid", table_columns(con, schema, table), "_cdp_export_needles", token_columns=token_columns
            )
            if sql:
                relation = con.execute(
                    f"select * from {relation} where rowid in (select _key from ({sql}) as m(_key, field))"
                )
                rows = _dicts(relation)
                if rows:
                    found[f"{schema}.{table}"] = rows
    finally:
        con.unregister("_cdp_export_needles")
    return found


def _consent(con, ids: list[str], records: list[str]) -> dict[str, Any]:
    current = _rows(con, "marts", "customer_360", "customer_id in (select unnest($ids))", {"ids": ids})
    now = [
        {key: value for key, value in row.items() if key == "customer_id" or "consent" in key or "unsubscribed" in key}
        for row in current
    ]
    statements = {}
    for schema, table in _staging_with_records(con):
        names = [
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = current_database()"
                " and table_schema = ? and table_name = ? and regexp_matches(column_name, ?)",
                [schema, table, CONSENT_COLUMN],
            ).fetchall()
        ]
        if names:
            selected = ", ".join(f'"{name}"' for name in ["source", "source_record_id", "observed_at", *names])
            relation = con.execute(
                f'select {selected} from "{schema}"."{table}" where {_record_filter()}', {"records": records}
            )
            rows = _dicts(relation)
            if rows:
                statements[f"{schema}.{table}"] = rows
    return {"now": now, "statements": statements}


def _staging_with_records(con) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.columns where table_catalog = current_database()"
        " and table_schema = 'staging' and column_name in ('source', 'source_record_id', 'observed_at')"
        " group by all having count(*) = 3 order by 1, 2"
    ).fetchall()


def _segments(con, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    tables = con.execute(
        "select table_name from information_schema.columns where table_catalog = current_database()"
        " and table_schema = 'segments' and column_name = 'customer_id' order by 1"
    ).fetchall()
    found = {}
    for (table,) in tables:
        rows = _rows(con, "segments", table, "customer_id in (select unnest($ids))", {"ids": ids})
        if rows:
            found[table] = rows
    return found


def _count(value: Any) -> int:
    if isinstance(value, list):
        return len(value)
    if isinstance(value, dict):
        return sum(_count(item) for item in value.values())
    return 0
