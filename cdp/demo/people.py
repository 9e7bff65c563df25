"""The hidden population: who each person really is.

Persons are made in fixed batches (`world.BATCH_SIZE`), each batch from its own
seeded Faker per locale and each person from its own seeded `random.Random`, so
person i is the same whether the universe has 300 or 1,000,000 persons and
whether it is made by `generate` or re-made by `advance`.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import phonenumbers
from faker import Faker

from cdp import settings
from cdp.demo import world
from cdp.demo.rates import Rates

US_AREA_CODES = ("212", "213", "312", "415", "617", "206", "303", "512", "713", "404", "305", "602", "503")
MOBILE_PREFIXES = {"NL": ("+316",), "DE": ("+49151", "+49160", "+49170", "+49176"), "GB": ("+4477", "+4479")}
MOBILE_DIGITS = {"NL": 8, "DE": 8, "GB": 8}


@dataclass(frozen=True)
class Address:
    line1: str
    postcode: str
    city: str


@dataclass
class Person:
    index: int
    person_id: str
    rng: random.Random  # continues into the person's life story (cdp.demo.life)
    kind: str  # customer | visitor | test
    country: str
    first_name: str
    last_name: str
    date_of_birth: date
    email: str  # the address the person types, lower-case; shared by a household for shared_email
    phone: str  # E.164
    address: Address
    arrival_day: int  # first day the person exists for the business (may be before the window)
    new_address: Address | None = None
    move_day: int | None = None
    married_last_name: str | None = None
    marriage_day: int | None = None
    household_of: int | None = None  # index of the person this one lives with
    twin_of: int | None = None
    shares_email_of: int | None = None

    def last_name_on(self, day: int) -> str:
        if self.married_last_name and self.marriage_day is not None and day >= self.marriage_day:
            return self.married_last_name
        return self.last_name

    def address_on(self, day: int) -> Address:
        if self.new_address and self.move_day is not None and day >= self.move_day:
            return self.new_address
        return self.address

    @property
    def owns_email(self) -> bool:
        """Whether the email is the person's own (not a partner's shared one)."""
        return self.shares_email_of is None


@cache
def nicknames() -> dict[str, str]:
    """First name -> the nickname people type for it: the first one seeds/nicknames.csv lists
    for the name (the seed the identity step matches nicknames with)."""
    with (settings.SEEDS_DIR / "nicknames.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    picked: dict[str, str] = {}
    for row in rows:
        picked.setdefault(row["canonical_name"].strip().title(), row["nickname"].strip().title())
    return picked


def person_id(index: int) -> str:
    return f"P{index + 1:07d}"


def ascii_fold(text: str) -> str:
    """'Müller-Lüdenscheidt' -> 'mullerludenscheidt', for email local parts."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def event_day(rng: random.Random, start: int, rate: float) -> int:
    """A life-event day with `rate` probability inside the history window and the same
    daily hazard after it (so `advance` keeps producing a few per day)."""
    return start + 1 + int(rng.random() * world.HISTORY_DAYS / rate)


@cache
def _faker(locale: str, seed: int, batch: int) -> Faker:
    fake = Faker(locale)
    fake.seed_instance(f"{seed}:{batch}:{locale}")
    return fake


def _phone(rng: random.Random, country: str) -> str:
    """A valid mobile number, E.164, checked with libphonenumber."""
    while True:
        if country == "US":
            number = f"+1{rng.choice(US_AREA_CODES)}{rng.randint(201, 989)}{rng.randint(0, 9999):04d}"
        else:
            number = rng.choice(MOBILE_PREFIXES[country]) + "".join(
                str(rng.randint(0, 9)) for _ in range(MOBILE_DIGITS[country])
            )
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def _address(fake: Faker) -> Address:
    return Address(fake.street_address().replace("\n", ", "), fake.postcode(), fake.city())


def _email(rng: random.Random, index: int, first: str, last: str, country: str) -> str:
    # the number makes every person's own address unique (no accidental shared emails)
    number = world.scrambled(index, "email", 7)
    first, last = ascii_fold(first), ascii_fold(last)
    local = rng.choice(
        (f"{first}.{last}", f"{first}{last}", f"{first[0]}.{last}", f"{first}_{last}", f"{last}.{first}")
    )
    domain = rng.choice(world.COUNTRY_BY_CODE[country].email_domains)
    return f"{local}{number}@{domain}"


