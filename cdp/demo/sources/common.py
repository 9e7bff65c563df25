"""What several sources share: the life and its plan, ids, forms and events."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass, field

from cdp.demo import messy, world
from cdp.demo.people import Person
from cdp.demo.rates import Rates


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


class Sink:
    """What a life writes to; the universe implements it (cdp.demo.universe.BatchRows)."""

    lo: int
    hi: int

    def row(self, stream: str, day: int, row: dict, key: str = "") -> None: ...

    def shop(self, table: str, row: dict) -> None: ...

    def seen(self, source: str, record_id: str, day: int) -> None: ...


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


def record_streams(rng: random.Random, count: int) -> list[random.Random]:
    """One random stream per record: how many changes a record has seen by day `hi` must not
    shift the draws of the next record (or `advance` would rewrite it differently)."""
    return [random.Random(rng.getrandbits(64)) for _ in range(count)]


def sign_ups(rng: random.Random, person: Person) -> tuple[random.Random, random.Random, int]:
    """The streams of a first and a possible second sign-up, and the second's day (within two months)."""
    primary, duplicate = record_streams(rng, 2)
    return primary, duplicate, person.arrival_day + rng.randint(1, 60)


def identity_at(life: Life, rng: random.Random, day: int, email: str | None) -> dict:
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


def changes(person: Person, created: int, hi: int) -> list[tuple[int, str]]:
    """The life events that change a person's record after it was created, up to `hi`."""
    events = []
    if person.move_day is not None and created < person.move_day <= hi:
        events.append((person.move_day, "move"))
    if person.marriage_day is not None and created < person.marriage_day <= hi:
        events.append((person.marriage_day, "marriage"))
    return sorted(events)


def apply_change(life: Life, rng: random.Random, record: dict, change: str, day: int) -> None:
    person = life.person
    if change == "move":
        address = person.address_on(day)
        record.update(address_line1=address.line1, postcode=address.postcode, city=address.city)
    else:
        record["last_name"] = messy.maybe(rng, life.rates.typo, messy.typo, person.last_name_on(day))


def emit_event(life: Life, rng: random.Random, stream: str, day: int, row: dict) -> None:
    """Late arrival lands in a later day's file; a duplicate is the same line twice."""
    file_day = day + (rng.choice((1, 1, 2)) if rng.random() < life.rates.late_event else 0)
    copies = 2 if rng.random() < life.rates.duplicate_event else 1
    for _ in range(copies):
        life.out.row(stream, file_day, row)


def tracked_event(
    life: Life, rng: random.Random, stream: str, day: int, second: int, device: tuple, head: tuple, **fields
) -> None:
    """A web or app event on a cookie or device (`device`: its column and value); `head` is
    (user_id, event_type, product, category)."""
    column, device_id = device
    user_id, event_type, product, category = head
    row = {
        "event_id": event_uuid(rng),
        column: device_id,
        "user_id": user_id,
        "event_type": event_type,
        "occurred_at": world.timestamp(day, min(second, 86399)),
        "product_id": product.product_id if product else None,
        "category": category or (product.category if product else None),
        **fields,
    }
    emit_event(life, rng, stream, day, row)
    life.out.seen(stream, device_id, day)


def quiet_after_story(plan: Plan, day: int) -> bool:
    """Story persons buy nothing online from shortly before the cart they abandon."""
    return plan.story and world.HISTORY_DAYS - 10 <= day < world.HISTORY_DAYS + 7
