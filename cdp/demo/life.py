"""One person's life story, written into every source that sees it.

`live(person, rates, out)` replays the person's whole life from their own seeded
random streams up to `out.hi` and hands every row to `out`, which keeps only the
rows whose file day lies in `[out.lo, out.hi]`. Replaying instead of storing
state is what makes `advance` cheap to get right: day D+1 of a person is the
same whether the universe was generated up to D and advanced, or generated to
D+1 at once.

Each strand of a life (web sessions, store visits, email, partner, broker...)
draws from its own random stream, so a strand that runs up to `hi` never shifts
the draws of another.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field

from cdp.demo import messy, world
from cdp.demo.people import Person, event_day
from cdp.demo.rates import Rates

STRANDS = ("plan", "shop", "crm", "sessions", "pos", "email", "partner", "broker", "story")


@dataclass
class Plan:
    """Which sources see the person (drawn once per person)."""

    shop: bool
    duplicate_shop: bool
    web_cookies: int
    app_devices: int
    store: str | None
    loyalty_card: str | None
    crm: bool
    duplicate_crm: bool
    subscriber: bool
    erp_account: str | None
    partner: bool
    broker: bool
    story: bool
    sessions_per_day: float
    favourite: str
    email_consent: bool
    ads_consent: bool


@dataclass
class Life:
    person: Person
    rates: Rates
    out: Sink
    seed: int
    strands: dict[str, random.Random] = field(default_factory=dict)

    @property
    def hi(self) -> int:
        return self.out.hi


class Sink:
    """What a life writes to; the universe implements it (cdp.demo.universe.BatchRows)."""

    lo: int
    hi: int

    def row(self, stream: str, day: int, row: dict, key: str = "") -> None: ...

    def shop(self, table: str, row: dict) -> None: ...

    def seen(self, source: str, record_id: str, day: int) -> None: ...


def record_id(prefix: str, rng: random.Random) -> str:
    return f"{prefix}{rng.getrandbits(64):016x}"


def event_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def sha256(text: str) -> str:
    return hashlib.sha256(text.strip().lower().encode()).hexdigest()


def seconds(rng: random.Random) -> int:
    return rng.randint(7 * 3600, 22 * 3600)


def stable_id(prefix: str, seed: int, source: str, index: int, ordinal: int = 0, digits: int = 9) -> str:
    return f"{prefix}{world.scrambled(index * 4 + ordinal, f'{seed}:{source}', digits):0{digits}d}"


def live(person: Person, rates: Rates, out: Sink, seed: int) -> None:
    rng = person.rng
    life = Life(person, rates, out, seed, {name: random.Random(rng.getrandbits(64)) for name in STRANDS})
    if person.kind == "visitor":
        _web_visitor(life)
    elif person.kind == "test":
        _test_account(life)
    else:
        plan = _plan(life)
        _shop_accounts(life, plan)
        _crm(life, plan)
        _sessions(life, plan)
        _store_visits(life, plan)
        _email(life, plan)
        _partner(life, plan)
        _broker(life, plan)
        if plan.story:
            _journey_story(life, plan)


def _plan(life: Life) -> Plan:
    person, rng = life.person, life.strands["plan"]
    rolls = [rng.random() for _ in range(16)]  # a fixed number of draws whatever the outcome
    story = (
        rolls[0] < life.rates.journey_story
        and person.arrival_day <= world.HISTORY_DAYS - 160  # only persons of the initial universe
    )
    shop = story or rolls[1] < 0.7
    store_shopper = story or rolls[4] < 0.4
    carded = story or (store_shopper and rolls[5] < 0.7)
    stores = world.STORES[person.country]
    subscriber = person.owns_email and rolls[11] < 0.5
    return Plan(
        shop=shop,
        duplicate_shop=shop and rolls[2] < life.rates.duplicate_shop_account,
        web_cookies=(1 + int(rolls[3] * 3)) if (shop and rolls[6] < 0.9) or story or rolls[6] < 0.3 else 0,
        app_devices=(1 + (rolls[7] < 0.1)) if story or (shop and rolls[7] < 0.3) else 0,
        store=stores[int(rolls[8] * len(stores))] if store_shopper else None,
        loyalty_card=stable_id("L", life.seed, "loyalty", person.index, digits=10) if carded else None,
        crm=rolls[9] < 0.6,
        duplicate_crm=rolls[10] < life.rates.duplicate_crm_contact,
        subscriber=subscriber,
        erp_account=stable_id("A", life.seed, "erp", person.index, digits=8) if shop and rolls[12] < 0.1 else None,
        # hashed emails only join through an exact email elsewhere: partner members are subscribers
        partner=subscriber and rolls[13] < 0.2,
        broker=rolls[14] < 0.2,
        story=story,
        sessions_per_day=rng.choice((0.01, 0.02, 0.04, 0.08)),
        favourite=rng.choice(tuple(world.CATEGORIES)),
        email_consent=rolls[15] < 0.6,
        ads_consent=rolls[15] < 0.4,
    )


# --- shop -------------------------------------------------------------------------------


def _shop_accounts(life: Life, plan: Plan) -> None:
    if not plan.shop:
        return
    rng, person = life.strands["shop"], life.person
    primary, duplicate = _record_streams(rng, 2)
    duplicate_day = person.arrival_day + rng.randint(1, 60)  # a second sign-up within two months
    duplicate_email = _other_email(rng, person.email)
    _shop_customer(life, stable_id("S", life.seed, "shop", person.index), person.arrival_day, person.email, primary)
    if plan.duplicate_shop:
        _shop_customer(
            life, stable_id("S", life.seed, "shop", person.index, 1), duplicate_day, duplicate_email, duplicate
        )


def _record_streams(rng: random.Random, count: int) -> list[random.Random]:
    """One random stream per record: how many changes a record has seen by day `hi` must not
    shift the draws of the next record (or `advance` would rewrite it differently)."""
    return [random.Random(rng.getrandbits(64)) for _ in range(count)]


def _other_email(rng: random.Random, email: str) -> str:
    """A second address of the same person: a Gmail spelling, or another provider."""
    if messy.is_gmail(email):
        return messy.gmail_variant(rng, email)
    local = email.split("@")[0]
    return f"{local}@{rng.choice(('gmail.com', 'outlook.com', 'proton.me'))}"


def _identity_at(life: Life, rng: random.Random, day: int, email: str | None) -> dict:
    """The identity fields of a form filled in on `day`: rendered with all the messiness."""
    person, rates = life.person, life.rates
    first, last = messy.names(rng, rates, person, day)
    typed_email = None
    if email is not None:
        typed_email = messy.email(rng, rates, person) if email == person.email else email
    address = person.address_on(day)
    missing_address = rng.random() < rates.missing_address
    return {
        "email": typed_email,
        "first_name": first,
        "last_name": last,
        "phone": messy.phone(rng, rates, person),
        "address_line1": None
        if missing_address
        else messy.maybe(rng, rates.odd_case_whitespace, messy.odd_case_whitespace, address.line1),
        "postcode": None if missing_address else address.postcode,
        "city": None if missing_address else address.city,
        "country": person.country,
        "date_of_birth": messy.date_of_birth(rng, rates, person),
    }


def _changes(person: Person, created: int, hi: int) -> list[tuple[int, str]]:
    """The life events that change a person's record after it was created, up to `hi`."""
    events = []
    if person.move_day is not None and created < person.move_day <= hi:
        events.append((person.move_day, "move"))
    if person.marriage_day is not None and created < person.marriage_day <= hi:
        events.append((person.marriage_day, "marriage"))
    return sorted(events)


