"""Identifier rules: one home for how cdp reads emails, phones, names and postcodes.

Every phase uses these rules, so a value means the same thing wherever it is read:

- staging (dbt) calls `phone_e164` as the DuckDB UDF `cdp_phone_e164` (registered by the
  dbt-duckdb plugin, `cdp.dbt_plugin`); its SQL macros for the other rules
  (`dbt_project/macros/normalise.sql`: `normalise_email`, `fold_text`, `clean_text`,
  `normalise_postcode`) are ports of the functions here, checked equal to them by property
  tests (`tests/test_identifiers.py`), because a Python UDF per row would cost the build
  far more than the SQL;
- the identity step uses `CANONICAL_EMAIL_SQL` (the SQL of `canonical_email`);
- destinations turn a row's identifiers into the form each API documents with the
  `*_for_destination` helpers below, which refuse (raise `IdentifierError`) what the
  lenient staging forms return as None.

The destinations' documented forms:
- Meta Custom Audiences: email trimmed and lowercased; phone as digits only with the
  country code and no "+"; each then SHA-256 (hex).
- Google Ads Customer Match: email trimmed and lowercased, and for gmail.com /
  googlemail.com the dots and any "+tag" of the local part removed; phone in E.164 with
  the "+"; then SHA-256 (hex).
- Mailchimp: the member key (subscriber hash) is the MD5 of the lowercased email.

Phones are parsed with `phonenumbers` (libphonenumber), never with regexes; it is imported
on first use so `cdp --help` stays fast.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache


class IdentifierError(ValueError):
    """A value that cannot be turned into the identifier a destination needs."""


class MissingIdentifier(IdentifierError):
    """The row has none of the identifiers the destination matches on: skipped, not failed."""


GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

# SQL's trim() removes spaces only; the same here, so both read a value alike.
_EMAIL = re.compile(r"[^@ \t]+@[^@ \t]+[.][a-z]{2,}")
_WHITESPACE_RUN = re.compile(r"[ \t\r\n]+")
_NOT_MATCHABLE = re.compile(r"[^a-z0-9 ]")
_POSTCODE_SEPARATORS = re.compile(r"[ \t.-]")
_POSTCODE_CHARACTERS = re.compile(r"[A-Za-z0-9]*")
# Letters that are not accented forms of a base letter, spelled out before accents go.
_SPELLED_OUT = {"ß": "ss", "æ": "ae", "ø": "o", "ł": "l"}


# -- emails ------------------------------------------------------------------------------


def normalise_email(raw: str | None) -> str | None:
    """Lower case, spaces trimmed; None unless it looks like local@domain.tld."""
    if raw is None:
        return None
    email = raw.strip(" ").lower()
    return email if _EMAIL.fullmatch(email) else None


def _gmail_local(local: str) -> str:
    """Gmail ignores dots and +tags in the local part."""
    return local.split("+", 1)[0].replace(".", "")


def canonical_email(email: str) -> str:
    """The mailbox a normalised email reaches: gmail.com and googlemail.com are one, dots and +tags ignored."""
    local, _, domain = email.partition("@")
    return _gmail_local(local) + "@gmail.com" if domain in GMAIL_DOMAINS else email


# `canonical_email` for DuckDB, over a normalised email `e` (the identity step's macro).
CANONICAL_EMAIL_SQL = """
    case when split_part(e, '@', 2) in ('gmail.com', 'googlemail.com')
         then replace(split_part(split_part(e, '@', 1), '+', 1), '.', '') || '@gmail.com'
         else e end
"""


# -- phones ------------------------------------------------------------------------------


@lru_cache(maxsize=1_000_000)
def phone_e164(raw: str | None, regions: str | None = None) -> str | None:
    """A phone number in E.164 (+31612345678), or None when it is not one valid number.

    `regions` is the record's ISO-2 country, or a comma-separated list of candidates in
    order of preference when the country is unknown (a number typed at a till): a national
    format (06-12345678) is read in the first region where it is a valid number.
    A leading 00 is read as the international prefix (0031 6...) even where the region's
    own prefix differs (011 in the US). Placeholders such as 000000 are never valid.
    """
    if raw is None or not raw.strip():
        return None
    for region in (regions or "").split(","):
        if number := _parse_valid(raw, region.strip()):
            return number
    if raw.strip().startswith("00"):
        return _parse_valid("+" + raw.strip()[2:], "")
    return None


def _parse_valid(raw: str, region: str) -> str | None:
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


# -- names, addresses, places --------------------------------------------------------------


def clean_text(raw: str | None) -> str | None:
    """Display form: trimmed, whitespace runs collapsed to one space; blank -> None."""
    if raw is None:
        return None
    return _WHITESPACE_RUN.sub(" ", raw).strip(" ") or None


def strip_accents_lower(raw: str) -> str:
    """Lower case without accents (é -> e, ü -> u; ß -> ss, æ -> ae, ø -> o, ł -> l)."""
    text = raw.lower()
    for letter, spelled in _SPELLED_OUT.items():
        text = text.replace(letter, spelled)
    return "".join(char for char in unicodedata.normalize("NFD", text) if not unicodedata.combining(char))


def fold_text(raw: str | None) -> str | None:
    """Matching form of a name or place: accents folded, lower case, only a-z, 0-9 and single spaces."""
    if raw is None:
        return None
    matchable = _NOT_MATCHABLE.sub("", strip_accents_lower(raw))
    return _WHITESPACE_RUN.sub(" ", matchable).strip(" ") or None


# -- postcodes ---------------------------------------------------------------------------


def normalise_postcode(raw: str | None, pattern: str | None) -> str | None:
    """Compact and upper case ('1011 ab' -> '1011AB') when it matches the country's pattern.

    The pattern comes from the country_codes seed; with none (a country not in the seed) the
    compact form is kept unchecked. Postcodes are ASCII letters and digits everywhere, so
    anything else is not one; blank -> None.
    """
    if raw is None:
        return None
    unseparated = _POSTCODE_SEPARATORS.sub("", raw)
    if not _POSTCODE_CHARACTERS.fullmatch(unseparated):
        return None
    compact = unseparated.upper()
    if pattern is not None and not re.search(pattern, compact):
        return None
    return compact or None


# -- the forms destinations document ---------------------------------------------------------


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def email_for_destination(email: str) -> str:
    """A destination's email: the normalised form; refuses what is not an address."""
    normalised = normalise_email(email)
    if normalised is None:
        raise IdentifierError(f"not an email address: {email!r}")
    return normalised


def google_email(email: str) -> str:
    """Google Customer Match form: gmail/googlemail lose dots and +tags in the local part."""
    local, _, domain = email_for_destination(email).partition("@")
    return f"{_gmail_local(local) if domain in GMAIL_DOMAINS else local}@{domain}"


def phone_for_destination(phone: str, default_region: str | None = None) -> str:
    """E.164 with the leading '+', e.g. '+31612345678'; refuses what is not one valid number."""
    e164 = phone_e164(phone, default_region)
    if e164 is None:
        raise IdentifierError(f"not a valid phone number: {phone!r}")
    return e164


def meta_phone(phone: str, default_region: str | None = None) -> str:
    """Meta form: digits only, country code included, no '+'."""
    return phone_for_destination(phone, default_region).lstrip("+")


def mailchimp_member_hash(email: str) -> str:
    """Mailchimp's subscriber hash: MD5 of the lowercased email."""
    return hashlib.md5(email_for_destination(email).encode("utf-8")).hexdigest()
