"""Small synthetic identity inputs with known truth, for tests, benchmarks and training
a first model before a warehouse exists.

The records follow the identity contract (docs/architecture.md section 3) and carry the
generator's hard cases at a few percent: typos, nicknames, swapped names, gmail dots and
+tags, moves, missing fields, hashed-only partner rows, shared household emails, twins
and a blocked test email.

    inputs, strong_ids, truth = synthetic_identity_inputs(persons=2000, seed=1)
"""

from __future__ import annotations

import hashlib
import random

import pandas as pd
from faker import Faker

NICKNAMES = {
    "robert": "bob",
    "william": "bill",
    "elizabeth": "liz",
    "katherine": "kate",
    "james": "jim",
    "michael": "mike",
    "thomas": "tom",
    "daniel": "dan",
    "johannes": "hans",
    "margaret": "maggie",
}
SOURCES = ("shop", "crm", "erp", "pos", "broker", "partner")


def _typo(rng: random.Random, text: str) -> str:
    if len(text) < 3:
        return text
    i = rng.randrange(1, len(text) - 1)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def _person(fake: Faker, rng: random.Random, index: int, partner: dict | None) -> dict:
    first = rng.choice(list(NICKNAMES)) if rng.random() < 0.15 else fake.first_name().lower()
    person = {
        "person_id": f"P{index:07d}",
        "first_name": first,
        "last_name": fake.last_name().lower(),
        "date_of_birth": fake.date_of_birth(minimum_age=18, maximum_age=85).isoformat(),
        "address": fake.street_address().lower(),
        "postcode": fake.postcode().replace(" ", "").upper(),
        "city": fake.city().lower(),
        "phone": f"+316{rng.randrange(10**7, 10**8)}",
    }
    person["email"] = f"{first}.{person['last_name']}{index}@{rng.choice(['gmail.com', 'mail.nl', 'web.de'])}"
    if partner is not None:  # a household: same address; sometimes the same email; rarely a twin
        person.update({k: partner[k] for k in ("address", "postcode", "city")})
        roll = rng.random()
        if roll < 0.1:
            person.update(last_name=partner["last_name"], date_of_birth=partner["date_of_birth"])
        elif roll < 0.2:
            person["email"] = partner["email"]
    return person


def _record(rng: random.Random, person: dict, source: str, number: int) -> dict:
    record = {
        k: person[k]
        for k in ("first_name", "last_name", "date_of_birth", "address", "postcode", "city", "phone", "email")
    }
    if rng.random() < 0.5 and record["first_name"] in NICKNAMES:
        record["first_name"] = NICKNAMES[record["first_name"]]
    for field in ("first_name", "last_name"):
        if rng.random() < 0.03:
            record[field] = _typo(rng, record[field])
    if rng.random() < 0.01:
        record["first_name"], record["last_name"] = record["last_name"], record["first_name"]
    if rng.random() < 0.1 and record["email"].endswith("@gmail.com"):
        local = record["email"].split("@")[0]
        record["email"] = local.replace(".", "") + "+shop@gmail.com"
    for field, rate in (("phone", 0.25), ("date_of_birth", 0.35), ("address", 0.05)):
        if rng.random() < rate:
            record[field] = None
    if rng.random() < 0.05:  # moved house
        record.update(address=f"{rng.randrange(1, 300)} new street", postcode=f"{rng.randrange(1000, 9999)}AB")
    record["email_sha256"] = hashlib.sha256(record["email"].encode()).hexdigest()
    if source == "partner":  # hashed email only
        record = {"email_sha256": record["email_sha256"]}
    elif source == "pos" and rng.random() < 0.5:  # a cashier typed only the email
        record = {"email": record["email"], "email_sha256": record["email_sha256"]}
    record.update(
        source=source,
        source_record_id=f"{source[:2].upper()}{person['person_id'][1:]}-{number}",
        party={"partner": "second", "broker": "third"}.get(source, "first"),
        person_id=person["person_id"],
        country="NL",
        observed_at=pd.Timestamp("2026-01-01"),
    )
    return record


def synthetic_identity_inputs(persons: int = 1000, seed: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(identity_inputs, identity_strong_ids, truth) for `persons` people, 1-4 records each."""
    rng, fake = random.Random(seed), Faker("en_US")
    fake.seed_instance(seed)
    records, strong_ids, previous = [], [], None
    for index in range(persons):
        partner = previous if previous is not None and rng.random() < 0.15 else None
        person = _person(fake, rng, index, partner)
        previous = person
        for number, source in enumerate(rng.sample(SOURCES, rng.randint(1, 4))):
            records.append(_record(rng, person, source, number))
        if rng.random() < 0.5:  # web visitor who logged in: linked only by the shop user id
            shop_id = f"S{index:07d}"
            records.append(
                {
                    "source": "web",
                    "source_record_id": f"A{index:07d}",
                    "party": "first",
                    "person_id": person["person_id"],
                    "observed_at": pd.Timestamp("2026-01-01"),
                }
            )
            strong_ids.append(("web", f"A{index:07d}", "user_id", shop_id))
            records.append(_record(rng, person, "shop", 9) | {"source_record_id": shop_id})
            strong_ids.append(("shop", shop_id, "user_id", shop_id))
    if persons >= 50:  # two unrelated testers share the blocked test email
        for n in (1, 2):
            records.append(
                {
                    "source": "shop",
                    "source_record_id": f"TEST{n}",
                    "party": "first",
                    "email": "test@test.com",
                    "first_name": "test",
                    "last_name": "user",
                    "person_id": f"T{n}",
                    "observed_at": pd.Timestamp("2026-01-01"),
                }
            )
    inputs = pd.DataFrame.from_records(records)
    columns = [
        "source",
        "source_record_id",
        "party",
        "email",
        "email_sha256",
        "phone",
        "first_name",
        "last_name",
        "date_of_birth",
        "address",
        "postcode",
        "city",
        "country",
        "observed_at",
    ]
    truth = inputs[["source", "source_record_id", "person_id"]]
    ids = pd.DataFrame(strong_ids, columns=["source", "source_record_id", "id_type", "id_value"])
    return inputs.reindex(columns=columns).astype({c: "object" for c in columns if c != "observed_at"}), ids, truth