def _apply_change(life: Life, rng: random.Random, record: dict, change: str, day: int) -> None:
    person = life.person
    if change == "move":
        address = person.address_on(day)
        record.update(address_line1=address.line1, postcode=address.postcode, city=address.city)
    else:
        record["last_name"] = messy.maybe(rng, life.rates.typo, messy.typo, person.last_name_on(day))


def _shop_customer(life: Life, customer_id: str, created: int, email: str, rng: random.Random) -> None:
    if created > life.hi:
        return
    record = {"customer_id": customer_id, **_identity_at(life, rng, created, email)}
    created_at = world.timestamp(created, seconds(rng))
    record.update(created_at=created_at, updated_at=created_at)
    for day, change in _changes(life.person, created, life.hi):
        _apply_change(life, rng, record, change, day)
        record["updated_at"] = world.timestamp(day, seconds(rng))
    last_change = world.day_of_timestamp(record["updated_at"])
    if life.out.lo <= max(last_change, 0):
        life.out.shop("customers", record)
    life.out.seen("shop", customer_id, max(created, 0))


# --- CRM ---------------------------------------------------------------------------------


def _crm(life: Life, plan: Plan) -> None:
    if not plan.crm:
        return
    rng, person = life.strands["crm"], life.person
    primary, duplicate = _record_streams(rng, 2)
    duplicate_day = person.arrival_day + rng.randint(1, 60)  # a second sign-up within two months
    _crm_contact(life, plan, stable_id("CRM", life.seed, "crm", person.index), person.arrival_day, primary)
    if plan.duplicate_crm:
        _crm_contact(life, plan, stable_id("CRM", life.seed, "crm", person.index, 1), duplicate_day, duplicate)


