"""A tiny universe in the layout of docs/architecture.md section 1, for ingest tests.

Deterministic and small: a few rows per source and day, so tests can count exactly.
`write_day(root, day)` adds one day of files (each day once); `write_shop(root, version)`
writes or updates the SQLite shop in place (version 2 changes a customer and adds one).
The files are written by the demo generator's own layout code (cdp.demo.layout: paths,
columns, JSONL/CSV/Parquet writers, the shop's tables), so the layout has one implementation.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from cdp.demo.layout import SHOP_TABLES, DayFiles, connect_shop, upsert

START = date(2026, 1, 1)
ROWS_PER_DAY = 3  # per file


def day_name(day: int) -> str:
    return (START + timedelta(days=day)).isoformat()


def ts(day: int, hour: int) -> str:
    return f"{day_name(day)}T{hour:02d}:00:00Z"


def write_day(root: Path, day: int) -> dict[str, int]:
    """One day of every file source; returns rows written per raw table."""
    with DayFiles(root) as files:
        return _write_day(files, day)


def _write_day(files: DayFiles, day: int) -> dict[str, int]:
    d, rows = START + timedelta(days=day), range(ROWS_PER_DAY)
    files.append(
        "web",
        d,
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
    files.append(
        "app",
        d,
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
        files.append(
            "pos",
            d,
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
            key=f"{store:03d}",
        )
    # CRM: day 0 holds contacts c0..c2; each later day changes c0 and adds one new contact
    contacts = (
        [_contact(f"c{i}", day, f"first{i}") for i in rows]
        if day == 0
        else [_contact("c0", day, f"renamed-day{day}"), _contact(f"c-new{day}", day, "new")]
    )
    files.append("crm", d, contacts)
    subscribers = (
        [_subscriber(f"e{i}", day, "subscribed") for i in rows]
        if day == 0
        else [_subscriber("e0", day, "unsubscribed")]
    )
    files.append("email_subscribers", d, subscribers)
    files.append(
        "email_events",
        d,
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
    files.append(
        "erp",
        d,
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
    files.append(
        "partner",
        d,
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
    files.append(
        "broker",
        d,
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
        ],
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


def _customer(number: int, first_name: str, last_name: str, day: int, hour: int, **fields) -> dict:
    return {
        "customer_id": f"S{number:06d}",
        "email": f"s{number}@example.com",
        "first_name": first_name,
        "last_name": last_name,
        "phone": "0612345678",
        "address_line1": "Main St 1",
        "postcode": "1011AB",
        "city": "Amsterdam",
        "country": "NL",
        "date_of_birth": None,
        "created_at": ts(day, hour),
        "updated_at": ts(day, hour),
        **fields,
    }


def _shop_rows(version: int) -> dict[str, list[dict]]:
    """Version 1: three customers, a product, an order; version 2: what changed since."""
    order = {
        "order_id": "O1",
        "customer_id": "S000001",
        "ordered_at": ts(0, 2),
        "status": "placed",
        "total": 99.5,
        "currency": "EUR",
        "updated_at": ts(0, 2),
    }
    if version == 1:
        product = {
            "product_id": "P1",
            "name": "Boots",
            "category": "footwear",
            "price": 99.5,
            "currency": "EUR",
            "updated_at": ts(0, 1),
        }
        item = {
            "order_item_id": "OI1",
            "order_id": "O1",
            "product_id": "P1",
            "quantity": 1,
            "unit_price": 99.5,
            "updated_at": ts(0, 2),
        }
        customers = [_customer(i, "Ann", f"Last{i}", 0, 1) for i in range(1, 4)]
        return {"customers": customers, "products": [product], "orders": [order], "order_items": [item]}
    changed = _customer(2, "Ann", "Married", 0, 1, updated_at=ts(1, 8))
    new = _customer(4, "Bob", "New", 1, 9, address_line1="Main St 2", date_of_birth="1980-01-02")
    return {"customers": [changed, new], "orders": [{**order, "status": "shipped", "updated_at": ts(1, 9)}]}


def write_shop(root: Path, version: int = 1) -> dict[str, int]:
    """Create the shop (version 1) or change it in place (version 2); returns rows per table."""
    db = connect_shop(root)
    try:
        for table, rows in _shop_rows(version).items():
            upsert(db, table, rows)
        db.commit()
        return {f"shop.{t}": db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SHOP_TABLES}
    finally:
        db.close()
