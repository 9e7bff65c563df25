"""Who a privacy request is about: from the identifiers given to every customer id and identifier.

`resolve(con, request)` starts from the emails, phones, customer ids and source records of
the request and goes back and forth, until nothing new turns up, between

- records: identity.identity_inputs rows with one of the emails (or its hash) or phones,
  identity.identity_strong_ids rows with one of the strong ids, the records asked for;
- customers: identity.record_customers of those records, marts.customer_360 rows listing
  one of the emails or phones, the customer ids asked for;
- identifiers: every email, email hash, phone and strong id of every record of those customers.

Values in seeds.blocked_identifiers (test@test.com, +31600000000, loyalty card 0 ...) are
shared by many people: they never widen the search, and asking for one is an error. A
request that reaches more than MAX_CUSTOMERS customers is refused (name the customer ids).
Tables that are not there (a warehouse ingested but never built) are skipped: the person is
then what the request itself names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from cdp import identifiers, settings
from cdp.errors import CdpError
from cdp.privacy import suppression
from cdp.warehouse_schema import table_exists

MAX_CUSTOMERS = 20
MAX_ROUNDS = 10
DEFAULT_PHONE_REGIONS = "NL,GB,US,DE,BE,FR"  # dbt var phone_regions: how a phone without a country is read


@dataclass(frozen=True)
class Request:
    """The identifiers a request names, normalised as staging normalises them."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] = ()
    records: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, emails=(), phones=(), customer_ids=(), records=()) -> Request:
        """From the command's options; one CdpError line for a value that is not what its option says."""
        parsed_emails = []
        for raw in emails or ():
            email = identifiers.normalise_email(raw)
            if email is None:
                raise CdpError(f"--email: {raw!r} is not an email address")
            parsed_emails.append(email)
        parsed_phones = []
        for raw in phones or ():
            phone = identifiers.phone_e164(raw, DEFAULT_PHONE_REGIONS)
            if phone is None:
                raise CdpError(f"--phone: {raw!r} is not a valid phone number (write it as +<country code> ...)")
            parsed_phones.append(phone)
        parsed_records = []
        for raw in records or ():
            source, _, record_id = raw.partition(":")
            if not source.strip() or not record_id.strip():
                raise CdpError(f"--record: {raw!r} is not SOURCE:ID (e.g. crm:CRM000123)")
            parsed_records.append((source.strip(), record_id.strip()))
        request = cls(
            tuple(dict.fromkeys(parsed_emails)),
            tuple(dict.fromkeys(parsed_phones)),
            tuple(dict.fromkeys(c.strip() for c in customer_ids or () if c.strip())),
            tuple(dict.fromkeys(parsed_records)),
        )
        if not (request.emails or request.phones or request.customer_ids or request.records):
            raise CdpError("name the person: --email, --phone, --customer-id or --record SOURCE:ID (repeatable)")
        return request

    def hashes(self) -> list[dict[str, str]]:
        """The request's identifiers as (kind, hash), for the request's own record."""
        return (
            [{"kind": "email", "hash": suppression.email_hash(e)} for e in self.emails]
            + [{"kind": "phone", "hash": suppression.phone_hash(p)} for p in self.phones]
            + [{"kind": "record", "hash": suppression.record_hash(s, r)} for s, r in self.records]
            + [{"kind": "customer", "hash": suppression.sha256_hex(c)} for c in self.customer_ids]
        )


@dataclass
class Person:
    """Everything that identifies one person in this warehouse (plain values: kept in memory only)."""

    customer_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    email_hashes: set[str] = field(default_factory=set)  # of records that carry only a hash (partner, broker)
    phones: set[str] = field(default_factory=set)
    records: set[tuple[str, str]] = field(default_factory=set)
    strong_ids: set[tuple[str, str]] = field(default_factory=set)

    def size(self) -> int:
        return sum(map(len, (self.customer_ids, self.emails, self.email_hashes, self.phones, self.records)))

    def hashes(self) -> list[tuple[str, str]]:
        """(kind, hash) of every identifier: what goes on the suppression list."""
        found = {("email", suppression.email_hash(e)) for e in self.emails}
        found |= {("email", h) for h in self.email_hashes}
        found |= {("phone", suppression.phone_hash(p)) for p in self.phones}
        found |= {("record", suppression.record_hash(s, r)) for s, r in self.records}
        found |= {("strong_id", suppression.strong_id_hash(t.lower(), v)) for t, v in self.strong_ids}
        return sorted(found)

    def needles(self) -> pa.Table:
        """The hashes plus the plain customer ids (kind `customer`), as the matcher's needle relation."""
        rows = self.hashes() + [(suppression.CUSTOMER, c) for c in sorted(self.customer_ids)]
        return pa.table({"kind": [k for k, _ in rows], "hash": [h for _, h in rows]}, schema=NEEDLE_SCHEMA)


NEEDLE_SCHEMA = pa.schema([("kind", pa.string()), ("hash", pa.string())])