def _crm_contact(life: Life, plan: Plan, crm_id: str, created: int, rng: random.Random) -> None:
    """Writes the contact as of each day it was created or changed (the CRM's daily export)."""
    if created > life.hi:
        return
    person = life.person
    record = {"crm_id": crm_id, **_identity_at(life, rng, created, person.email)}
    created_at = world.timestamp(created, seconds(rng))
    record.update(
        email_marketing_consent=plan.email_consent,
        ads_consent=plan.ads_consent,
        consent_updated_at=created_at,
        created_at=created_at,
        updated_at=created_at,
    )
    first_file_day = max(created, 0)
    life.out.row("crm", first_file_day, dict(record))
    withdrawal = event_day(rng, max(created, 0), life.rates.consent_withdrawal)
    changes = _changes(person, created, life.hi)
    if withdrawal <= life.hi and (plan.email_consent or plan.ads_consent):
        changes = sorted([*changes, (withdrawal, "consent")])
    for day, change in changes:
        stamp = world.timestamp(day, seconds(rng))
        if change == "consent":
            record.update(email_marketing_consent=False, ads_consent=False, consent_updated_at=stamp)
        else:
            _apply_change(life, rng, record, change, day)
        record["updated_at"] = stamp
        # a change before the window is already part of the first (full history) file
        life.out.row("crm", max(day, first_file_day), dict(record))
    life.out.seen("crm", crm_id, first_file_day)


# --- web and app sessions, orders, invoices --------------------------------------------------


def _web_visitor(life: Life) -> None:
    """Browses the website, never logs in or leaves an email: a person of their own.

    One cookie only: two cookies that never identify are two visitors to anyone, the truth included.
    """
    rng = life.strands["sessions"]
    cookies = [event_uuid(rng)]
    day = max(life.person.arrival_day, 0) + int(rng.expovariate(0.05))
    while day <= life.hi:
        cookie = rng.choice(cookies)
        _web_session(life, rng, day, cookie, None, rng.choice(tuple(world.CATEGORIES)), purchase=False)
        day += 1 + int(rng.expovariate(0.04))


