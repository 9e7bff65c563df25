"""The demo universe: deterministic, complete truth, layout of docs/architecture.md §1, --advance."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pyarrow.parquet as pq
import pytest

from cdp.demo import universe, world
from cdp.demo.layout import STREAMS
from cdp.demo.rates import RATES
from cdp.demo.universe import advance, generate
from tests.demo.conftest import Files, file_hashes

# source -> SQL listing the ids of its person-bearing records, read from the files themselves
PERSON_RECORDS = {
    "web": "SELECT DISTINCT anonymous_id FROM web",
    "app": "SELECT DISTINCT device_id FROM app",
    "shop": "SELECT customer_id FROM shop.customers",
    "pos": "SELECT DISTINCT transaction_id FROM pos WHERE coalesce(loyalty_card, email, phone) IS NOT NULL",
    "crm": "SELECT DISTINCT crm_id FROM crm",
    "email": "SELECT DISTINCT subscriber_id FROM email_subscribers",
    "erp": "SELECT DISTINCT account_number FROM erp",
    "partner": "SELECT DISTINCT response_id FROM partner",
    "broker": "SELECT DISTINCT broker_record_id FROM broker",
}


def assert_truth_complete(files: Files) -> None:
    duplicates = files.scalar(
        "SELECT count(*) FROM (SELECT source, source_record_id FROM truth GROUP BY ALL HAVING count(*) > 1)"
    )
    assert duplicates == 0
    assert files.ids("SELECT DISTINCT source FROM truth") == set(PERSON_RECORDS)
    for source, sql in PERSON_RECORDS.items():
        in_files = files.ids(sql)
        in_truth = files.ids(f"SELECT source_record_id FROM truth WHERE source = '{source}'")
        assert in_files, source
        assert in_truth == in_files, f"{source}: {len(in_truth ^ in_files)} records differ"


def test_same_seed_gives_the_same_bytes(tmp_path, small_universe):
    again = tmp_path / "again"
    generate(again, persons=300, seed=7)
    assert file_hashes(again) == file_hashes(small_universe)


def test_another_seed_gives_another_universe(tmp_path, small_universe):
    other = tmp_path / "other"
    generate(other, persons=300, seed=8)
    assert file_hashes(other)["truth.parquet"] != file_hashes(small_universe)["truth.parquet"]


def test_layout_and_manifest(small_universe):
    manifest = json.loads((small_universe / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["persons"] == 300
    assert manifest["current_date"] == "2026-11-20" and manifest["history_days"] == 180
    assert manifest["rates"]["typo"] > 0
    for stream, (pattern, _, _) in STREAMS.items():
        written = list(small_universe.glob(pattern.format(date="*", key="*")))
        assert written, stream
        assert manifest["counts"]["files"][stream]["rows"] > 0
    assert pq.read_schema(small_universe / "truth.parquet").names == ["source", "source_record_id", "person_id"]
    assert not list(small_universe.parent.glob(".*")), "no partial folder left behind"


def test_every_person_record_is_in_the_truth_once(small_universe):
    assert_truth_complete(Files(small_universe))


def test_columns_match_the_architecture(small_universe):
    files = Files(small_universe)
    for stream, (_, _, columns) in STREAMS.items():
        names = [row[0] for row in files.rows(f"DESCRIBE {stream}") if row[0] != "filename"]
        assert names == list(columns), stream
    assert [row[0] for row in files.rows("DESCRIBE shop.customers")][:2] == ["customer_id", "email"]


def test_advance_appends_one_day(tmp_path, small_universe):
    out = tmp_path / "universe"
    shutil.copytree(small_universe, out)
    before = file_hashes(out)
    old_truth = pq.read_table(out / "truth.parquet")

    manifest = advance(out)

    assert manifest["current_date"] == "2026-11-21"
    assert manifest["persons_total"] > manifest["persons"] == 300
    after = file_hashes(out)
    mutable = {"shop/shop.sqlite", "truth.parquet", "manifest.json"}
    assert {name: digest for name, digest in after.items() if name in before and name not in mutable} == {
        name: digest for name, digest in before.items() if name not in mutable
    }, "files of earlier days are untouched"
    new_files = set(after) - set(before)
    assert new_files and all("2026-11-21" in name for name in new_files)
    new_truth = pq.read_table(out / "truth.parquet")
    assert new_truth.num_rows > old_truth.num_rows
    assert new_truth.slice(0, old_truth.num_rows).equals(old_truth), "old truth rows kept as they were"
    assert_truth_complete(Files(out))
    assert manifest["counts"]["truth"] != json.loads((small_universe / "manifest.json").read_text())["counts"]["truth"]


def test_advance_twice_keeps_everything_consistent(tmp_path, small_universe):
    out = tmp_path / "universe"
    shutil.copytree(small_universe, out)
    advance(out)
    manifest = advance(out)
    assert manifest["current_date"] == "2026-11-22"
    files = Files(out)
    assert_truth_complete(files)
    # the shop changed in place: orders placed on the first advanced day are shipped on the second
    assert files.scalar("SELECT count(*) FROM shop.orders WHERE ordered_at >= '2026-11-21'") > 0


def test_advance_is_deterministic(tmp_path, small_universe):
    first, second = tmp_path / "a", tmp_path / "b"
    shutil.copytree(small_universe, first)
    shutil.copytree(small_universe, second)
    advance(first)
    advance(second)
    assert file_hashes(first) == file_hashes(second)


@pytest.mark.parametrize("persons", [1, 5])
def test_tiny_universes_work(tmp_path, persons):
    manifest = generate(tmp_path / "u", persons=persons, seed=3)
    assert manifest["persons_total"] == persons


def test_advancing_equals_generating_the_longer_history_at_once(tmp_path, small_universe):
    """generate + advance writes exactly what one run up to the next day writes: files, shop rows and truth."""
    advanced = tmp_path / "advanced"
    shutil.copytree(small_universe, advanced)
    advance(advanced)
    manifest = advance(advanced)  # two days: orders placed on the first are shipped on the second
    at_once = tmp_path / "at_once"
    at_once.mkdir()
    universe._simulate(
        at_once,
        at_once / "truth.parquet",
        seed=7,
        initial_persons=300,
        total_persons=manifest["persons_total"],
        first_index=0,
        lo=0,
        hi=world.HISTORY_DAYS + 1,
        rates=RATES,
    )
    mutable = {"shop/shop.sqlite", "truth.parquet", "manifest.json"}
    expected = {name: digest for name, digest in file_hashes(at_once).items() if name not in mutable}
    assert {name: digest for name, digest in file_hashes(advanced).items() if name not in mutable} == expected
    for table in universe.SHOP_TABLES:
        query = f"SELECT * FROM {table} ORDER BY 1"
        with (
            sqlite3.connect(advanced / "shop" / "shop.sqlite") as a,
            sqlite3.connect(at_once / "shop" / "shop.sqlite") as b,
        ):
            assert a.execute(query).fetchall() == b.execute(query).fetchall(), table
    truth_rows = [
        sorted(pq.read_table(folder / "truth.parquet").to_pylist(), key=str) for folder in (advanced, at_once)
    ]
    assert truth_rows[0] == truth_rows[1]
