"""End to end on the real demo universe (cdp.demo): exact counts against its manifest, re-run, advance."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest

from cdp.demo.universe import advance, generate

FILE_TABLES = {  # manifest counts key -> raw table
    "web": "raw_web.events",
    "app": "raw_app.events",
    "pos": "raw_pos.transactions",
    "email_events": "raw_email.events",
    "erp": "raw_erp.invoices",
    "partner": "raw_partner.responses",
    "broker": "raw_broker.enrichment",
    "crm": "raw_crm.contacts",
    "email_subscribers": "raw_email.subscribers",
}
MERGED = {"crm": ("crm_id", "crm/contacts_*.jsonl"), "email_subscribers": ("subscriber_id", "email/subscribers_*.csv")}


def loaded(summary, table: str) -> int:
    source, name = table.removeprefix("raw_").split(".")
    return summary.sources[source].tables[name].loaded


@pytest.fixture
def universe(warehouse):
    return generate(warehouse.data_dir, persons=150, seed=7)


def test_demo_universe_loads_exactly_then_only_the_new_day(warehouse, universe):
    summary = warehouse.ingest()

    assert summary.failed == {}
    files = universe["counts"]["files"]
    for key, table in FILE_TABLES.items():
        assert loaded(summary, table) == files[key]["rows"], table  # every row read, none quarantined
    assert sum(s.quarantined for s in summary.sources.values()) == 0
    for key, table in FILE_TABLES.items():
        if key not in MERGED:
            assert warehouse.count(table) == files[key]["rows"], table
    for table, rows in universe["counts"]["shop"].items():
        assert warehouse.count(f"raw_shop.{table}") == rows, table
    assert_merged_tables_hold_the_newest_version(warehouse)

    assert warehouse.ingest().loaded == 0  # nothing new

    before = {table: warehouse.count(table) for table in FILE_TABLES.values()}
    manifest = advance(warehouse.data_dir)
    summary = warehouse.ingest()

    day = manifest["current_date"]
    for key, table in FILE_TABLES.items():
        assert loaded(summary, table) == manifest["counts"]["files"][key]["per_day"].get(day, 0), table
        if key not in MERGED:
            assert warehouse.count(table) == before[table] + loaded(summary, table), table
    for table, rows in manifest["counts"]["shop"].items():
        assert warehouse.count(f"raw_shop.{table}") == rows, table
    assert_merged_tables_hold_the_newest_version(warehouse)


def assert_merged_tables_hold_the_newest_version(warehouse):
    """One row per key, and it is the newest version found in the source."""
    data = warehouse.data_dir
    readers = {
        "crm": f"read_json('{data}/crm/contacts_*.jsonl')",
        "email_subscribers": f"read_csv('{data}/email/subscribers_*.csv')",
    }
    for key, (pk, _) in MERGED.items():
        table = FILE_TABLES[key]
        expected = duckdb.sql(
            f"SELECT {pk}, max(updated_at::TIMESTAMPTZ) FROM {readers[key]} GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert warehouse.query(f"SELECT {pk}, updated_at FROM {table} ORDER BY 1") == expected, table
    with sqlite3.connect(data / "shop" / "shop.sqlite") as shop:
        expected = shop.execute("SELECT customer_id, updated_at FROM customers ORDER BY 1").fetchall()
    assert warehouse.query("SELECT customer_id, updated_at FROM raw_shop.customers ORDER BY 1") == expected
