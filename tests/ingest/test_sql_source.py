"""The sql_database kind under bad input: late updates, NULL cursors, deleted rows, a value of
another type, a database or table that cannot be read. Each case counts its rows: rows changed
in the source = rows loaded + rows quarantined, and a rerun loads nothing."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest
from dlt.common.versioned_state import decompress_state

import ingest.sql
from ingest.config import SqlTable, load_config
from tests.ingest.tiny_universe import ts, write_day, write_shop

SHOP_URL = "sqlite:///{data_dir}/shop/shop.sqlite"


def shop_config(url: str = SHOP_URL, tables: dict | None = None, **settings):
    """sources.yml with the shop's url, tables or per-table settings (e.g. lag_seconds) replaced."""
    config = load_config()
    shop = config.sources["shop"]
    spec = shop.model_dump()
    spec["url"] = url
    if tables is not None:
        spec["tables"] = tables
    spec["tables"] = {name: {**table, **settings} for name, table in spec["tables"].items()}
    return config.model_copy(update={"sources": {**config.sources, "shop": type(shop).model_validate(spec)}})


def shop_db(warehouse) -> sqlite3.Connection:
    return sqlite3.connect(warehouse.data_dir / "shop" / "shop.sqlite")


SCAN_EVERY_DAYS = SqlTable.model_fields["full_scan_every_days"].default


def later(monkeypatch, scans: int) -> None:
    """Runs from now on happen `scans` full-scan intervals later (a full scan is due in each)."""
    now = ingest.sql._now()
    monkeypatch.setattr(ingest.sql, "_now", lambda: now + timedelta(days=scans * SCAN_EVERY_DAYS))


def loaded(summary, table: str) -> int:
    return summary.sources["shop"].tables[table].loaded


def quarantined(warehouse, table: str) -> list[tuple]:
    return warehouse.query(
        "SELECT field, reason, raw_record FROM raw_shop._quarantine WHERE table_name = ? ORDER BY raw_record", table
    )


@pytest.fixture
def shop(warehouse):
    """The tiny shop (3 customers, 1 product, 1 order, 1 item), loaded once."""
    write_shop(warehouse.data_dir)
    summary = warehouse.ingest(["shop"])
    assert summary.failed == {}
    assert warehouse.count("raw_shop.customers") == loaded(summary, "customers") == 3
    return warehouse


def test_a_late_update_below_the_cursor_is_loaded_by_the_lag_and_a_rerun_loads_nothing(shop):
    # the cursor's maximum is 01:00; S000003 changes with an updated_at half an hour before it
    with shop_db(shop) as db:
        db.execute("UPDATE customers SET last_name = 'Late', updated_at = ? WHERE customer_id = 'S000003'", [ts(0, 0)])

    summary = shop.ingest(["shop"])

    assert loaded(summary, "customers") == 1  # 1 row changed in, 1 loaded, 0 quarantined
    assert shop.query("SELECT last_name FROM raw_shop.customers WHERE customer_id = 'S000003'") == [("Late",)]
    assert shop.count("raw_shop.customers") == 3
    # the lag re-reads the rows near the cursor every run; unchanged ones are not loaded again
    assert shop.ingest(["shop"]).loaded == 0


def test_a_late_update_beyond_the_lag_is_loaded_by_the_next_full_scan(warehouse, monkeypatch):
    write_shop(warehouse.data_dir)
    config = shop_config(lag_seconds=60)
    warehouse.ingest(["shop"], config=config)
    with shop_db(warehouse) as db:
        db.execute("UPDATE customers SET last_name = 'Late', updated_at = ? WHERE customer_id = 'S000003'", [ts(0, 0)])

    assert warehouse.ingest(["shop"], config=config).loaded == 0  # an hour late: beyond a minute's lag
    later(monkeypatch, scans=1)
    summary = warehouse.ingest(["shop"], config=config)

    assert summary.loaded == loaded(summary, "customers") == 1  # the whole table read, only the change loaded
    assert warehouse.query("SELECT last_name FROM raw_shop.customers WHERE customer_id = 'S000003'") == [("Late",)]
    assert warehouse.ingest(["shop"], config=config).loaded == 0