def _sessions(life: Life, plan: Plan) -> None:
    rng, person = life.strands["sessions"], life.person
    cookies = [event_uuid(rng) for _ in range(plan.web_cookies)]
    devices = [event_uuid(rng) for _ in range(plan.app_devices)]
    os_name = rng.choice(world.APP_OS)
    customer_id = stable_id("S", life.seed, "shop", person.index) if plan.shop else None
    identified: set[str] = set()
    day = max(person.arrival_day, 0)
    if plan.shop and person.arrival_day >= 0 and cookies:
        _signup(life, rng, day, cookies[0], customer_id)
        identified.add(cookies[0])
        day += 1
    day += int(rng.expovariate(plan.sessions_per_day))
    while day <= life.hi and (cookies or devices):
        category = plan.favourite if rng.random() < 0.6 else rng.choice(tuple(world.CATEGORIES))
        use_app = devices and (not cookies or rng.random() < 0.5)
        purchase = plan.shop and not _quiet_after_story(plan, day)
        if use_app:
            device = rng.choice(devices)
            _app_session(life, plan, rng, day, device, customer_id, os_name, category, login=device not in identified)
            identified.add(device)
        else:
            cookie = rng.choice(cookies)
            # every cookie of an identified person identifies itself in its first session
            must_identify = cookie not in identified
            user_id = customer_id if (customer_id and (must_identify or rng.random() < 0.6)) else None
            _web_session(
                life,
                rng,
                day,
                cookie,
                user_id,
                category,
                purchase,
                plan=plan,
                info_request=must_identify and customer_id is None,
            )
            identified.add(cookie)
        day += 1 + int(rng.expovariate(plan.sessions_per_day))


def _quiet_after_story(plan: Plan, day: int) -> bool:
    """Story persons buy nothing online from shortly before the cart they abandon."""
    return plan.story and world.HISTORY_DAYS - 10 <= day < world.HISTORY_DAYS + 7


def _emit_event(life: Life, rng: random.Random, stream: str, day: int, row: dict) -> None:
    """Late arrival lands in a later day's file; a duplicate is the same line twice."""
    file_day = day + (rng.choice((1, 1, 2)) if rng.random() < life.rates.late_event else 0)
    copies = 2 if rng.random() < life.rates.duplicate_event else 1
    for _ in range(copies):
        life.out.row(stream, file_day, row)


def _web_event(
    life, rng, day, second, cookie, user_id, event_type, product=None, category=None, url=None, utm=None, email=None
):
    row = {
        "event_id": event_uuid(rng),
        "anonymous_id": cookie,
        "user_id": user_id,
        "event_type": event_type,
        "occurred_at": world.timestamp(day, min(second, 86399)),
        "page_url": url
        or (f"https://shop.example.com/p/{product.product_id}" if product else "https://shop.example.com/"),
        "product_id": product.product_id if product else None,
        "category": category or (product.category if product else None),
        "utm_source": utm[0] if utm else None,
        "utm_medium": utm[1] if utm else None,
        "utm_campaign": utm[2] if utm else None,
        "email": email,
    }
    _emit_event(life, rng, "web", day, row)
    life.out.seen("web", cookie, day)


def _signup(life: Life, rng: random.Random, day: int, cookie: str, customer_id: str) -> None:
    second = seconds(rng)
    _web_event(life, rng, day, second, cookie, None, "page_view", url="https://shop.example.com/signup")
    email = messy.email(rng, life.rates, life.person)
    _web_event(
        life, rng, day, second + 40, cookie, customer_id, "signup", url="https://shop.example.com/signup", email=email
    )


def _web_session(
    life, rng, day, cookie, user_id, category, purchase, plan=None, info_request=False, story_product=None
):
    second = seconds(rng)
    utm = rng.choice(world.UTM_CAMPAIGNS) if rng.random() < 0.3 else None
    if user_id:
        _web_event(life, rng, day, second, cookie, user_id, "login", url="https://shop.example.com/login", utm=utm)
        second += rng.randint(5, 60)
        utm = None
    _web_event(
        life,
        rng,
        day,
        second,
        cookie,
        user_id,
        "page_view",
        category=category,
        url=f"https://shop.example.com/c/{category}",
        utm=utm,
    )
    products = world.PRODUCTS_BY_CATEGORY[category]
    viewed = [rng.choice(products) for _ in range(1 + int(rng.expovariate(0.7)))]
    if story_product is not None:
        viewed = [story_product]
    for product in viewed:
        second += rng.randint(10, 180)
        _web_event(life, rng, day, second, cookie, user_id, "product_view", product)
    if info_request:
        second += rng.randint(10, 120)
        # the email is the only identifier here, so no Gmail re-spelling (it would not link)
        email = messy.maybe(rng, life.rates.odd_case_whitespace, messy.odd_case_whitespace, life.person.email)
        _web_event(
            life,
            rng,
            day,
            second,
            cookie,
            None,
            "info_request",
            viewed[-1],
            url="https://shop.example.com/contact",
            email=email,
        )
        return
    intent = rng.random()
    if story_product is not None or intent < 0.35:
        second += rng.randint(10, 120)
        _web_event(life, rng, day, second, cookie, user_id, "add_to_cart", viewed[-1])
        if story_product is None and purchase and user_id and intent < 0.2:
            second += rng.randint(30, 300)
            _web_event(life, rng, day, second, cookie, user_id, "checkout_started", viewed[-1])
            second += rng.randint(30, 300)
            _web_event(life, rng, day, second, cookie, user_id, "order_completed", viewed[-1])
            _order(life, plan, rng, day, second, user_id, [viewed[-1]])
        elif story_product is None and intent < 0.05:
            second += rng.randint(10, 120)
            _web_event(life, rng, day, second, cookie, user_id, "remove_from_cart", viewed[-1])


