"""The fixed world the persons live in: calendar, countries, stores, products, campaigns.

Everything here is a constant or a pure function of its arguments, so the
universe never depends on the wall clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

# The initial "current day" and how much history the first generation writes.
CURRENT_DATE = date(2026, 11, 20)
HISTORY_DAYS = 180
# Persons who arrived before the history window have accounts created up to this long before it.
PRE_HISTORY_DAYS = 3 * 365
# Persons are made and written in batches of this size (bounded memory). Part of the
# universe's definition: changing it changes the bytes.
BATCH_SIZE = 2000
# New persons per advanced day, per initial person.
NEW_PERSONS_PER_DAY = 0.002
BROKER_DELIVERY_WEEKDAY = 0  # broker and partner files arrive on Mondays
PARTNER_DELIVERY_WEEKDAY = 3  # and Thursdays

FIRST_DAY = CURRENT_DATE - timedelta(days=HISTORY_DAYS - 1)


@dataclass(frozen=True)
class Country:
    code: str  # ISO-2
    locale: str  # Faker locale
    share: float  # of persons
    currency: str
    email_domains: tuple[str, ...]


COUNTRIES = (
    Country("US", "en_US", 0.35, "USD", ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "hotmail.com")),
    Country("GB", "en_GB", 0.25, "GBP", ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com")),
    Country("NL", "nl_NL", 0.20, "EUR", ("gmail.com", "hotmail.nl", "ziggo.nl", "kpnmail.nl", "outlook.com")),
    Country("DE", "de_DE", 0.20, "EUR", ("gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.com")),
)
COUNTRY_BY_CODE = {country.code: country for country in COUNTRIES}

# Two stores per country: store ids are three digits (pos/store_<NNN>/).
STORES = {code: (f"{2 * i + 1:03d}", f"{2 * i + 2:03d}") for i, code in enumerate(COUNTRY_BY_CODE)}
STORE_COUNTRY = {store: code for code, stores in STORES.items() for store in stores}

CATEGORIES = {
    "boots": ("Winter Boot", "Hiking Boot", "Chelsea Boot", "Snow Boot", "Trail Boot"),
    "hiking": ("Trekking Pole", "Daypack 25L", "Rain Shell", "Hiking Sock", "Water Bottle"),
    "apparel": ("Fleece Jacket", "Merino Tee", "Down Parka", "Softshell Pant", "Beanie"),
    "camping": ("Tent 2P", "Sleeping Bag", "Camp Stove", "Headlamp", "Sleeping Mat"),
    "running": ("Trail Runner", "Running Vest", "Running Tight", "Cap", "Gel Pack"),
    "kids": ("Kids Boot", "Kids Rain Jacket", "Kids Mitten", "Kids Backpack", "Kids Fleece"),
}
COLOURS = ("Black", "Forest", "Navy", "Sand", "Red")


@dataclass(frozen=True)
class Product:
    product_id: str
    name: str
    category: str
    price: float  # in the store's currency, same number everywhere (a demo simplification)


def _make_products() -> tuple[Product, ...]:
    products = []
    for category, names in CATEGORIES.items():
        for name in names:
            for colour in COLOURS:
                number = len(products) + 1
                # a price that looks like a price and depends only on the product number
                digest = int(hashlib.sha256(f"price:{number}".encode()).hexdigest()[:8], 16)
                price = round(9.95 + (digest % 250) + 0.95 - 0.95 * (digest % 2), 2)
                products.append(Product(f"SKU-{number:04d}", f"{colour} {name}", category, price))
    return tuple(products)


PRODUCTS = _make_products()
PRODUCTS_BY_CATEGORY = {c: tuple(p for p in PRODUCTS if p.category == c) for c in CATEGORIES}

UTM_CAMPAIGNS = (
    ("google", "cpc", "winter_boots"),
    ("facebook", "paid_social", "autumn_sale"),
    ("newsletter", "email", "weekly_picks"),
    ("instagram", "paid_social", "trail_season"),
    ("partner", "referral", "outdoor_club"),
)
PARTNER_CAMPAIGNS = ("outdoor_club_spring", "outdoor_club_autumn", "trail_magazine", "ski_week")
INTERESTS = ("hiking", "skiing", "running", "camping", "climbing", "cycling", "fashion", "family")
EMAIL_CAMPAIGN_EVERY_DAYS = 14
APP_OS = ("ios", "android")
APP_VERSIONS = ("5.2.0", "5.3.1", "5.4.0")


def day_date(day: int) -> date:
    """Day numbers count from the first history day (0); negative is before the window."""
    return FIRST_DAY + timedelta(days=day)


def day_of(value: date) -> int:
    return (value - FIRST_DAY).days


def timestamp(day: int, second_of_day: int) -> str:
    """ISO 8601 UTC, second precision: the one timestamp format of the universe."""
    day, second_of_day = day + second_of_day // 86400, second_of_day % 86400
    hours, rest = divmod(second_of_day, 3600)
    return f"{_iso_day(day)}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


@lru_cache(maxsize=4096)
def _iso_day(day: int) -> str:
    return day_date(day).isoformat()


def day_of_timestamp(stamp: str) -> int:
    """The day number of a timestamp written by `timestamp`."""
    return day_of(date.fromisoformat(stamp[:10]))


def scrambled(index: int, salt: str, digits: int) -> int:
    """A unique, random-looking number for an index (a bijection on [0, 10**digits)).

    Record ids come from it so that ids never reveal which person they belong to.
    """
    modulus = 10**digits
    offset = int(hashlib.sha256(salt.encode()).hexdigest()[:12], 16) % modulus
    return (index * 7_368_787 + offset) % modulus  # 7368787 is prime, so coprime with 10**digits


def next_delivery_day(day: int, weekday: int) -> int:
    """The first day >= day falling on the weekday (0 = Monday) of a weekly file."""
    return day + (weekday - day_date(day).weekday()) % 7
