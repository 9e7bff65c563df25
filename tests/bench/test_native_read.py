"""bench.native_read: the ingest baseline reads exactly the rows the generator wrote."""

from __future__ import annotations

import json

import pytest

from bench.native_read import read_all
from cdp.demo.universe import generate

# native table -> where the generator's manifest counts its rows
FILE_TABLES = {
    "native_web.events": "web",
    "native_app.events": "app",
    "native_pos.transactions": "pos",
    "native_crm.contacts": "crm",
    "native_email.subscribers": "email_subscribers",
    "native_email.events": "email_events",
    "native_erp.invoices": "erp",
    "native_partner.responses": "partner",
    "native_broker.enrichment": "broker",
}


@pytest.fixture(scope="module")
def tiny_universe(tmp_path_factory):
    folder = tmp_path_factory.mktemp("universe")
    generate(folder, persons=60, seed=7)
    return folder


def test_native_read_loads_every_row_the_generator_wrote(tiny_universe, tmp_path):
    rows = read_all(tiny_universe, tmp_path / "native.duckdb")
    counts = json.loads((tiny_universe / "manifest.json").read_text())["counts"]
    for table, counted_as in FILE_TABLES.items():
        assert rows[table] == counts["files"][counted_as]["rows"], table
    for table, expected in counts["shop"].items():
        assert rows[f"native_shop.{table}"] == expected, table
