"""Identifier normalisation and hashing vectors, from the destinations' documentation.

- Google Ads Customer Match: lowercase and trim; for gmail.com / googlemail.com remove
  the dots before the domain (and the +tag); phone in E.164 with "+"; SHA-256 hex.
- Meta Custom Audiences: email lowercased and trimmed; phone digits only including the
  country code ("+1 (616) 954-1234" -> "16169541234"); SHA-256 hex.
- Mailchimp: subscriber hash = MD5 of the lowercased email.
"""

from __future__ import annotations

import hashlib

import pytest

from cdp.identifiers import (
    IdentifierError,
    email_for_destination,
    google_email,
    mailchimp_member_hash,
    meta_phone,
    phone_for_destination,
    sha256_hex,
)


def test_sha256_known_vector():
    # SHA-256("abc") from FIPS 180-2.
    assert sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Jane.Doe@Gmail.com ", "janedoe@gmail.com"),
        ("jane.doe+boots@googlemail.com", "janedoe@googlemail.com"),
        ("Jane.Doe+boots@example.com", "jane.doe+boots@example.com"),  # only gmail / googlemail
    ],
)
def test_google_email(raw, expected):
    assert google_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+1 (800) 555-0100", None, "+18005550100"),
        ("06-12345678", "NL", "+31612345678"),
        ("0031 6 12345678", "NL", "+31612345678"),
        ("+31 6 12345678", None, "+31612345678"),
    ],
)
def test_e164_phone(raw, region, expected):
    assert phone_for_destination(raw, region) == expected


def test_meta_phone_digits_with_country_code_no_plus():
    assert meta_phone("+1 (616) 954-1234") == "16169541234"
    assert meta_phone("06 12345678", "NL") == "31612345678"


def test_meta_email_hash_is_of_trimmed_lowercase():
    assert (
        sha256_hex(email_for_destination(" John_Smith@Gmail.com "))
        == hashlib.sha256(b"john_smith@gmail.com").hexdigest()
    )


def test_mailchimp_member_hash_is_md5_of_lowercase_email():
    assert (
        mailchimp_member_hash("Urist.McVankab@freddiesjokes.com")
        == hashlib.md5(b"urist.mcvankab@freddiesjokes.com").hexdigest()
    )
    assert mailchimp_member_hash("A@B.CO") == mailchimp_member_hash("a@b.co")


@pytest.mark.parametrize("bad", ["not-an-email", "@example.com", "someone@localhost"])
def test_bad_email_is_refused(bad):
    with pytest.raises(IdentifierError):
        email_for_destination(bad)


@pytest.mark.parametrize("bad", ["call me", "12"])
def test_bad_phone_is_refused(bad):
    with pytest.raises(IdentifierError):
        phone_for_destination(bad, "NL")
