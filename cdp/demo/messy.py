"""How a person's true identity comes out in a record: the messiness of real data.

Each function takes the record's own `random.Random` and the `Rates`, so the
rates in cdp.demo.rates are the only knobs.
"""

from __future__ import annotations

import random
import string

import phonenumbers

from cdp.demo.people import Person, nicknames
from cdp.demo.rates import Rates

GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: a character dropped, doubled, swapped with its neighbour or replaced."""
    if len(text) < 3:
        return text
    at = rng.randrange(1, len(text) - 1)  # keep the first letter: people rarely miss that one
    kind = rng.randrange(4)
    if kind == 0:
        return text[:at] + text[at + 1 :]
    if kind == 1:
        return text[:at] + text[at] + text[at:]
    if kind == 2:
        return (
            text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]
            if text[at] != text[at - 1]
            else text[:at] + text[at + 1 :]
        )
    replacement = rng.choice([c for c in string.ascii_lowercase if c != text[at].lower()])
    return text[:at] + replacement + text[at + 1 :]


def odd_case_whitespace(rng: random.Random, text: str) -> str:
    kind = rng.randrange(4)
    if kind == 0:
        return text.upper()
    if kind == 1:
        return text.lower()
    if kind == 2:
        return f" {text}"
    return f"{text}  "


def maybe(rng: random.Random, rate: float, change, text: str | None) -> str | None:
    """Apply `change` to the text with probability `rate` (one draw per call, always)."""
    hit = rng.random() < rate
    return change(rng, text) if hit and text else text


def names(rng: random.Random, rates: Rates, person: Person, day: int) -> tuple[str, str]:
    """First and last name as typed into a form on `day`."""
    first, last = person.first_name, person.last_name_on(day)
    nickname = nicknames().get(first)
    if rng.random() < rates.nickname and nickname:
        first = nickname
    if rng.random() < rates.swapped_names:
        first, last = last, first
    first, last = maybe(rng, rates.typo, typo, first), maybe(rng, rates.typo, typo, last)
    return (
        maybe(rng, rates.odd_case_whitespace, odd_case_whitespace, first),
        maybe(rng, rates.odd_case_whitespace, odd_case_whitespace, last),
    )


def gmail_variant(rng: random.Random, email: str) -> str:
    """Same Gmail mailbox, other spelling: dots moved or a +tag (Gmail ignores both)."""
    local, domain = email.split("@")
    bare = local.replace(".", "")
    if rng.random() < 0.5:
        at = rng.randrange(1, len(bare))
        return f"{bare[:at]}.{bare[at:]}@{domain}"
    return f"{local}+{rng.choice(('shop', 'news', 'deals', 'outdoor'))}@{domain}"


def is_gmail(email: str) -> bool:
    return email.rsplit("@", 1)[-1] in GMAIL_DOMAINS


def email(rng: random.Random, rates: Rates, person: Person) -> str:
    """The email as the person types it into a form (gmail spelling, case, spaces)."""
    value = person.email
    if rng.random() < rates.gmail_variant and is_gmail(value):
        value = gmail_variant(rng, value)
    return maybe(rng, rates.odd_case_whitespace, odd_case_whitespace, value)


def phone(rng: random.Random, rates: Rates, person: Person, *, can_be_missing: bool = True) -> str | None:
    """The phone in one of the formats people and systems write it, or None when missing."""
    if can_be_missing and rng.random() < rates.missing_phone:
        return None
    parsed = phonenumbers.parse(person.phone)
    roll = rng.random()
    if roll < rates.phone_international_spaced:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    roll -= rates.phone_international_spaced
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    if roll < rates.phone_national:
        return national
    roll -= rates.phone_national
    if roll < rates.phone_national_dashes:
        return "-".join(national.replace("(", "").replace(")", "").split())
    roll -= rates.phone_national_dashes
    if roll < rates.phone_00_prefix:
        # Europeans dial out with 00; Americans use 011, so they write the trunk 1 instead
        if parsed.country_code == 1:
            return "1-" + "-".join(national.replace("(", "").replace(")", "").split())
        return "00" + person.phone[1:]
    return person.phone


def date_of_birth(rng: random.Random, rates: Rates, person: Person) -> str | None:
    return None if rng.random() < rates.missing_date_of_birth else person.date_of_birth.isoformat()