def _app_event(life, rng, day, second, device, user_id, event_type, os_name, screen, product=None, category=None):
    row = {
        "event_id": event_uuid(rng),
        "device_id": device,
        "user_id": user_id,
        "event_type": event_type,
        "occurred_at": world.timestamp(day, min(second, 86399)),
        "screen": screen,
        "product_id": product.product_id if product else None,
        "category": category or (product.category if product else None),
        "os": os_name,
        "app_version": world.APP_VERSIONS[min(day // 60, len(world.APP_VERSIONS) - 1) if day >= 0 else 0],
    }
    _emit_event(life, rng, "app", day, row)
    life.out.seen("app", device, day)


def _app_session(life, plan, rng, day, device, customer_id, os_name, category, login, browse_only=False):
    second = seconds(rng)
    if login:
        _app_event(life, rng, day, second, device, customer_id, "login", os_name, "login")
    elif rng.random() < 0.2:
        _app_event(life, rng, day, second, device, customer_id, "push_open", os_name, "home")
    _app_event(
        life,
        rng,
        day,
        second + 5,
        device,
        customer_id,
        "screen_view",
        os_name,
        f"category/{category}",
        category=category,
    )
    products = world.PRODUCTS_BY_CATEGORY[category]
    viewed = [rng.choice(products) for _ in range(1 + int(rng.expovariate(0.6)))]
    for product in viewed:
        second += rng.randint(10, 120)
        _app_event(life, rng, day, second, device, customer_id, "product_view", os_name, "product", product)
    if not browse_only and not _quiet_after_story(plan, day) and rng.random() < 0.12:
        second += rng.randint(10, 120)
        _app_event(life, rng, day, second, device, customer_id, "add_to_cart", os_name, "cart", viewed[-1])
        second += rng.randint(30, 300)
        _app_event(life, rng, day, second, device, customer_id, "order_completed", os_name, "checkout", viewed[-1])
        _order(life, plan, rng, day, second, customer_id, [viewed[-1]])


def _order(life: Life, plan: Plan, rng: random.Random, day: int, second: int, customer_id: str, products: list) -> None:
    """A shop order with its items; status moves placed -> shipped (-> returned) over the days."""
    order_id = record_id("O", rng)
    extra = [rng.choice(world.PRODUCTS) for _ in range(int(rng.expovariate(1.5)))]
    lines = [(product, 1 + (rng.random() < 0.15)) for product in [*products, *extra]]
    total = round(sum(product.price * quantity for product, quantity in lines), 2)
    currency = world.COUNTRY_BY_CODE[life.person.country].currency
    roll, change_second = rng.random(), seconds(rng)  # drawn whatever the status is by day `hi`
    status, changed = _order_status(day, roll, life.hi)
    out = life.out
    if out.lo <= changed:
        stamp = world.timestamp(changed, second if changed == day else change_second)
        out.shop(
            "orders",
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "ordered_at": world.timestamp(day, second),
                "status": status,
                "total": total,
                "currency": currency,
                "updated_at": stamp,
            },
        )
    if out.lo <= day:
        for number, (product, quantity) in enumerate(lines, start=1):
            out.shop(
                "order_items",
                {
                    "order_item_id": f"{order_id}-{number}",
                    "order_id": order_id,
                    "product_id": product.product_id,
                    "quantity": quantity,
                    "unit_price": product.price,
                    "updated_at": world.timestamp(day, second),
                },
            )
    if plan is not None and plan.erp_account:
        _invoice(life, rng, plan.erp_account, day + 1, "invoice", total, currency)
        if roll >= 0.03 and roll < 0.09:
            _invoice(life, rng, plan.erp_account, day + 14, "return", -total, currency)


def _order_status(day: int, roll: float, hi: int) -> tuple[str, int]:
    """(status, day of the last change) as of day `hi`: 3% cancelled, 6% returned after 14 days."""
    if roll < 0.03:
        return "cancelled", day
    if hi < day + 1:
        return "placed", day
    if roll < 0.09 and hi >= day + 14:
        return "returned", day + 14
    return "shipped", day + 1


def _invoice(
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


# --- stores ----------------------------------------------------------------------------------


def _store_visits(life: Life, plan: Plan) -> None:
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
            phone = messy.phone(rng, life.rates, life.person, can_be_missing=False) if typed < 0.1 else None
            card_identified = True
        else:  # an e-receipt: the email, sometimes the phone too
            email = life.person.email if typed < 0.4 else None
            phone = messy.phone(rng, life.rates, life.person, can_be_missing=False) if typed < 0.1 else None
        _transaction(life, rng, plan, day, category, email, phone)
        day += 1 + int(rng.expovariate(1 / 40))


def _transaction(life, rng, plan, day, category, email, phone, products=None) -> None:
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


# --- email platform ---------------------------------------------------------------------------


def _email(life: Life, plan: Plan) -> None:
    if not plan.subscriber:
        return
    rng, person = life.strands["email"], life.person
    subscriber_id = stable_id("SUB", life.seed, "email", person.index)
    created = person.arrival_day + rng.randint(0, 30)
    if created > life.hi:
        return
    subscribed_at = world.timestamp(created, seconds(rng))
    first_file_day = max(created, 0)
    unsubscribe = event_day(rng, first_file_day, life.rates.unsubscribes)
    row = {
        "subscriber_id": subscriber_id,
        "email": person.email,
        "status": "subscribed",
        "subscribed_at": subscribed_at,
        "unsubscribed_at": None,
        "updated_at": subscribed_at,
    }
    life.out.row("email_subscribers", first_file_day, dict(row))
    life.out.seen("email", subscriber_id, first_file_day)
    campaign = first_file_day + (-first_file_day) % world.EMAIL_CAMPAIGN_EVERY_DAYS
    while campaign <= min(life.hi, unsubscribe - 1):
        _campaign_events(life, rng, campaign)
        campaign += world.EMAIL_CAMPAIGN_EVERY_DAYS
    if unsubscribe <= life.hi:
        stamp = world.timestamp(unsubscribe, seconds(rng))
        row.update(status="unsubscribed", unsubscribed_at=stamp, updated_at=stamp)
        life.out.row("email_subscribers", unsubscribe, row)
        _emit_event(
            life,
            rng,
            "email_events",
            unsubscribe,
            {
                "event_id": event_uuid(rng),
                "email": life.person.email,
                "event_type": "unsubscribe",
                "campaign_id": None,
                "occurred_at": stamp,
            },
        )


def _campaign_events(life: Life, rng: random.Random, day: int) -> None:
    campaign_id = f"CMP-{world.day_date(day).isoformat()}"
    second = 9 * 3600 + rng.randint(0, 600)
    steps = ["sent"]
    roll = rng.random()
    if roll < 0.01:
        steps.append("bounce")
    elif roll < 0.35:
        steps.append("open")
        if roll < 0.10:
            steps.append("click")
    for step in steps:
        _emit_event(
            life,
            rng,
            "email_events",
            day,
            {
                "event_id": event_uuid(rng),
                "email": life.person.email,
                "event_type": step,
                "campaign_id": campaign_id,
                "occurred_at": world.timestamp(day, second),
            },
        )
        second += rng.randint(60, 6 * 3600)


# --- second and third party -------------------------------------------------------------------


def _partner(life: Life, plan: Plan) -> None:
    if not plan.partner:
        return
    rng = life.strands["partner"]
    day = max(life.person.arrival_day, 0) + int(rng.expovariate(1 / 40))
    while day <= life.hi:
        response_id = record_id("R", rng)
        file_day = world.next_delivery_day(day, world.PARTNER_DELIVERY_WEEKDAY)
        row = {
            "response_id": response_id,
            "email_sha256": sha256(life.person.email),
            "campaign": rng.choice(world.PARTNER_CAMPAIGNS),
            "response": rng.choice(("clicked", "converted", "ignored", "ignored")),
            "interest": rng.choice(world.INTERESTS),
            "responded_at": world.timestamp(day, seconds(rng)),
        }
        life.out.row("partner", file_day, row)
        life.out.seen("partner", response_id, file_day)
        day += 1 + int(rng.expovariate(1 / 40))


def _broker(life: Life, plan: Plan) -> None:
    if not plan.broker:
        return
    rng, person = life.strands["broker"], life.person
    day = world.next_delivery_day(max(person.arrival_day, 0) + rng.randint(0, 90), world.BROKER_DELIVERY_WEEKDAY)
    broker_record_id = record_id("B", rng)
    first, last = messy.names(rng, life.rates, person, day)
    # the broker's email hash joins through the subscriber list; without it, name + postcode
    # join through a shop account or CRM contact (a person with neither gets no broker record)
    with_email = plan.subscriber and rng.random() < 0.6
    if not (with_email or plan.shop or plan.crm):
        return
    age = world.day_date(day).year - person.date_of_birth.year
    row = {
        "broker_record_id": broker_record_id,
        "email_sha256": sha256(person.email) if with_email else None,
        "first_name": first,
        "last_name": last,
        "postcode": person.address_on(day).postcode,
        "country": person.country,
        "age_band": f"{age // 10 * 10}-{age // 10 * 10 + 9}",
        "income_band": rng.choice(("low", "lower_middle", "middle", "upper_middle", "high")),
        "interests": ",".join(sorted(rng.sample(world.INTERESTS, rng.randint(1, 3)))),
        "delivered_at": world.timestamp(day, 6 * 3600),
    }
    if day <= life.hi:
        life.out.row("broker", day, row)
        life.out.seen("broker", broker_record_id, day)


def _test_account(life: Life) -> None:
    """A QA account in the shop: blocked values everywhere; a person of its own."""
    rng, person = life.strands["shop"], life.person
    created = max(person.arrival_day, 0)
    if created > life.hi:
        return
    stamp = world.timestamp(created, seconds(rng))
    record = {
        "customer_id": stable_id("S", life.seed, "shop", person.index),
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


# --- the journey story --------------------------------------------------------------------------


def _journey_story(life: Life, plan: Plan) -> None:
    """Bought hiking gear in store months ago, browses boots in the app, abandons a boot cart on the web."""
    rng = life.strands["story"]
    today = world.HISTORY_DAYS - 1
    store_day = today - rng.randint(60, 150)
    hiking = [rng.choice(world.PRODUCTS_BY_CATEGORY["hiking"]) for _ in range(2)]
    _transaction(life, rng, plan, store_day, "hiking", life.person.email, None, products=hiking)
    customer_id = stable_id("S", life.seed, "shop", life.person.index)
    device = event_uuid(rng)
    _app_session(
        life, plan, rng, today - 2, device, customer_id, rng.choice(world.APP_OS), "boots", login=True, browse_only=True
    )
    cookie = event_uuid(rng)
    boot = rng.choice(world.PRODUCTS_BY_CATEGORY["boots"])
    _web_session(life, rng, today - 1, cookie, customer_id, "boots", purchase=False, story_product=boot)