def test_rows_with_a_null_cursor_load_first_time_and_later_and_reload_only_when_changed(warehouse):
    write_shop(warehouse.data_dir)
    with shop_db(warehouse) as db:
        db.execute("UPDATE customers SET updated_at = NULL WHERE customer_id = 'S000003'")

    summary = warehouse.ingest(["shop"])  # used to fail: "Cursor element with JSON path `updated_at` ... None"

    assert summary.failed == {}
    assert loaded(summary, "customers") == warehouse.count("raw_shop.customers") == 3
    with shop_db(warehouse) as db:  # later: a new row without a cursor value, and the NULL one changes
        db.execute("INSERT INTO customers (customer_id, email, updated_at) VALUES ('S000009', 's9@example.com', NULL)")
        db.execute("UPDATE customers SET last_name = 'Changed' WHERE customer_id = 'S000003'")

    summary = warehouse.ingest(["shop"])

    assert loaded(summary, "customers") == 2  # 2 rows in, 2 loaded, 0 quarantined
    assert warehouse.query(
        "SELECT customer_id, last_name FROM raw_shop.customers WHERE updated_at IS NULL ORDER BY 1"
    ) == [
        ("S000003", "Changed"),
        ("S000009", None),
    ]
    assert warehouse.count("raw_shop.customers") == 4
    assert warehouse.ingest(["shop"]).loaded == 0  # re-read every run (OR updated_at IS NULL), loaded once


def deleted(warehouse) -> dict[str, bool]:
    rows = warehouse.query("SELECT customer_id, _cdp_deleted_at IS NOT NULL FROM raw_shop.customers ORDER BY 1")
    return dict(rows)


def test_rows_deleted_in_the_source_are_marked_by_the_full_scan_and_unmarked_when_back(shop, monkeypatch):
    with shop_db(shop) as db:
        row = db.execute("SELECT * FROM customers WHERE customer_id = 'S000002'").fetchone()
        db.execute("DELETE FROM customers WHERE customer_id = 'S000002'")

    assert shop.ingest(["shop"]).loaded == 0  # the same day: no full scan yet, nothing marked
    assert deleted(shop) == {"S000001": False, "S000002": False, "S000003": False}

    later(monkeypatch, scans=1)
    summary = shop.ingest(["shop"])

    assert summary.loaded == loaded(summary, "customers") == 1  # the mark: the raw row again, deleted
    assert deleted(shop) == {"S000001": False, "S000002": True, "S000003": False}
    marked = shop.query("SELECT last_name, _cdp_deleted_at FROM raw_shop.customers WHERE customer_id = 'S000002'")
    assert marked == [("Last2", ingest.sql._now())]  # the row as it was, deleted at the time of the scan
    assert shop.ingest(["shop"]).loaded == 0  # scanned today already
    later(monkeypatch, scans=2)
    assert shop.ingest(["shop"]).loaded == 0  # scanned again: marked once, not again

    with shop_db(shop) as db:  # the same row comes back, cursor unchanged
        db.execute(f"INSERT INTO customers VALUES ({', '.join('?' * len(row))})", row)
    later(monkeypatch, scans=3)
    summary = shop.ingest(["shop"])

    assert loaded(summary, "customers") == 1
    assert deleted(shop) == {"S000001": False, "S000002": False, "S000003": False}
    assert shop.count("raw_shop.customers") == 3


def test_the_time_of_the_last_full_scan_is_in_the_committed_dlt_state(shop, monkeypatch):
    later(monkeypatch, scans=1)
    shop.ingest(["shop"])

    # dlt's own table: the state goes out in the same load package as the rows
    [(state,)] = shop.query("SELECT state FROM raw_shop._dlt_pipeline_state ORDER BY created_at DESC LIMIT 1")
    resources = decompress_state(state)["sources"]["shop"]["resources"]
    assert resources["customers"]["cdp"]["last_full_scan"] == ingest.sql._now().isoformat()


