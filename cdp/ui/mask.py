"""Masks for emails and phones in lists: enough to tell rows apart, not enough to contact anyone.

A profile page shows them in full (and that view is recorded); every list, search result and
member page shows these forms: `a***@example.com`, `+31 6 ••• •• 12`.
"""

from __future__ import annotations


def mask_email(email: str | None) -> str | None:
    """First letter of the local part, then ***; the domain stays (it says which provider, not who)."""
    if not email:
        return email
    local, at, domain = email.partition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_phone(phone: str | None) -> str | None:
    """Country code, the first national digit and the last two: +31 6 ••• •• 12."""
    if not phone:
        return phone
    country, national = _split_phone(phone)
    if len(national) < 4:
        return "•••"
    prefix = f"+{country} " if country else ""
    return f"{prefix}{national[0]} ••• •• {national[-2:]}"


def _split_phone(phone: str) -> tuple[str, str]:
    digits = "".join(character for character in phone if character.isdigit())
    if not phone.startswith("+"):
        return "", digits
    import phonenumbers

    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return "", digits
    return str(number.country_code), str(number.national_number)


def mask_list(values: list[str] | None, masker) -> list[str]:
    return [masker(value) for value in values or []]
