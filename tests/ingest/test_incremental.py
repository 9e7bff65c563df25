"""Every source loads exactly, re-runs load nothing, a new day loads only the delta, updates merge."""

from __future__ import annotations

from tests.ingest.tiny_universe import write_day, write_shop

RAW_TABLES = [
    "web.events",
    "app.events",
    "shop.customers",
    "shop.products",
    "shop.orders",
    "shop.order_items",
    "pos.transactions",
    "crm.contacts",
    "email.subscribers",
    "email.events",
    "erp.invoices",
    "partner.responses",
    "broker.enrichment",
]


def test_first_run_loads_every_source_exactly_and_a_rerun_nothing(warehouse, day0):
    summary = warehouse.ingest()

    assert summary.failed == {}
    for table in RAW_TABLES:
        source, name = table.split(".")
        assert warehouse.count(f"raw_{table}") == day0[table], table
        assert summary.sources[source].tables[name].loaded == day0[table], table
    # load metadata and file lineage on every row
    assert warehouse.query("SELECT _source_file, _source_row FROM raw_web.events WHERE event_id = 'w0-2'") == [
        ("web/events_2026-01-01.jsonl", 3)
    ]
    assert (
        warehouse.scalar("SELECT count(*) FROM raw_pos.transactions WHERE _dlt_load_id IS NULL OR _dlt_id IS NULL") == 0
    )
    # the manifest accounts for every row of every file
    for source in ["web", "app", "pos", "crm", "email", "erp", "partner", "broker"]:
        rows_in, loaded, quarantined = warehouse.query(
            f"SELECT sum(rows_in), sum(rows_loaded), sum(rows_quarantined) FROM raw_{source}._files"
        )[0]
        assert rows_in == loaded + quarantined > 0, source

    summary = warehouse.ingest()

    assert summary.loaded == 0
    assert summary.sources["pos"].files_skipped == 2
    for table in RAW_TABLES:
        assert warehouse.count(f"raw_{table}") == day0[table], table


def test_new_day_loads_only_the_delta_and_merges_updates(warehouse, day0):
    warehouse.ingest()
    day1 = write_day(warehouse.data_dir, 1)
    write_shop(warehouse.data_dir, version=2)

    summary = warehouse.ingest()

    appended = [
        "web.events",
        "app.events",
        "pos.transactions",
        "email.events",
        "erp.invoices",
        "partner.responses",
        "broker.enrichment",
    ]
    for table in appended:
        source, name = table.split(".")
        assert summary.sources[source].tables[name].loaded == day1[table], table
        assert warehouse.count(f"raw_{table}") == day0[table] + day1[table], table
    # shop: one changed customer + one new one, one changed order; nothing else re-read
    shop = summary.sources["shop"].tables
    assert (shop["customers"].loaded, shop["orders"].loaded, shop["products"].loaded) == (2, 1, 0)
    assert warehouse.query("SELECT last_name FROM raw_shop.customers WHERE customer_id = 'S000002'") == [("Married",)]
    assert warehouse.count("raw_shop.customers") == 4
    assert warehouse.query("SELECT status FROM raw_shop.orders") == [("shipped",)]
    # crm and email subscribers: one row per key, the newest values
    assert warehouse.count("raw_crm.contacts") == 4  # c0..c2 + c-new1
    assert warehouse.query("SELECT first_name FROM raw_crm.contacts WHERE crm_id = 'c0'") == [("renamed-day1",)]
    assert warehouse.query("SELECT status FROM raw_email.subscribers WHERE subscriber_id = 'e0'") == [("unsubscribed",)]
    assert warehouse.count("raw_email.subscribers") == 3


def test_backlog_of_versions_keeps_the_newest_per_key(warehouse):
    """Three days of CRM exports loaded in one go: c0 changed every day, the last change wins."""
    for day in range(3):
        write_day(warehouse.data_dir, day)
    warehouse.ingest(["crm"])

    assert warehouse.query("SELECT count(*), max(first_name) FROM raw_crm.contacts WHERE crm_id = 'c0'") == [
        (1, "renamed-day2")
    ]
    assert warehouse.count("raw_crm.contacts") == 5