def _pick_country(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for country in world.COUNTRIES:
        total += country.share
        if roll < total:
            return country.code
    return world.COUNTRIES[-1].code


def _arrival_day(rng: random.Random, index: int, initial_persons: int) -> int:
    if index < initial_persons:
        return rng.randint(-world.PRE_HISTORY_DAYS, world.HISTORY_DAYS - 1)
    per_day = new_persons_per_day(initial_persons)
    return world.HISTORY_DAYS + (index - initial_persons) // per_day


def new_persons_per_day(initial_persons: int) -> int:
    return max(1, round(initial_persons * world.NEW_PERSONS_PER_DAY))


def make_person(seed: int, index: int, initial_persons: int, rates: Rates, previous: Person | None) -> Person:
    rng = random.Random(f"{seed}:person:{index}")
    batch = index // world.BATCH_SIZE
    roll = rng.random()
    arrival = _arrival_day(rng, index, initial_persons)
    # twins and household partners are anchored on the previous person when that is a customer
    related = previous if previous is not None and previous.kind == "customer" else None
    twin = related is not None and roll < rates.twins
    household = related is not None and not twin and roll < rates.twins + rates.household
    country = related.country if (twin or household) else _pick_country(rng)
    fake = _faker(world.COUNTRY_BY_CODE[country].locale, seed, batch)
    female = rng.random() < 0.5
    first = fake.first_name_female() if female else fake.first_name_male()
    own_last = fake.last_name()
    person = Person(
        index=index,
        person_id=person_id(index),
        rng=rng,
        kind="customer",
        country=country,
        first_name=first,
        last_name=own_last,
        date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55)),
        email="",
        phone=_phone(rng, country),
        address=_address(fake),
        arrival_day=arrival,
    )
    if twin or household:  # people living together never share a first name (no Jr./Sr. case)
        other_first = fake.first_name_male() if female else fake.first_name_female()
        if first == related.first_name:
            person.first_name = other_first
    if twin:
        person.twin_of = related.index
        person.last_name, person.date_of_birth, person.address = (
            related.last_name,
            related.date_of_birth,
            related.address,
        )
    elif household:
        person.household_of = related.index
        person.address = related.address
        if rng.random() < rates.same_last_name_in_household:
            person.last_name = related.last_name
    person.email = _email(rng, index, person.first_name, person.last_name, country)
    if household and rng.random() < rates.shared_email:
        person.email, person.shares_email_of = related.email, related.index
    # visitors and test accounts are not related to anybody
    kind_roll = rng.random()
    if not (twin or household):
        if kind_roll < rates.visitor_only:
            person.kind = "visitor"
        elif kind_roll < rates.visitor_only + rates.test_account:
            person.kind = "test"
            person.first_name, person.last_name, person.email = "Test", "User", "test@test.com"
    start = max(arrival, 0)
    move, moved_to = event_day(rng, start, rates.moves), _address(fake)
    marriage, married_name = event_day(rng, start, rates.marriage_name_change), fake.last_name()
    if person.kind == "customer":
        person.move_day, person.new_address = move, moved_to
        person.marriage_day, person.married_last_name = marriage, married_name
    return person


def iter_batches(seed: int, first_index: int, stop_index: int, initial_persons: int, rates: Rates):
    """Yield lists of persons [first_index, stop_index), one batch at a time."""
    batch_start = first_index - first_index % world.BATCH_SIZE
    for start in range(batch_start, stop_index, world.BATCH_SIZE):
        _faker.cache_clear()  # one Faker per locale for the batch; dropped afterwards
        persons, previous = [], None
        for index in range(start, min(start + world.BATCH_SIZE, stop_index)):
            person = make_person(seed, index, initial_persons, rates, previous if index % world.BATCH_SIZE else None)
            previous = person
            if index >= first_index:
                persons.append(person)
        yield persons
