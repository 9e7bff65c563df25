"""The universe is messy but resolvable: every record of a person carries a signal that links it.

A deliberately naive resolver (exact keys only: strong ids, normalised email, its
SHA-256, E.164 phone, folded name + postcode) must already join almost every true
pair, leaving the rest to fuzzy matching (typos, nicknames, swapped names). And
no key may be shared by two persons except the documented hard case, a
household's shared email.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter, defaultdict

import phonenumbers
import pytest

from cdp.demo import world


def fold(text: str | None) -> str | None:
    if not text:
        return None
    return unicodedata.normalize("NFKD", text.strip().lower()).encode("ascii", "ignore").decode() or None


def email_key(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    if not email or email == "test@test.com":
        return None
    local, _, domain = email.partition("@")
    if domain in ("gmail.com", "googlemail.com"):
        local = local.split("+")[0].replace(".", "")
    return f"{local}@{domain}"


def sha_key(email: str | None) -> str | None:
    email = (email or "").strip().lower()
    return hashlib.sha256(email.encode()).hexdigest() if email and email != "test@test.com" else None


def phone_key(phone: str | None, country: str) -> str | None:
    if not phone or set(phone) <= set("0 "):
        return None
    return phonenumbers.format_number(phonenumbers.parse(phone, country), phonenumbers.PhoneNumberFormat.E164)


def split_billing_name(name: str) -> tuple[str, str | None]:
    if ", " in name:
        last, first = name.split(", ", 1)
        return first, last
    first, _, last = name.partition(" ")
    return first, last or None


class Keys:
    """record -> the exact keys it carries."""

    def __init__(self):
        self.of = defaultdict(set)

    def add(self, record, *keys):
        for key in keys:
            if all(part is not None for part in key[1:]):
                self.of[record].add(key)

    def identity(self, record, email, phone, country, first, last, postcode):
        postcode = (postcode or "").replace(" ", "").upper() or None
        self.add(
            record,
            ("email", email_key(email)),
            ("sha", sha_key(email)),
            ("phone", phone_key(phone, country)),
            ("name", fold(first), fold(last), postcode),
        )


@pytest.fixture(scope="module")
def keys(rates_files) -> Keys:
    files, keys = rates_files, Keys()
    for customer_id, *identity in files.rows(
        "SELECT customer_id, email, phone, country, first_name, last_name, postcode FROM shop.customers"
    ):
        keys.add(("shop", customer_id), ("user", customer_id))
        keys.identity(("shop", customer_id), *identity)
    for crm_id, *identity in files.rows(
        "SELECT crm_id, email, phone, country, first_name, last_name, postcode FROM crm"
    ):
        keys.identity(("crm", crm_id), *identity)
    for cookie, user_id, email in files.rows(
        "SELECT anonymous_id::varchar, user_id, email FROM web WHERE coalesce(user_id, email) IS NOT NULL"
    ):
        keys.add(("web", cookie), ("user", user_id), ("email", email_key(email)), ("sha", sha_key(email)))
    for device, user_id in files.rows("SELECT device_id::varchar, user_id FROM app WHERE user_id IS NOT NULL"):
        keys.add(("app", device), ("user", user_id))
    for transaction, card, email, phone, store in files.rows(
        "SELECT transaction_id, loyalty_card, email, phone, store_id FROM pos "
        "WHERE coalesce(loyalty_card, email, phone) IS NOT NULL"
    ):
        keys.add(
            ("pos", transaction),
            ("card", card),
            ("email", email_key(email)),
            ("sha", sha_key(email)),
            ("phone", phone_key(phone, world.STORE_COUNTRY[store])),
        )
    for subscriber, email in files.rows("SELECT subscriber_id, email FROM email_subscribers"):
        keys.add(("email", subscriber), ("email", email_key(email)), ("sha", sha_key(email)))
    for account, name, _address, postcode, country in files.rows(
        "SELECT account_number, billing_name, billing_address, billing_postcode, billing_country FROM erp"
    ):
        keys.identity(("erp", account), None, None, country, *split_billing_name(name), postcode)
    for response, digest in files.rows("SELECT response_id, email_sha256 FROM partner"):
        keys.add(("partner", response), ("sha", digest))
    for record, digest, first, last, postcode, country in files.rows(
        "SELECT broker_record_id, email_sha256, first_name, last_name, postcode, country FROM broker"
    ):
        keys.add(("broker", record), ("sha", digest))
        keys.identity(("broker", record), None, None, country, first, last, postcode)
    return keys


@pytest.fixture(scope="module")
def truth(rates_files) -> dict[tuple[str, str], str]:
    return {(source, record): person for source, record, person in rates_files.rows("SELECT * FROM truth")}


def test_exact_keys_already_join_almost_every_true_pair(keys, truth):
    parent: dict = {}

    def root(record):
        while parent.setdefault(record, record) != record:
            parent[record] = parent[parent[record]]
            record = parent[record]
        return record

    records_by_key = defaultdict(list)
    for record, record_keys in keys.of.items():
        for key in record_keys:
            records_by_key[key].append(record)
    for records in records_by_key.values():
        first_of_person = {}
        for record in records:  # join records of the same person only: this measures recall
            person = truth[record]
            if person in first_of_person:
                parent[root(record)] = root(first_of_person[person])
            else:
                first_of_person[person] = record
    records_of = defaultdict(list)
    for record, person in truth.items():
        records_of[person].append(record)
    true_pairs = joined_pairs = 0
    for records in records_of.values():
        true_pairs += len(records) * (len(records) - 1) // 2
        joined_pairs += sum(n * (n - 1) // 2 for n in Counter(root(r) for r in records).values())
    assert joined_pairs / true_pairs >= 0.985, f"{joined_pairs} of {true_pairs} true pairs joined by exact keys"


def test_only_shared_household_emails_are_shared_between_persons(keys, truth, population):
    persons_by_key = defaultdict(set)
    for record, record_keys in keys.of.items():
        for key in record_keys:
            persons_by_key[key].add(truth[record])
    shared = {key: persons for key, persons in persons_by_key.items() if len(persons) > 1}
    assert shared, "the hard case (a shared household email) occurs"
    for key, persons in shared.items():
        assert key[0] in ("email", "sha"), key
        emails = {population[person].email for person in persons}
        assert len(emails) == 1, key
        assert any(population[person].shares_email_of is not None for person in persons), key
