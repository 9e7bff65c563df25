"""The ERP: invoices (and credit notes for returns) of the few persons with a business account."""

from __future__ import annotations

import random

from cdp.demo import messy, world
from cdp.demo.sources.common import Life, record_id, seconds


def invoice(
    life: Life, rng: random.Random, account: str, day: int, document_type: str, amount: float, currency: str
) -> None:
    person = life.person
    first, last = messy.names(rng, life.rates, person, day)
    address = person.address_on(day)
    row = {
        "invoice_id": record_id("INV", rng),
        "account_number": account,
        "billing_name": f"{last}, {first}" if rng.random() < 0.3 else f"{first} {last}",
        "billing_address": address.line1,
        "billing_postcode": address.postcode,
        "billing_city": address.city,
        "billing_country": person.country,
        "document_type": document_type,
        "issued_at": world.timestamp(day, seconds(rng)),
        "amount": amount,
        "currency": currency,
    }
    if day <= life.hi:
        life.out.row("erp", day, row)
        life.out.seen("erp", account, day)
