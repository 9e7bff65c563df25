"""The universe's files on disk: each stream's day files (path, format, columns) and the shop's
SQLite tables. The one implementation of the layout (docs/architecture.md section 1), used by
cdp.demo.universe and by the ingest tests' hand-counted tiny universe.

    with DayFiles(folder) as files:
        files.append("web", date(2026, 11, 20), rows)   # rows: dicts holding every column
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# what a person fills in on a form, after the names and email (shop account, CRM contact)
FORM_FIELDS = ("phone", "address_line1", "postcode", "city", "country", "date_of_birth")

# stream -> (path pattern, format, columns); {date} is the file day, {key} the store.
STREAMS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "web": (
        "web/events_{date}.jsonl",
        "jsonl",
        (
            "event_id",
            "anonymous_id",
            "user_id",
            "event_type",
            "occurred_at",
            "page_url",
            "product_id",
            "category",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "email",
        ),
    ),
    "app": (
        "app/events_{date}.jsonl",
        "jsonl",
        (
            "event_id",
            "device_id",
            "user_id",
            "event_type",
            "occurred_at",
            "screen",
            "product_id",
            "category",
            "os",
            "app_version",
        ),
    ),
    "pos": (
        "pos/store_{key}/{date}.csv",
        "csv",
        (
            "transaction_id",
            "line_no",
            "store_id",
            "occurred_at",
            "loyalty_card",
            "email",
            "phone",
            "product_id",
            "quantity",
            "unit_price",
            "currency",
        ),
    ),
    "crm": (
        "crm/contacts_{date}.jsonl",
        "jsonl",
        (
            "crm_id",
            "first_name",
            "last_name",
            "email",
            *FORM_FIELDS,
            "email_marketing_consent",
            "ads_consent",
            "consent_updated_at",
            "created_at",
            "updated_at",
        ),
    ),
    "email_subscribers": (
        "email/subscribers_{date}.csv",
        "csv",
        ("subscriber_id", "email", "status", "subscribed_at", "unsubscribed_at", "updated_at"),
    ),
    "email_events": (
        "email/events_{date}.jsonl",
        "jsonl",
        ("event_id", "email", "event_type", "campaign_id", "occurred_at"),
    ),
    "erp": (
        "erp/invoices_{date}.csv",
        "csv",
        (
            "invoice_id",
            "account_number",
            "billing_name",
            "billing_address",
            "billing_postcode",
            "billing_city",
            "billing_country",
            "document_type",
            "issued_at",
            "amount",
            "currency",
        ),
    ),
    "partner": (
        "partner/responses_{date}.csv",
        "csv",
        ("response_id", "email_sha256", "campaign", "response", "interest", "responded_at"),
    ),
    "broker": (
        "broker/enrichment_{date}.parquet",
        "parquet",
        (
            "broker_record_id",
            "email_sha256",
            "first_name",
            "last_name",
            "postcode",
            "country",
            "age_band",
            "income_band",
            "interests",
            "delivered_at",
        ),
    ),
}

SHOP_TABLES = {
    "customers": (
        "customer_id",
        (
            "customer_id",
            "email",
            "first_name",
            "last_name",
            *FORM_FIELDS,
            "created_at",
            "updated_at",
        ),
    ),
    "products": ("product_id", ("product_id", "name", "category", "price", "currency", "updated_at")),
    "orders": ("order_id", ("order_id", "customer_id", "ordered_at", "status", "total", "currency", "updated_at")),
    "order_items": (
        "order_item_id",
        ("order_item_id", "order_id", "product_id", "quantity", "unit_price", "updated_at"),
    ),
}
SHOP_TYPES = {"price": "REAL", "total": "REAL", "unit_price": "REAL", "quantity": "INTEGER"}
SHOP_PATH = Path("shop") / "shop.sqlite"


# the sources of ingest/sources.yml the demo universe writes (a folder each)
DEMO_SOURCES = tuple(sorted({pattern.split("/")[0] for pattern, _, _ in STREAMS.values()} | {SHOP_PATH.parts[0]}))


def parquet_options() -> dict:
    """Fixed Parquet settings: same rows, same bytes."""
    return {"compression": "zstd", "write_statistics": True, "store_schema": False}


def parquet_schema(stream: str) -> pa.Schema:
    """A Parquet stream's schema: its columns, all text (as a delivered file holds them)."""
    return pa.schema([(name, pa.string()) for name in STREAMS[stream][2]])


class DayFiles:
    """Appends rows to the streams' day files under a folder.

    Text files (JSONL, CSV with a header) are appended to at once; a Parquet file stays
    open, one row group per append, until `close`.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self._parquet: dict[Path, pq.ParquetWriter] = {}

    def __enter__(self) -> DayFiles:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def path(self, stream: str, day: date, key: str = "") -> Path:
        """The file of `stream` for `day` (and the store `key`, for the POS)."""
        return self.folder / STREAMS[stream][0].format(date=day.isoformat(), key=key)

    def append(self, stream: str, day: date, rows: list[dict], key: str = "") -> None:
        _, fmt, columns = STREAMS[stream]
        path = self.path(stream, day, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            self._append_parquet(path, stream, rows)
        else:
            _append_text(path, rows, columns, fmt)

    def _append_parquet(self, path: Path, stream: str, rows: list[dict]) -> None:
        schema = parquet_schema(stream)
        if path not in self._parquet:
            self._parquet[path] = pq.ParquetWriter(path, schema, **parquet_options())
        self._parquet[path].write_table(pa.table({c: [row[c] for row in rows] for c in schema.names}, schema=schema))

    def close(self) -> None:
        for writer in self._parquet.values():
            writer.close()
        self._parquet.clear()


def _append_text(path: Path, rows: list[dict], columns: tuple[str, ...], fmt: str) -> None:
    new = not path.exists()
    buffer = io.StringIO()
    if fmt == "jsonl":
        for row in rows:
            buffer.write(json.dumps({c: row[c] for c in columns}, ensure_ascii=False))
            buffer.write("\n")
    else:
        writer = csv.writer(buffer, lineterminator="\n")
        if new:
            writer.writerow(columns)
        writer.writerows([["" if row[c] is None else row[c] for c in columns] for row in rows])
    with path.open("a", encoding="utf-8", newline="") as handle:
        handle.write(buffer.getvalue())


def connect_shop(folder: Path) -> sqlite3.Connection:
    """The shop database under `folder`, its tables created if missing."""
    path = folder / SHOP_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA page_size = 4096")
    connection.execute("PRAGMA journal_mode = DELETE")
    for table, (key, columns) in SHOP_TABLES.items():
        defs = ", ".join(f"{c} {SHOP_TYPES.get(c, 'TEXT')}{' PRIMARY KEY' if c == key else ''}" for c in columns)
        connection.execute(f"CREATE TABLE IF NOT EXISTS {table} ({defs})")
    connection.commit()
    return connection


def upsert(connection: sqlite3.Connection, table: str, rows: list[dict]) -> None:
    """Insert the rows, replacing those with the same key (rows: dicts holding every column)."""
    columns = SHOP_TABLES[table][1]
    placeholders = ", ".join("?" for _ in columns)
    connection.executemany(
        f"INSERT OR REPLACE INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
        [tuple(row[c] for c in columns) for row in rows],
    )
