"""The read side: the nightly run's publish step, and an app that never touches the live warehouse."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from datetime import datetime

import duckdb
import pytest
from starlette.testclient import TestClient

from cdp.ui.app import create_app
from cdp.ui.publish import PUBLISHED_SCHEMAS, publish, published_path, views_path

pytestmark = pytest.mark.slow  # a built warehouse (tests/ui/conftest.py)


def history(warehouse) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select run_at, segment, size from ui.segment_size_history order by run_at, segment"
        ).fetchall()


def test_each_publish_appends_one_row_per_segment(warehouse_copy, built, tables):
    before = history(warehouse_copy)
    assert len(before) == 3 * len(tables["sizes"])  # both nightly runs published, and the fixture once more
    publish(warehouse_copy, manifest=built.manifest, run_at=datetime(2030, 1, 1))
    after = history(warehouse_copy)
    assert after[: len(before)] == before
    assert {(segment, size) for run_at, segment, size in after if run_at == datetime(2030, 1, 1)} == set(
        tables["sizes"].items()
    )


def test_the_published_copy_holds_what_the_app_reads_and_opens_read_only(built, tables):
    with duckdb.connect(str(built.published), read_only=True) as con:
        schemas = {schema for (schema,) in con.execute("select distinct schema_name from duckdb_tables()").fetchall()}
        meta = dict(con.execute("select segment, journey_stage from ui.segment_meta").fetchall())
        sizes = {name: con.execute(f'select count(*) from segments."{name}"').fetchone()[0] for name in tables["sizes"]}
    assert schemas == set(PUBLISHED_SCHEMAS)
    assert sizes == tables["sizes"]
    assert meta["cross_sell"] == "retention"
    assert not list(built.published.parent.glob(".published-*"))  # the temp file was renamed over it


def test_profile_views_are_copied_into_the_warehouse(warehouse_copy, built, tables):
    customer = tables["cart_member"]["customer_id"]
    with TestClient(create_app(warehouse_copy)) as client:
        client.get(f"/profiles/{customer}")
        client.get(f"/profiles/{customer}")
    publish(warehouse_copy, manifest=built.manifest)
    publish(warehouse_copy, manifest=built.manifest)  # again: the same two views, not four
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        views = con.execute("select viewer, customer_id from ui.profile_views").fetchall()
    assert len(views) == 2 and {customer_id for _, customer_id in views} == {customer}
    with sqlite3.connect(views_path(warehouse_copy)) as log:
        assert log.execute("select count(*) from profile_views").fetchone()[0] == 2
    views_path(warehouse_copy).unlink()  # the app's log removed: the views copied stay
    with TestClient(create_app(warehouse_copy)) as client:
        client.get(f"/api/profiles/{customer}")
    publish(warehouse_copy, manifest=built.manifest)
    with duckdb.connect(str(warehouse_copy), read_only=True) as con:
        assert con.execute("select count(*) from ui.profile_views").fetchone()[0] == 3


HOLD_WRITE_LOCK = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create or replace table main.busy as select 1 as x")
print("locked", flush=True)
time.sleep(120)
"""


def test_the_app_works_while_another_process_writes_the_warehouse(warehouse_copy, tables):
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(warehouse_copy)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException):  # what a reader of the live file would meet
            duckdb.connect(str(warehouse_copy), read_only=True)
        with TestClient(create_app(warehouse_copy)) as client:
            for path in (
                "/segments",
                "/segments/cross_sell",
                "/syncs",
                "/identity",
                f"/profiles/{tables['cart_member']['customer_id']}",
            ):
                assert client.get(path).status_code == 200, path
    finally:
        writer.kill()
        writer.wait()


def test_the_app_reads_a_new_copy_as_soon_as_it_is_published(warehouse_copy, built):
    with TestClient(create_app(warehouse_copy)) as client:
        nights = len(client.get("/api/segments/cross_sell").json()["history"])
        time.sleep(0.01)  # a new modification time even on coarse clocks
        publish(warehouse_copy, manifest=built.manifest)
        assert len(client.get("/api/segments/cross_sell").json()["history"]) == nights + 1


def test_without_a_published_copy_the_pages_say_so(tmp_path):
    warehouse = tmp_path / "cdp.duckdb"
    with TestClient(create_app(warehouse)) as client:
        response = client.get("/segments")
        assert response.status_code == 503 and "no published copy yet" in response.text
        assert client.get("/api/segments").status_code == 503
    assert not warehouse.exists() and not published_path(warehouse).exists()  # the app created neither


def test_a_request_reading_the_old_copy_is_not_disturbed_by_a_new_one(warehouse_copy, built):
    from cdp.ui import queries
    from cdp.ui.store import Published

    copy = Published(published_path(warehouse_copy))
    reading = copy.cursor()  # a request that started before the nightly run published
    before = len(queries.size_history(reading)["cross_sell"])
    time.sleep(0.01)
    publish(warehouse_copy, manifest=built.manifest)
    after = copy.cursor()
    assert len(queries.size_history(after)["cross_sell"]) == before + 1
    assert len(queries.size_history(reading)["cross_sell"]) == before  # still its own, whole copy
