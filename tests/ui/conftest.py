"""Fixtures for the workspace tests: one small built warehouse, published, per test session.

A copy of the shared demo pipeline's warehouse (tests/demo_pipeline.py: `cdp run` twice on
the 300-person demo universe, each run publishing at its end), published once more a night
earlier, so the size history has rows a night apart and the pages show a change since the
previous night. Tests that publish again or lock the warehouse work on
a copy of its folder (`warehouse_copy`), so the shared one stays as built.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest


@dataclass
class Built:
    warehouse: Path
    manifest: Path
    published: Path


@pytest.fixture(scope="session")
def built(demo_pipeline, tmp_path_factory) -> Built:
    from cdp.ui.publish import publish

    folder = tmp_path_factory.mktemp("ui") / "warehouse"
    shutil.copytree(demo_pipeline.warehouse.parent, folder, ignore=shutil.ignore_patterns("*.dlt", "exports"))
    warehouse = folder / demo_pipeline.warehouse.name
    # Each nightly run published at its end; one more night, back-dated, gives a trend.
    now = datetime.now(UTC).replace(tzinfo=None)
    published = publish(warehouse, manifest=demo_pipeline.manifest, run_at=now - timedelta(days=1))
    return Built(warehouse, demo_pipeline.manifest, published)


@pytest.fixture
def warehouse_copy(built, tmp_path) -> Path:
    """A copy of the built warehouse (and its published copy) that a test may change."""
    folder = tmp_path / "warehouse"
    shutil.copytree(built.warehouse.parent, folder, ignore=shutil.ignore_patterns("*.dlt", "exports", "logs"))
    (folder / "ui" / "views.sqlite").unlink(missing_ok=True)
    return folder / built.warehouse.name


@pytest.fixture
def client(warehouse_copy):
    """The app with local access (no token), over a copy, so each test's view log starts empty."""
    from starlette.testclient import TestClient

    from cdp.ui.app import create_app

    with TestClient(create_app(warehouse_copy)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def tables(built) -> dict:
    """Figures read straight from the warehouse, to check the pages against."""
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        segments = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'segments' order by 1"
            ).fetchall()
        ]
        sizes = {name: con.execute(f'select count(*) from segments."{name}"').fetchone()[0] for name in segments}
        cart_member = con.execute(
            """
            select s.customer_id, c.email, c.phone from segments.cross_sell as s
            join marts.customer_360 as c using (customer_id)
            where s.why_in_segment like '%in the cart%' and c.email is not null and c.phone is not null
            order by s.customer_id limit 1
            """
        ).fetchone()
        explained = con.execute(
            "select customer_id from identity.record_customers where link_rule = 'probabilistic' order by 1 limit 1"
        ).fetchone()
        not_configured = con.execute(
            "select distinct sync_name from reverse_etl.sync_runs where status = 'skipped' and message like 'not configured%'"
        ).fetchall()
    return {
        "sizes": sizes,
        "cart_member": dict(zip(("customer_id", "email", "phone"), cart_member, strict=True)),
        "not_configured": sorted(name for (name,) in not_configured),
        "probabilistic_customer": explained[0],
    }
