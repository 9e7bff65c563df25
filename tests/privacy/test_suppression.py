"""The suppression list's matcher and ingest's check with it, on rows made here (no warehouse)."""

from __future__ import annotations

import hashlib

import duckdb
import pyarrow as pa
import pytest

from cdp.errors import CdpError
from cdp.privacy import suppression
from cdp.privacy.person import Request, resolve
from ingest.config import FileTable
from ingest.readers import FileBytes, new_connection, read_batch, without_forgotten

COLUMNS = suppression.IdentifierColumns({"crm_id": ("crm",), "member_id": ("members",)}, frozenset({"loyalty_card"}))


def forgotten(**identifiers) -> suppression.Suppression:
    """The suppression list of one person: email=, phone= (E.164), record=(source, id), strong_id=(type, value)."""
    hashes = {
        "email": suppression.email_hash,
        "phone": suppression.phone_hash,
        "record": lambda pair: suppression.record_hash(*pair),
        "strong_id": lambda pair: suppression.strong_id_hash(*pair),
    }
    rows = [(kind, hashes[kind](value)) for kind, value in identifiers.items()]
    return suppression.Suppression(pa.table({"kind": [k for k, _ in rows], "hash": [h for _, h in rows]}), COLUMNS)


def matched(rows: dict, person: suppression.Suppression, **options) -> dict[int, str]:
    return suppression.forgotten_rows(duckdb.connect(), pa.table(rows), person, **options)


def test_an_email_hash_is_the_sha256_partners_send():
    assert suppression.email_hash("ann@example.org") == hashlib.sha256(b"ann@example.org").hexdigest()
    person = forgotten(email="ann@example.org")
    rows = {"email_sha256": [hashlib.sha256(b"ann@example.org").hexdigest(), hashlib.sha256(b"bob@x.org").hexdigest()]}
    assert matched(rows, person) == {0: "email_sha256"}


def test_an_email_is_found_as_written_anywhere_but_only_as_a_whole_address():
    person = forgotten(email="ann@example.org")
    notes = [" Ann@Example.ORG ", "write to mailto:ann@example.org.", "joann@example.org", "ann@example.org.uk", None]
    assert matched({"note": notes}, person) == {0: "note", 1: "note"}


def test_a_national_phone_counts_only_in_a_phone_column_an_international_one_anywhere():
    person = forgotten(phone="+31612345678")
    rows = {
        "mobile_phone": ["06-12345678", None, None, None],
        "order_number": [None, "0612345678", None, None],
        "note": [None, None, "call +31 (0)6 1234 5678 after six", "ref 100612345678"],
    }
    assert matched(rows, person) == {0: "mobile_phone", 2: "note"}


def test_record_and_strong_ids_count_in_the_columns_named_for_them():
    person = forgotten(record=("crm", "CRM1"), strong_id=("loyalty_card", "L1"))
    rows = {
        "crm_id": ["CRM1", "CRM2", None, None],
        "other_id": [None, "CRM1", None, None],
        "loyalty_card": [None, None, "L1", "L2"],
    }
    assert matched(rows, person) == {0: "crm_id", 2: "loyalty_card"}
    pairs = {"source": ["crm", "web"], "source_record_id": ["CRM1", "CRM1"]}
    assert matched(pairs, person) == {0: "source_record_id"}


def test_in_free_text_every_word_may_be_a_record_id():
    person = forgotten(record=("crm", "CRM1"), phone="+31612345678")
    records = ['{"crm_id": "CRM1", "x": 1}', "T9,1,001,06 12345678,SKU-1", '{"crm_id": "CRM12"}']
    assert matched({"raw_record": records}, person, token_columns=["raw_record"]) == {0: "raw_record", 1: "raw_record"}


def test_ingest_quarantines_a_forgotten_persons_rows_with_nothing_of_theirs():
    csv = (
        b"crm_id,email,amount\n"
        b"CRM1,ann@example.org,1.5\n"  # theirs
        b"CRM2,bob@example.org,2.5\n"
        b"CRM3,Ann@Example.org,lots\n"  # theirs, and a bad amount
        b"CRM4,carl@example.org,nope\n"
    )
    spec = FileTable(format="csv", files="*.csv", columns={"amount": "double"})
    con = new_connection()
    result = read_batch(con, [FileBytes("crm/a.csv", csv)], "contacts", spec)
    person = forgotten(email="ann@example.org")

    kept = without_forgotten(con, result, "contacts", person)

    assert kept.good["crm_id"].to_pylist() == ["CRM2"]
    quarantine = sorted(kept.quarantine.select(["source_row", "reason", "raw_record"]).to_pylist(), key=str)
    assert [(q["source_row"], q["reason"]) for q in quarantine] == [
        (2, "forgotten"),
        (4, "forgotten"),
        (5, "not a valid double: nope"),
    ]
    assert [q["raw_record"] for q in quarantine][:2] == [None, None]
    counts = kept.files["crm/a.csv"]
    assert (counts.rows_in, counts.quarantined, counts.loaded) == (4, 3, 1)


def test_nothing_forgotten_costs_nothing():
    result = object()
    assert without_forgotten(None, result, "t", suppression.NO_SUPPRESSION) is result


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"emails": ["not-an-email"]}, "--email: 'not-an-email' is not an email address"),
        ({"records": ["CRM1"]}, "--record: 'CRM1' is not SOURCE:ID"),
        ({}, "name the person"),
    ],
)
def test_a_request_that_names_no_one_is_one_clear_line(options, message):
    with pytest.raises(CdpError, match=message):
        Request.parse(**options)


def test_a_blocked_identifier_names_no_one():
    with duckdb.connect() as con, pytest.raises(CdpError, match="blocked identifier"):
        resolve(con, Request.parse(emails=["Test@Test.com"]))