def test_a_value_of_another_type_is_quarantined_and_never_blocks_the_source(warehouse):
    write_shop(warehouse.data_dir)
    with shop_db(warehouse) as db:  # SQLite keeps 'n/a' in a REAL column
        db.execute("INSERT INTO products VALUES ('P2', 'Hat', 'hats', 'n/a', 'EUR', ?)", [ts(0, 3)])

    summary = warehouse.ingest(["shop"])

    assert summary.failed == {}
    assert warehouse.query("SELECT product_id, price FROM raw_shop.products") == [("P1", 99.5)]
    [(field, reason, record)] = quarantined(warehouse, "products")
    assert (field, reason) == ("price", "'n/a' is not a double")
    assert json.loads(record)["product_id"] == "P2"
    assert loaded(summary, "products") + len(quarantined(warehouse, "products")) == 2  # rows in

    # later runs: the bad row is not quarantined again, and new good rows keep loading
    with shop_db(warehouse) as db:
        db.execute("INSERT INTO products VALUES ('P3', 'Scarf', 'scarves', 12.5, 'EUR', ?)", [ts(0, 4)])
        db.execute("INSERT INTO products VALUES ('P4', 'Belt', 'belts', 'ten', 'EUR', ?)", [ts(0, 4)])

    summary = warehouse.ingest(["shop"])

    assert summary.failed == {}
    assert loaded(summary, "products") == 1
    assert sorted(json.loads(r)["product_id"] for _, _, r in quarantined(warehouse, "products")) == ["P2", "P4"]
    assert warehouse.query("SELECT product_id FROM raw_shop.products ORDER BY 1") == [("P1",), ("P3",)]
    assert warehouse.ingest(["shop"]).loaded == 0
    assert len(quarantined(warehouse, "products")) == 2


def test_a_bad_value_in_an_existing_row_keeps_its_loaded_version_and_is_not_marked_deleted(shop, monkeypatch):
    with shop_db(shop) as db:
        db.execute("UPDATE products SET price = 'n/a', updated_at = ? WHERE product_id = 'P1'", [ts(0, 5)])
    later(monkeypatch, scans=1)  # a full scan: P1 is still in the source

    summary = shop.ingest(["shop"])

    assert summary.failed == {}
    assert loaded(summary, "products") == 0
    assert len(quarantined(shop, "products")) == 1
    assert shop.query("SELECT price, _cdp_deleted_at FROM raw_shop.products") == [(99.5, None)]


def test_a_missing_table_fails_the_source_in_one_line_and_the_others_still_load(warehouse):
    write_shop(warehouse.data_dir)
    write_day(warehouse.data_dir, 0)
    config = shop_config(tables={"customers": {"primary_key": "customer_id"}, "refunds": {"primary_key": "id"}})

    summary = warehouse.ingest(["shop", "web"], config=config)

    assert list(summary.failed) == ["shop"]
    assert "no table refunds" in summary.failed["shop"] and "shop.sqlite" in summary.failed["shop"]
    assert "\n" not in summary.failed["shop"]
    assert warehouse.count("raw_web.events") == 3


def test_a_missing_cursor_column_names_the_table_and_column(warehouse):
    write_shop(warehouse.data_dir)
    config = shop_config(tables={"orders": {"primary_key": "order_id", "cursor": "modified_at"}})

    summary = warehouse.ingest(["shop"], config=config)

    assert "table orders: no column 'modified_at' (its cursor in sources.yml" in summary.failed["shop"]


def test_a_locked_database_fails_the_source_in_one_line_and_the_others_still_load(warehouse):
    write_shop(warehouse.data_dir)
    write_day(warehouse.data_dir, 0)
    config = shop_config(url=SHOP_URL + "?timeout=0.2")
    db = shop_db(warehouse)
    db.execute("BEGIN EXCLUSIVE")  # another writer holds the database
    try:
        summary = warehouse.ingest(["shop", "web"], config=config)
    finally:
        db.rollback()
        db.close()

    assert list(summary.failed) == ["shop"]
    assert summary.failed["shop"].endswith("cannot read the database: database is locked")
    assert warehouse.count("raw_web.events") == 3
    assert warehouse.ingest(["shop"], config=config).failed == {}  # lock gone: it loads