def resolve(con: duckdb.DuckDBPyConnection, request: Request) -> Person:
    """The person the request is about (module docstring)."""
    blocked = blocked_identifiers(con)
    _refuse_blocked(request, blocked)
    person = Person(
        customer_ids=set(request.customer_ids),
        emails=set(request.emails),
        phones=set(request.phones),
        records=set(request.records),
    )
    for _ in range(MAX_ROUNDS):
        before = person.size()
        person.records |= _records_reached(con, person)
        person.customer_ids |= _customers_of(con, person)
        if len(person.customer_ids) > MAX_CUSTOMERS:
            raise CdpError(
                f"these identifiers reach {len(person.customer_ids)} customers (more than {MAX_CUSTOMERS}):"
                " name the person by --customer-id instead"
            )
        person.records |= _records_of_customers(con, person.customer_ids)
        _add_identifiers_of_records(con, person, blocked)
        if person.size() == before:
            break
    return person


def blocked_identifiers(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(identifier_type, value) pairs shared by many people: the seed as built, else as in seeds/."""
    if table_exists(con, "seeds", "blocked_identifiers"):
        rows = con.execute("select identifier_type, value from seeds.blocked_identifiers").fetchall()
    else:
        try:
            with (settings.SEEDS_DIR / "blocked_identifiers.csv").open(encoding="utf-8") as file:
                rows = [(row["identifier_type"], row["value"]) for row in csv.DictReader(file)]
        except OSError:
            rows = []
    return {(str(kind).strip().lower(), str(value).strip().lower()) for kind, value in rows}


def _refuse_blocked(request: Request, blocked: set[tuple[str, str]]) -> None:
    for option, kind, values in (("--email", "email", request.emails), ("--phone", "phone", request.phones)):
        for value in values:
            if (kind, value.lower()) in blocked:
                raise CdpError(
                    f"{option}: {value} is a blocked identifier (seeds/blocked_identifiers.csv), shared by many"
                    " people: it names no one; name the person by another identifier"
                )


def _blocked_hash(email_sha256: str, blocked: set[tuple[str, str]]) -> bool:
    return email_sha256.lower() in {suppression.email_hash(value) for kind, value in blocked if kind == "email"}


def _keys(records) -> list[str]:
    return [f"{source}:{record_id}" for source, record_id in records]


def _records_reached(con, person: Person) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    if table_exists(con, "identity", "identity_inputs"):
        hashes = sorted({suppression.email_hash(e) for e in person.emails} | person.email_hashes)
        found |= set(
            con.execute(
                "select source, source_record_id from identity.identity_inputs"
                " where email in (select unnest($emails)) or email_sha256 in (select unnest($hashes))"
                " or phone in (select unnest($phones))",
                {"emails": sorted(person.emails), "hashes": hashes, "phones": sorted(person.phones)},
            ).fetchall()
        )
    if person.strong_ids and table_exists(con, "identity", "identity_strong_ids"):
        found |= set(
            con.execute(
                "select source, source_record_id from identity.identity_strong_ids"
                " where id_type || ':' || id_value in (select unnest($ids))",
                {"ids": _keys(person.strong_ids)},
            ).fetchall()
        )
    return found


def _customers_of(con, person: Person) -> set[str]:
    found: set[str] = set()
    if person.records and table_exists(con, "identity", "record_customers"):
        found |= {
            customer_id
            for (customer_id,) in con.execute(
                "select distinct customer_id from identity.record_customers"
                " where source || ':' || source_record_id in (select unnest($records))",
                {"records": _keys(person.records)},
            ).fetchall()
        }
    if (person.emails or person.phones) and table_exists(con, "marts", "customer_360"):
        found |= {
            customer_id
            for (customer_id,) in con.execute(
                "select customer_id from marts.customer_360"
                " where list_has_any(all_emails, $emails) or list_has_any(all_phones, $phones)",
                {"emails": sorted(person.emails) or [""], "phones": sorted(person.phones) or [""]},
            ).fetchall()
        }
    return found


def _records_of_customers(con, customer_ids: set[str]) -> set[tuple[str, str]]:
    if not customer_ids or not table_exists(con, "identity", "record_customers"):
        return set()
    return set(
        con.execute(
            "select source, source_record_id from identity.record_customers where customer_id in (select unnest($ids))",
            {"ids": sorted(customer_ids)},
        ).fetchall()
    )


def _add_identifiers_of_records(con, person: Person, blocked: set[tuple[str, str]]) -> None:
    if not person.records:
        return
    records = {"records": _keys(person.records)}
    if table_exists(con, "identity", "identity_inputs"):
        rows = con.execute(
            "select email, email_sha256, phone from identity.identity_inputs"
            " where source || ':' || source_record_id in (select unnest($records))",
            records,
        ).fetchall()
        for email, email_sha256, phone in rows:
            if email and ("email", email.lower()) not in blocked:
                person.emails.add(email)
            elif email_sha256 and not email and not _blocked_hash(email_sha256, blocked):
                person.email_hashes.add(email_sha256.lower())
            if phone and ("phone", phone.lower()) not in blocked:
                person.phones.add(phone)
    if table_exists(con, "identity", "identity_strong_ids"):
        rows = con.execute(
            "select id_type, id_value from identity.identity_strong_ids"
            " where source || ':' || source_record_id in (select unnest($records))",
            records,
        ).fetchall()
        person.strong_ids |= {(t, v) for t, v in rows if (t.lower(), str(v).lower()) not in blocked}
