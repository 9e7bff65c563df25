"""Test warehouses for the sync engine: a small segment and marts.customer_360 with consent."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from cdp.activate.delivery import DeliveryPolicy
from cdp.activate.specs import SyncSpec

CUSTOMER_360_COLUMNS = (
    "customer_id varchar, email varchar, phone varchar, country varchar, "
    "consent_email_marketing boolean, consent_ads boolean, email_unsubscribed boolean"
)


def person(number: int, **overrides) -> dict:
    """One customer with every consent given; override what a test needs."""
    return {
        "customer_id": f"C{number:012x}",
        "email": f"person{number}@example.com",
        "phone": f"+3161234{number:04d}",
        "country": "NL",
        "first_name": f"First{number}",
        "product_name": f"Boot {number}",
        "consent_email_marketing": True,
        "consent_ads": True,
        "email_unsubscribed": False,
        **overrides,
    }


class TestWarehouse:
    """A DuckDB file with marts.customer_360 and segments.test_segment, rewritable per run."""

    __test__ = False

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, people: list[dict]) -> None:
        with duckdb.connect(str(self.path)) as con:
            con.execute("create schema if not exists marts; create schema if not exists segments")
            con.execute(f"create or replace table marts.customer_360 ({CUSTOMER_360_COLUMNS})")
            con.execute(
                "create or replace table segments.test_segment "
                "(customer_id varchar, email varchar, phone varchar, country varchar, first_name varchar, product_name varchar)"
            )
            con.executemany(
                "insert into marts.customer_360 values (?, ?, ?, ?, ?, ?, ?)",
                [
                    [
                        p["customer_id"],
                        p["email"],
                        p["phone"],
                        p["country"],
                        p["consent_email_marketing"],
                        p["consent_ads"],
                        p["email_unsubscribed"],
                    ]
                    for p in people
                ],
            )
            members = [
                [p["customer_id"], p["email"], p["phone"], p["country"], p["first_name"], p["product_name"]]
                for p in people
                if p.get("in_segment", True)
            ]
            if members:
                con.executemany("insert into segments.test_segment values (?, ?, ?, ?, ?, ?)", members)

    def query(self, sql: str, params=None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture
def warehouse(tmp_path) -> TestWarehouse:
    return TestWarehouse(tmp_path / "test.duckdb")


# The purpose a test sync declares unless it says otherwise: the one its destination takes.
DEFAULT_PURPOSE = {
    "mailchimp": "email_marketing",
    "klaviyo": "email_marketing",
    "braze": "email_marketing",
    "meta_custom_audiences": "ads",
    "google_ads_customer_match": "ads",
}


def make_spec(**overrides) -> SyncSpec:
    destination = overrides.get("destination", "file")
    values = {
        "purpose": DEFAULT_PURPOSE.get(destination, "service"),
        "name": "test_sync",
        "destination": "file",
        "mode": "mirror",
        "primary_key": "customer_id",
        "identifiers": {"email": "email", "phone": "phone"},
        "fields": {"first_name": "first_name", "product_name": "product_name"},
        "model": "test_segment",
        "relation": '"segments"."test_segment"',
        **overrides,
    }
    return SyncSpec(**values)


class RecordingSleep:
    """Stands in for time.sleep: remembers what was asked, waits only a moment, and moves
    the virtual clock (`clock`) on by what was asked, so pacing sees the time as passed."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.offset = 0.0
        self.lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.calls.append(seconds)
            self.offset += seconds
        time.sleep(min(seconds, 0.01))

    def clock(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture
def fast_policy() -> DeliveryPolicy:
    """Short backoff and timeout, so fault tests finish quickly (no timing is asserted)."""
    sleep = RecordingSleep()
    return DeliveryPolicy(
        max_attempts=4, backoff_initial_s=0.01, backoff_max_s=0.05, timeout_s=0.5, sleep=sleep, clock=sleep.clock
    )