def test_sql_source_raises_value_errors_the_runner_reports(tmp_path):
    """What ingest.runner gets: SqlSourceError (a ValueError) or FileNotFoundError, never SQLAlchemy's own."""
    from ingest.sql import SqlSourceError, sql_source

    write_shop(tmp_path)
    spec = shop_config(tables={"nope": {}}).sources["shop"]
    with pytest.raises(SqlSourceError, match=r"no table nope \(tables there: customers, order_items"):
        sql_source("shop", spec, tmp_path)
    assert issubclass(SqlSourceError, ValueError)
    with pytest.raises(FileNotFoundError, match="no such SQLite file"):
        sql_source("shop", spec, tmp_path / "elsewhere")


def test_given_the_runs_stats_the_source_counts_and_names_its_quarantined_and_deleted_rows(warehouse, monkeypatch):
    """`sql_source(..., pipeline=, stats=)`: what the runner can pass so the summary shows SQL quarantine lines."""
    from ingest.runner import pipeline_for
    from ingest.sql import sql_source
    from ingest.stats import SourceStats

    write_shop(warehouse.data_dir)
    warehouse.ingest(["shop"])
    with shop_db(warehouse) as db:
        db.execute("INSERT INTO products VALUES ('P2', 'Hat', 'hats', 'n/a', 'EUR', ?)", [ts(0, 3)])
        db.execute("DELETE FROM customers WHERE customer_id = 'S000001'")
    later(monkeypatch, scans=1)
    pipeline = pipeline_for("shop", warehouse.path)
    stats = SourceStats()

    pipeline.run(sql_source("shop", load_config().sources["shop"], warehouse.data_dir, pipeline=pipeline, stats=stats))

    assert stats.table("products").quarantined == 1
    assert stats.table("products").problem_lines() == [
        f"sqlite:///{warehouse.data_dir}/shop/shop.sqlite products row P2: price: not a double"
    ]
    assert stats.table("customers").notes == ["1 row gone from the source: kept in raw, marked _cdp_deleted_at"]


def extract_without_loading(warehouse):
    """What a run killed after normalize leaves behind: a shop load package that never loaded."""
    from ingest.runner import build_source, pipeline_for
    from ingest.stats import SourceStats

    pipeline = pipeline_for("shop", warehouse.path)
    pipeline.extract(build_source("shop", load_config().sources["shop"], warehouse.data_dir, pipeline, SourceStats()))
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    return pipeline, load_id


def test_a_full_scan_killed_before_its_load_marks_each_deleted_row_once(shop, monkeypatch):
    with shop_db(shop) as db:
        db.execute("DELETE FROM customers WHERE customer_id = 'S000002'")
    later(monkeypatch, scans=1)
    extract_without_loading(shop)  # the marks and the scan's time are in the package, not yet loaded

    summary = shop.ingest(["shop"])  # finishes that package first; the scan is then done for today

    assert summary.sources["shop"].recovered[0].startswith("finished load package")
    assert summary.loaded == 0
    assert deleted(shop) == {"S000001": False, "S000002": True, "S000003": False}
    assert shop.count("raw_shop.customers") == 3


def test_a_full_scan_whose_package_is_aborted_is_done_again(shop, monkeypatch):
    from pathlib import Path

    with shop_db(shop) as db:
        db.execute("DELETE FROM customers WHERE customer_id = 'S000002'")
    later(monkeypatch, scans=1)
    pipeline, load_id = extract_without_loading(shop)
    jobs = Path(pipeline.working_dir) / "load" / "normalized" / load_id / "new_jobs"
    for job in jobs.glob("customers.*"):
        job.write_bytes(b"not a parquet file")  # the package cannot load: aborted, its state rewound

    summary = shop.ingest(["shop"])

    assert summary.sources["shop"].recovered[0].startswith(f"aborted load package {load_id}")
    assert loaded(summary, "customers") == 1  # scanned again in this run: the mark, once
    assert deleted(shop) == {"S000001": False, "S000002": True, "S000003": False}
    assert shop.ingest(["shop"]).loaded == 0
