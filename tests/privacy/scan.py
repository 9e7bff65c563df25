"""The tests' own look for a person, independent of cdp.privacy's matcher: plain substrings.

`needles_of` lists what identifies a person in a built warehouse (emails, email hashes,
phones as E.164 and as each raw row wrote them, customer ids, record ids, strong ids), and
`rows_holding` counts, per table, the rows where any column's text contains one of them.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb


def tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
        " and not temporary order by 1, 2"
    ).fetchall()


def columns(con, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_catalog = current_database()"
            " and table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    ]


def needles_of(con: duckdb.DuckDBPyConnection, customer_ids: list[str]) -> set[str]:
    """Everything that names these customers, lower case."""
    ids = {"ids": customer_ids}
    found = {c.lower() for c in customer_ids}
    for emails, phones in con.execute(
        "select all_emails, all_phones from marts.customer_360 where customer_id in (select unnest($ids))", ids
    ).fetchall():
        found |= {e.lower() for e in emails or []} | set(phones or [])
    records = con.execute(
        "select source, source_record_id from identity.record_customers where customer_id in (select unnest($ids))",
        ids,
    ).fetchall()
    keys = {"records": [f"{s}:{r}" for s, r in records]}
    found |= {r.lower() for _, r in records}
    for row in con.execute(
        "select email, email_sha256, phone from identity.identity_inputs"
        " where source || ':' || source_record_id in (select unnest($records))",
        keys,
    ).fetchall():
        found |= {value.lower() for value in row if value}
    found |= {
        str(v).lower()
        for (v,) in con.execute(
            "select id_value from identity.identity_strong_ids"
            " where source || ':' || source_record_id in (select unnest($records))",
            keys,
        ).fetchall()
    }
    return found | raw_phones(con, found)


def raw_phones(con, needles: set[str]) -> set[str]:
    """The person's phones as raw rows wrote them (06-12345678, (206) 883-8183 ...)."""
    found = set()
    for schema, table in tables(con):
        if not schema.startswith("raw_"):
            continue
        names = columns(con, schema, table)
        phones = [n for n in names if "phone" in n]
        if phones:
            holding = _holding(names, needles)
            for column in phones:
                found |= {
                    str(v).lower().strip()
                    for (v,) in con.execute(
                        f'select distinct "{column}" from "{schema}"."{table}" where ({holding}) and "{column}" is not null'
                    ).fetchall()
                    if str(v).strip()
                }
    return found


def _holding(names: list[str], needles: set[str]) -> str:
    pattern = "|".join(re.escape(n) for n in sorted(needles))
    return " or ".join(
        f"regexp_matches(lower(cast(\"{n}\" as varchar)), '{pattern.replace(chr(39), chr(39) * 2)}')" for n in names
    )


def rows_holding(con: duckdb.DuckDBPyConnection, needles: set[str]) -> dict[str, int]:
    """schema.table -> rows where some column's text holds a needle (every table of the database)."""
    counts = {}
    for schema, table in tables(con):
        names = columns(con, schema, table)
        count = con.execute(f'select count(*) from "{schema}"."{table}" where {_holding(names, needles)}').fetchone()[0]
        if count:
            counts[f"{schema}.{table}"] = count
    return counts


def row_counts(con) -> dict[str, int]:
    return {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables(con)}


def order_items_of_orders_holding(con, needles: set[str]) -> dict[str, int]:
    """Order items whose order holds a needle (they name no one, their order does), per raw table."""
    counts = {}
    for schema in ("raw_shop", "raw_shop_staging"):
        names = columns(con, schema, "orders")
        if not names:
            continue
        count = con.execute(
            f'select count(*) from "{schema}".order_items where order_id in'
            f' (select order_id from "{schema}".orders where {_holding(names, needles)})'
        ).fetchone()[0]
        if count:
            counts[f"{schema}.order_items"] = count
    return counts


def files_holding(folder: Path, needles: set[str]) -> list[str]:
    """Files under `folder` whose bytes hold a needle (case-insensitive)."""
    found = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes().lower()
            if any(needle.encode() in data for needle in needles):
                found.append(str(path.relative_to(folder)))
    return found
