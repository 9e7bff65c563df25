"""Identifier normalisation and hashing, per the destinations' documented rules.

- Meta Custom Audiences: email trimmed and lowercased; phone as digits only with the
  country code and no "+"; country as lowercase ISO-2; each then SHA-256 (hex).
- Google Ads Customer Match: email trimmed and lowercased, and for gmail.com /
  googlemail.com the dots and any "+tag" of the local part removed; phone in E.164 with
  the "+"; then SHA-256 (hex). Country and postcode are sent in clear.
- Mailchimp: the member key (subscriber hash) is the MD5 of the lowercased email.

Phones are parsed with `phonenumbers` (libphonenumber), never with regexes.
"""

from __future__ import annotations

import hashlib

import phonenumbers


class IdentifierError(ValueError):
    """A value that cannot be turned into the identifier a destination needs."""


class MissingIdentifier(IdentifierError):
    """The row has none of the identifiers the destination matches on: skipped, not failed."""


GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    """Trim and lowercase; reject what is not an address."""
    normalized = email.strip().lower()
    local, at, domain = normalized.partition("@")
    if not at or not local or "." not in domain:
        raise IdentifierError(f"not an email address: {email!r}")
    return normalized


def google_email(email: str) -> str:
    """Google Customer Match form: gmail/googlemail lose dots and +tags in the local part."""
    normalized = normalize_email(email)
    local, _, domain = normalized.partition("@")
    if domain in GMAIL_DOMAINS:
        local = local.split("+", 1)[0].replace(".", "")
    return f"{local}@{domain}"


def e164_phone(phone: str, default_region: str | None = None) -> str:
    """E.164 with the leading '+', e.g. '+31612345678'."""
    try:
        parsed = phonenumbers.parse(phone, (default_region or "").upper() or None)
    except phonenumbers.NumberParseException as error:
        raise IdentifierError(f"not a phone number: {phone!r} ({error})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise IdentifierError(f"not a possible phone number: {phone!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def meta_phone(phone: str, default_region: str | None = None) -> str:
    """Meta form: digits only, country code included, no '+'."""
    return e164_phone(phone, default_region).lstrip("+")


def mailchimp_member_hash(email: str) -> str:
    """Mailchimp's subscriber hash: MD5 of the lowercased email."""
    return hashlib.md5(normalize_email(email).encode("utf-8")).hexdigest()
