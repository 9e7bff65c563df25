"""The web shop's database: customer accounts (a second one for some), the QA account, orders."""

from __future__ import annotations

import random

from cdp.demo import messy, world
from cdp.demo.sources import erp
from cdp.demo.sources.common import (
    Life,
    Plan,
    apply_change,
    changes,
    identity_at,
    record_id,
    seconds,
    sign_ups,
    stable_id,
)


def customer_id(life: Life, ordinal: int = 0) -> str:
    """The id of the person's shop account (ordinal 1: the duplicate account)."""
    return stable_id("S", life.seed, "shop", life.person.index, ordinal)


def accounts(life: Life, plan: Plan) -> None:
    if not plan.shop:
        return
    rng, person = life.strands["shop"], life.person
    primary, duplicate, duplicate_day = sign_ups(rng, person)
    duplicate_email = _other_email(rng, person.email)
    _customer(life, customer_id(life), person.arrival_day, person.email, primary)
    if plan.duplicate_shop:
        _customer(life, customer_id(life, 1), duplicate_day, duplicate_email, duplicate)


def _other_email(rng: random.Random, email: str) -> str:
    """A second address of the same person: a Gmail spelling, or another provider."""
    if messy.is_gmail(email):
        return messy.gmail_variant(rng, email)
    local = email.split("@")[0]
    return f"{local}@{rng.choice(('gmail.com', 'outlook.com', 'proton.me'))}"


def _customer(life: Life, account: str, created: int, email: str, rng: random.Random) -> None:
    if created > life.hi:
        return
    record = {"customer_id": account, **identity_at(life, rng, created, email)}
    created_at = world.timestamp(created, seconds(rng))
    record.update(created_at=created_at, updated_at=created_at)
    for day, change in changes(life.person, created, life.hi):
        apply_change(life, rng, record, change, day)
        record["updated_at"] = world.timestamp(day, seconds(rng))
    last_change = world.day_of_timestamp(record["updated_at"])
    if life.out.lo <= max(last_change, 0):
        life.out.shop("customers", record)
    life.out.seen("shop", account, max(created, 0))


def test_account(life: Life) -> None:
    """A QA account in the shop: blocked values everywhere; a person of its own."""
    rng, person = life.strands["shop"], life.person
    created = max(person.arrival_day, 0)
    if created > life.hi:
        return
    stamp = world.timestamp(created, seconds(rng))
    record = {
        "customer_id": customer_id(life),
        "email": "test@test.com",
        "first_name": "Test",
        "last_name": "User",
        "phone": "0000000000",
        "address_line1": None,
        "postcode": None,
        "city": None,
        "country": person.country,
        "date_of_birth": None,
        "created_at": stamp,
        "updated_at": stamp,
    }
    if life.out.lo <= created:
        life.out.shop("customers", record)
    life.out.seen("shop", record["customer_id"], created)


def order(life: Life, plan: Plan, rng: random.Random, day: int, second: int, account: str, products: list) -> None:
    """A shop order with its items; status moves placed -> shipped (-> returned) over the days."""
    order_id = record_id("O", rng)
    extra = [rng.choice(world.PRODUCTS) for _ in range(int(rng.expovariate(1.5)))]
    lines = [(product, 1 + (rng.random() < 0.15)) for product in [*products, *extra]]
    total = round(sum(product.price * quantity for product, quantity in lines), 2)
    currency = world.COUNTRY_BY_CODE[life.person.country].currency
    roll, change_second = rng.random(), seconds(rng)  # drawn whatever the status is by day `hi`
    status, changed = _status(day, roll, life.hi)
    if life.out.lo <= changed:
        stamp = world.timestamp(changed, second if changed == day else change_second)
        life.out.shop(
            "orders",
            {
                "order_id": order_id,
                "customer_id": account,
                "ordered_at": world.timestamp(day, second),
                "status": status,
                "total": total,
                "currency": currency,
                "updated_at": stamp,
            },
        )
    if life.out.lo <= day:
        _items(life, order_id, lines, world.timestamp(day, second))
    if plan is not None and plan.erp_account:
        erp.invoice(life, rng, plan.erp_account, day + 1, "invoice", total, currency)
        if roll >= 0.03 and roll < 0.09:
            erp.invoice(life, rng, plan.erp_account, day + 14, "return", -total, currency)


def _items(life: Life, order_id: str, lines: list, stamp: str) -> None:
    for number, (product, quantity) in enumerate(lines, start=1):
        life.out.shop(
            "order_items",
            {
                "order_item_id": f"{order_id}-{number}",
                "order_id": order_id,
                "product_id": product.product_id,
                "quantity": quantity,
                "unit_price": product.price,
                "updated_at": stamp,
            },
        )


def _status(day: int, roll: float, hi: int) -> tuple[str, int]:
    """(status, day of the last change) as of day `hi`: 3% cancelled, 6% returned after 14 days."""
    if roll < 0.03:
        return "cancelled", day
    if hi < day + 1:
        return "placed", day
    if roll < 0.09 and hi >= day + 14:
        return "returned", day + 14
    return "shipped", day + 1
