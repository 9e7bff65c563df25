"""A tiny universe in the layout of docs/architecture.md section 1, for ingest tests.

Deterministic and small: a few rows per source and day, so tests can count exactly.
`write_day(root, day)` adds one day of files; `write_shop(root, version)` writes or
updates the SQLite shop in place (version 2 changes a customer and adds one).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

START = date(2026, 1, 1)
ROWS_PER_DAY = 3  # per file


def day_name(day: int) -> str:
    return (START + timedelta(days=day)).isoformat()


def ts(day: int, hour: int) -> str:
    return f"{day_name(day)}T{hour:02d}:00:00Z"


def write_jsonl(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def write_csv(path: Path, records: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)


def write_day(root: Path, day: int) -> dict[str, int]:
    """One day of every file source; returns rows written per raw table."""
    d = day_name(day)
    rows = range(ROWS_PER_DAY)
    write_jsonl(
        root / "web" / f"events_{d}.jsonl",
        [
            {
                "event_id": f"w{day}-{i}",
                "anonymous_id": f"a{i}",
                "user_id": None if i else "S000001",
                "event_type": "page_view",
                "occurred_at": ts(day, i),
                "page_url": "/",
                "product_id": None,
                "category": None,
                "utm_source": None,
                "utm_medium": None,
                "utm_campaign": None,
                "email": None,
            }
            for i in rows
        ],
    )
    write_jsonl(
        root / "app" / f"events_{d}.jsonl",
        [
            {
                "event_id": f"p{day}-{i}",
                "device_id": f"d{i}",
                "user_id": None,
                "event_type": "screen_view",
                "occurred_at": ts(day, i),
                "screen": "home",
                "product_id": None,
                "category": None,
                "os": "ios",
                "app_version": "1.0",
            }
            for i in rows
        ],
    )
    for store in (1, 2):
        write_csv(
            root / "pos" / f"store_{store:03d}" / f"{d}.csv",
            [
                {
                    "transaction_id": f"t{day}-{store}-{i}",
                    "line_no": 1,
                    "store_id": store,
                    "occurred_at": ts(day, i),
                    "loyalty_card": f"L{i}",
                    "email": "",
                    "phone": "",
                    "product_id": "P1",
                    "quantity": 2,
                    "unit_price": "9.95",
                    "currency": "EUR",
                }
                for i in rows
            ],
        )
    # CRM: day 0 holds contacts c0..c2; each later day changes c0 and adds one new contact
    contacts = (
        [_contact(f"c{i}", day, f"first{i}") for i in rows]
        if day == 0
        else [_contact("c0", day, f"renamed-day{day}"), _contact(f"c-new{day}", day, "new")]
    )
    write_jsonl(root / "crm" / f"contacts_{d}.jsonl", contacts)
    subscribers = (
        [_subscriber(f"e{i}", day, "subscribed") for i in rows]
        if day == 0
        else [_subscriber("e0", day, "unsubscribed")]
    )
    write_csv(root / "email" / f"subscribers_{d}.csv", subscribers)
    write_jsonl(
        root / "email" / f"events_{d}.jsonl",
        [
            {
                "event_id": f"m{day}-{i}",
                "email": f"e{i}@example.com",
                "event_type": "open",
                "campaign_id": "k1",
                "occurred_at": ts(day, i),
            }
            for i in rows
        ],
    )
    write_csv(
        root / "erp" / f"invoices_{d}.csv",
        [
            {
                "invoice_id": f"i{day}-{i}",
                "account_number": f"A{i}",
                "billing_name": "Doe, Jane",
                "billing_address": "Main St 1",
                "billing_postcode": "1011AB",
                "billing_city": "Amsterdam",
                "billing_country": "NL",
                "document_type": "invoice",
                "issued_at": ts(day, i),
                "amount": "12.50",
                "currency": "EUR",
            }
            for i in rows
        ],
    )
    write_csv(
        root / "partner" / f"responses_{d}.csv",
        [
            {
                "response_id": f"r{day}-{i}",
                "email_sha256": "ab" * 32,
                "campaign": "spring",
                "response": "clicked",
                "interest": "outdoor",
                "responded_at": ts(day, i),
            }
            for i in rows
        ],
    )
    broker = root / "broker" / f"enrichment_{d}.parquet"
    broker.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pylist(
            [
                {
                    "broker_record_id": f"b{day}-{i}",
                    "email_sha256": None,
                    "first_name": "Jane",
                    "last_name": "Doe",
                    "postcode": "1011AB",
                    "country": "NL",
                    "age_band": "30-39",
                    "income_band": "mid",
                    "interests": "outdoor,books",
                    "delivered_at": ts(day, i),
                }
                for i in rows
            ]
        ),
        broker,
    )
    return {
        "web.events": 3,
        "app.events": 3,
        "pos.transactions": 6,
        "crm.contacts": len(contacts),
        "email.subscribers": len(subscribers),
        "email.events": 3,
        "erp.invoices": 3,
        "partner.responses": 3,
        "broker.enrichment": 3,
    }


def _contact(crm_id: str, day: int, first_name: str) -> dict:
    return {
        "crm_id": crm_id,
        "first_name": first_name,
        "last_name": "Doe",
        "email": f"{crm_id}@example.com",
        "phone": "+31612345678",
        "address_line1": "Main St 1",
        "postcode": "1011AB",
        "city": "Amsterdam",
        "country": "NL",
        "date_of_birth": "1990-05-01",
        "email_marketing_consent": True,
        "ads_consent": False,
        "consent_updated_at": ts(day, 1),
        "created_at": ts(0, 1),
        "updated_at": ts(day, 5),
    }


def _subscriber(subscriber_id: str, day: int, status: str) -> dict:
    return {
        "subscriber_id": subscriber_id,
        "email": f"{subscriber_id}@example.com",
        "status": status,
        "subscribed_at": ts(0, 2),
        "unsubscribed_at": ts(day, 3) if status == "unsubscribed" else "",
        "updated_at": ts(day, 4),
    }


SHOP_TABLES = {
    "customers": "customer_id TEXT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, phone TEXT, "
    "address_line1 TEXT, postcode TEXT, city TEXT, country TEXT, date_of_birth TEXT, created_at TEXT, updated_at TEXT",
    "products": "product_id TEXT PRIMARY KEY, name TEXT, category TEXT, price REAL, currency TEXT, updated_at TEXT",
    "orders": "order_id TEXT PRIMARY KEY, customer_id TEXT, ordered_at TEXT, status TEXT, total REAL, "
    "currency TEXT, updated_at TEXT",
    "order_items": "order_item_id TEXT PRIMARY KEY, order_id TEXT, product_id TEXT, quantity INTEGER, "
    "unit_price REAL, updated_at TEXT",
}


def write_shop(root: Path, version: int = 1) -> dict[str, int]:
    """Create the shop (version 1) or change it in place (version 2); returns rows per table."""
    path = root / "shop" / "shop.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        for table, columns in SHOP_TABLES.items():
            db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
        if version == 1:
            for i in range(1, 4):
                db.execute(
                    "INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        f"S00000{i}",
                        f"s{i}@example.com",
                        "Ann",
                        f"Last{i}",
                        "0612345678",
                        "Main St 1",
                        "1011AB",
                        "Amsterdam",
                        "NL",
                        None,
                        ts(0, 1),
                        ts(0, 1),
                    ),
                )
            db.execute("INSERT INTO products VALUES ('P1','Boots','footwear',99.5,'EUR',?)", (ts(0, 1),))
            db.execute("INSERT INTO orders VALUES ('O1','S000001',?,'placed',99.5,'EUR',?)", (ts(0, 2), ts(0, 2)))
            db.execute("INSERT INTO order_items VALUES ('OI1','O1','P1',1,99.5,?)", (ts(0, 2),))
        else:
            db.execute(
                "UPDATE customers SET last_name = 'Married', updated_at = ? WHERE customer_id = 'S000002'", (ts(1, 8),)
            )
            db.execute(
                "INSERT INTO customers VALUES ('S000004','s4@example.com','Bob','New','0612345678',"
                "'Main St 2','1011AB','Amsterdam','NL','1980-01-02',?,?)",
                (ts(1, 9), ts(1, 9)),
            )
            db.execute("UPDATE orders SET status = 'shipped', updated_at = ? WHERE order_id = 'O1'", (ts(1, 9),))
    with sqlite3.connect(path) as db:
        return {f"shop.{t}": db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SHOP_TABLES}
