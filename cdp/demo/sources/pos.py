"""The stores' point of sale: receipts with a loyalty card, an e-receipt email or a phone."""

from __future__ import annotations

from cdp.demo import messy, world
from cdp.demo.sources.common import Life, Plan, record_id, seconds


def store_visits(life: Life, plan: Plan) -> None:
    if not plan.store:
        return
    rng = life.strands["pos"]
    day = max(life.person.arrival_day, 0) + int(rng.expovariate(1 / 30))
    card_identified = False
    while day <= life.hi:
        category = plan.favourite if rng.random() < 0.5 else rng.choice(tuple(world.CATEGORIES))
        typed = rng.random()
        if plan.loyalty_card:
            # the first visit with the card in our data carries an email or phone, so the card links
            email = life.person.email if (not card_identified or typed < 0.2) else None
            card_identified = True
        else:  # an e-receipt: the email, sometimes the phone too
            email = life.person.email if typed < 0.4 else None
        phone = messy.phone(rng, life.rates, life.person, can_be_missing=False) if typed < 0.1 else None
        transaction(life, rng, plan, day, category, email, phone)
        day += 1 + int(rng.expovariate(1 / 40))


def transaction(life, rng, plan, day, category, email, phone, products=None) -> None:
    transaction_id = record_id("T", rng)
    second = seconds(rng)
    if email is not None and plan.loyalty_card:
        email = messy.maybe(rng, life.rates.typo, messy.typo, email)  # typed by a cashier; the card still links
    products = products or [
        rng.choice(world.PRODUCTS_BY_CATEGORY[category]) for _ in range(1 + int(rng.expovariate(1.2)))
    ]
    currency = world.COUNTRY_BY_CODE[life.person.country].currency
    for line_no, product in enumerate(products, start=1):
        row = {
            "transaction_id": transaction_id,
            "line_no": line_no,
            "store_id": plan.store,
            "occurred_at": world.timestamp(day, second),
            "loyalty_card": plan.loyalty_card,
            "email": email,
            "phone": phone,
            "product_id": product.product_id,
            "quantity": 1 + (rng.random() < 0.1),
            "unit_price": product.price,
            "currency": currency,
        }
        if day <= life.hi:
            life.out.row("pos", day, row, key=plan.store)
    if day <= life.hi and (plan.loyalty_card or email or phone):
        life.out.seen("pos", transaction_id, day)
