"""Masks for emails and phones in lists."""

from __future__ import annotations

from cdp.ui.mask import mask_email, mask_phone


def test_an_email_keeps_its_first_letter_and_domain():
    assert mask_email("anna.jansen@example.com") == "a***@example.com"
    assert mask_email("not-an-email") == "***"
    assert mask_email(None) is None


def test_a_phone_keeps_country_first_digit_and_last_two():
    assert mask_phone("+31612345612") == "+31 6 ••• •• 12"
    assert mask_phone("+447992583319") == "+44 7 ••• •• 19"
    assert mask_phone("0612345678") == "0 ••• •• 78"
    assert mask_phone("12") == "•••"
    assert mask_phone(None) is None
