"""`cdp forget` and `cdp export-person` end to end, on a copy of the shared demo warehouse.

The module fixture runs the story once and records what it saw (tests/demo_pipeline.py does the
same for the nightly run): a copy of what `cdp run` left on the 300-person demo universe (the
demo pipeline's data folder and warehouse folder); the person is the customer in an
export with the most source records; `cdp export-person`; `cdp forget --dry-run`; `cdp forget`;
`cdp forget` again; then every file row about them delivered again (and their shop row changed),
`cdp ingest` and `cdp build`. The person is looked for with the tests' own plain substring scan
(tests/privacy/scan.py), not with cdp's matcher.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from tests.privacy import scan

CDP = str(Path(sys.executable).with_name("cdp"))
HASH_TABLES = ("privacy.suppression", "privacy.forget_requests")  # hashes by design (a person's email_sha256 too)
REDELIVERY_DAY = "2099-12-31"


@dataclass
class Story:
    root: Path
    warehouse: Path
    data_dir: Path
    customer_ids: list[str]
    email: str
    needles: set[str]
    counts_before: dict[str, int]
    held_before: dict[str, int]
    others_before: set[tuple]
    file_before: bytes
    strings_before: str
    export: dict
    dry_run: subprocess.CompletedProcess
    counts_after_dry_run: dict[str, int]
    first: subprocess.CompletedProcess
    counts_after: dict[str, int] = field(default_factory=dict)
    held_after: dict[str, int] = field(default_factory=dict)
    others_after: set[tuple] = field(default_factory=set)
    file_after: bytes = b""
    strings_after: str = ""
    beside_after: list[str] = field(default_factory=list)
    log_lines_after: list[str] = field(default_factory=list)
    loaded_packages_after: list[Path] = field(default_factory=list)
    erasures: list[tuple] = field(default_factory=list)
    requests: list[tuple] = field(default_factory=list)
    second: subprocess.CompletedProcess | None = None
    counts_after_second: dict[str, int] = field(default_factory=dict)
    redelivered: dict[str, int] = field(default_factory=dict)
    ingest_output: str = ""
    forgotten_quarantine: list[tuple] = field(default_factory=list)
    build: subprocess.CompletedProcess | None = None
    held_after_build: dict[str, int] = field(default_factory=dict)
    beside_after_build: list[str] = field(default_factory=list)
    customers_after_build: int = 0


def cdp(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([CDP, *args], capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def story(demo_pipeline, tmp_path_factory) -> Story:
    root = tmp_path_factory.mktemp("privacy")
    data_dir, warehouse = root / "data", root / "warehouse" / demo_pipeline.warehouse.name
    shutil.copytree(demo_pipeline.data_dir, data_dir)  # the story changes the shop and delivers files
    shutil.copytree(demo_pipeline.warehouse.parent, warehouse.parent)  # with dlt's folder, exports and logs
    manifest = demo_pipeline.manifest  # the project as its build saw it
    customer_id, email = choose_person(warehouse)
    log = sorted((warehouse.parent / "logs").glob("*.log"))[0]
    with log.open("a") as file:  # a log line naming them (as a destination's error would), and one that does not
        file.write(f"sync cart_abandoners_file: refused {email}: mailbox full\nsync done: 3 rows\n")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        needles = scan.needles_of(con, [customer_id])
        counts_before = scan.row_counts(con)
        held_before = scan.rows_holding(con, needles) | scan.order_items_of_orders_holding(con, needles)
        others_before = other_customers(con, [customer_id])
    out = root / "person.json"
    exported = cdp("export-person", "--email", email, "--warehouse", str(warehouse), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    story = Story(
        root=root,
        warehouse=warehouse,
        data_dir=data_dir,
        customer_ids=[customer_id],
        email=email,
        needles=needles,
        counts_before=counts_before,
        held_before=held_before,
        others_before=others_before,
        file_before=warehouse.read_bytes(),
        strings_before=strings(warehouse),
        export=json.loads(out.read_text()),
        dry_run=forget_cmd(warehouse, manifest, email, "--dry-run"),
        counts_after_dry_run=read(warehouse, scan.row_counts),
        first=forget_cmd(warehouse, manifest, email),
    )
    after_first_forget(story)
    story.second = forget_cmd(warehouse, manifest, email)
    story.counts_after_second = read(warehouse, scan.row_counts)
    deliver_again(story)
    return story


def after_first_forget(story: Story) -> None:
    warehouse = story.warehouse
    with duckdb.connect(str(warehouse), read_only=True) as con:
        story.counts_after = scan.row_counts(con)
        story.held_after = held_anywhere(con, story.needles)
        story.others_after = other_customers(con, story.customer_ids)
        story.erasures = con.execute("select sync_name, status, people from privacy.erasure_requests").fetchall()
        story.requests = con.execute(
            "select request_id, identifiers, deleted, outside from privacy.forget_requests"
        ).fetchall()
    story.file_after = warehouse.read_bytes()
    story.strings_after = strings(warehouse)
    story.beside_after = beside(warehouse, story.needles)
    story.log_lines_after = [
        line for path in (warehouse.parent / "logs").glob("*.log") for line in path.read_text().splitlines()
    ]
    story.loaded_packages_after = sorted(warehouse.with_name("cdp.duckdb.dlt").glob("*/load/loaded/*"))


def deliver_again(story: Story) -> None:
    """Every file line about them, as new files; their shop row changed; then cdp ingest and cdp build."""
    story.redelivered = write_redelivery(story.data_dir, story.needles)
    with sqlite3.connect(story.data_dir / "shop" / "shop.sqlite") as shop:
        shop.execute(
            "update customers set updated_at = '2099-12-31T00:00:00Z', first_name = 'Again' where lower(email) = ?",
            [story.email],
        )
    env = {"CDP_WAREHOUSE": str(story.warehouse), "CDP_DATA_DIR": str(story.data_dir)}
    ingest = cdp("ingest", env=env)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    story.ingest_output = ingest.stdout
    with duckdb.connect(str(story.warehouse), read_only=True) as con:
        story.forgotten_quarantine = [
            row
            for schema, table in scan.tables(con)
            if table == "_quarantine"
            for row in con.execute(
                f"select '{schema}', source_file, source_row, field, reason, raw_record from {schema}._quarantine"
                f" where reason = 'forgotten'"
            ).fetchall()
        ]
    story.build = cdp("build", env=env)
    with duckdb.connect(str(story.warehouse), read_only=True) as con:
        story.held_after_build = held_anywhere(con, story.needles)
        story.customers_after_build = con.execute(
            "select count(*) from marts.customer_360 where list_contains(all_emails, ?)", [story.email]
        ).fetchone()[0]
    story.beside_after_build = beside(story.warehouse, story.needles)


# -- the story's pieces --------------------------------------------------------------------


def choose_person(warehouse: Path) -> tuple[str, str]:
    """The customer in some export with a phone and the most source records."""
    exported = set()
    for path in (warehouse.parent / "exports").rglob("*.csv"):
        with path.open(newline="") as file:
            exported |= {row["customer_id"] for row in csv.DictReader(file)}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "select customer_id, email from marts.customer_360 where customer_id in (select unnest(?))"
            " and phone is not null and email is not null order by source_record_count desc, customer_id limit 1",
            [sorted(exported)],
        ).fetchone()


def forget_cmd(warehouse: Path, manifest: Path, email: str, *extra: str) -> subprocess.CompletedProcess:
    return cdp("forget", "--email", email, "--warehouse", str(warehouse), "--manifest", str(manifest), *extra)


def read(warehouse: Path, function):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return function(con)


def strings(path: Path) -> str:
    return subprocess.run(["strings", "-n", "6", str(path)], capture_output=True, text=True, check=True).stdout.lower()


def plain(needles: set[str]) -> set[str]:
    """The needles that are values, not hashes (privacy's hash tables hold those by design)."""
    return {n for n in needles if not re.fullmatch("[0-9a-f]{64}", n)}


def beside(warehouse: Path, needles: set[str]) -> list[str]:
    """Files of the exports, run logs and dlt's folder beside the warehouse that hold them."""
    return [
        f"{place}/{name}"
        for place in ("exports", "logs", "cdp.duckdb.dlt")
        for name in scan.files_holding(warehouse.parent / place, plain(needles))
    ]


def held_anywhere(con, needles: set[str]) -> dict[str, int]:
    """Rows holding the person: every table with every needle, privacy's hash tables with plain values."""
    held = {t: n for t, n in scan.rows_holding(con, needles).items() if t not in HASH_TABLES}
    return held | {t: n for t, n in scan.rows_holding(con, plain(needles)).items() if t in HASH_TABLES}


def other_customers(con, customer_ids: list[str]) -> set[tuple]:
    rows = con.execute(
        "select * from marts.customer_360 where customer_id not in (select unnest(?))", [customer_ids]
    ).fetchall()
    return {tuple(map(str, row)) for row in rows}


def write_redelivery(data_dir: Path, needles: set[str]) -> dict[str, int]:
    """Each CSV / JSONL line about the person copied into a new file of the same source; lines per file."""
    values = plain(needles)
    new_files: dict[Path, list[bytes]] = {}
    headers: dict[Path, bytes] = {}
    for path in sorted(data_dir.rglob("*")):
        if path.suffix not in (".csv", ".jsonl") or not path.is_file():
            continue
        lines = path.read_bytes().splitlines(keepends=True)
        target = path.with_name(re.sub(r"\d{4}-\d{2}-\d{2}", REDELIVERY_DAY, path.name))
        body = lines[1:] if path.suffix == ".csv" else lines
        about = [line for line in body if any(v.encode() in line.lower() for v in values)]
        if about and target != path:
            new_files.setdefault(target, []).extend(about)
            if path.suffix == ".csv":
                headers[target] = lines[0]
    for target, lines in new_files.items():
        target.write_bytes(headers.get(target, b"") + b"".join(lines))
    return {str(target.relative_to(data_dir)): len(lines) for target, lines in new_files.items()}


# -- the tests -------------------------------------------------------------------------------


def test_the_person_is_real_and_everywhere_before(story):
    assert len(story.email) >= 20 and story.email.encode() in story.file_before  # the bytes test can see them
    assert story.email in story.strings_before
    touched = {table.split(".")[0] for table in story.held_before}
    assert len({schema for schema in touched if schema.startswith("raw_")}) >= 4
    assert {"staging", "identity", "marts", "segments", "reverse_etl"} <= touched


def test_export_person_writes_their_records(story):
    document = story.export
    assert document["request"]["customer_ids"] == story.customer_ids
    assert [row["email"] for row in document["profile"]] == [story.email]
    raw = {table: len(rows) for table, rows in document["source_records"]["raw"].items()}
    assert raw == {  # every raw row that names them (an order's items name only the order)
        table: count
        for table, count in story.held_before.items()
        if table.startswith("raw_") and "_staging." not in table and not table.endswith(".order_items")
    }
    assert {link["customer_id"] for link in document["identity"]["links"]} == set(story.customer_ids)
    assert len(document["identity"]["links"]) == len(document["source_records"]["as_read"])
    assert document["consent"]["now"] and document["segments"]
    assert {row["sync_name"] for row in document["sent"]["state"]}  # what was sent where


def test_a_dry_run_changes_nothing(story):
    assert story.dry_run.returncode == 0, story.dry_run.stderr
    assert "would be deleted" in story.dry_run.stdout
    assert story.counts_after_dry_run == story.counts_before


def test_forget_says_what_it_did_place_by_place(story):
    assert story.first.returncode == 0, story.first.stderr
    out = story.first.stdout
    assert "1 customer id(s) reached" in out
    for place in (
        "suppression list:",
        "raw_pos.transactions:",
        "marts.customer_360: 1 row(s) deleted",
        "exports:",
        "run logs: 1 line(s) removed from 1 file(s)",
        "dlt working folder:",
        "warehouse file: written again",
    ):
        assert place in out


def test_forget_leaves_no_row_of_the_person_in_any_table(story):
    assert story.held_after == {}


def test_forget_deletes_only_the_persons_rows(story):
    for table, before in story.counts_before.items():
        if table.startswith(("privacy.", "cdp_meta.")):
            continue
        assert before - story.counts_after.get(table, 0) == story.held_before.get(table, 0), table
    assert story.others_after == story.others_before


def test_no_byte_of_the_warehouse_file_holds_them(story):
    for needle in plain(story.needles):
        assert needle.encode() not in story.file_after.lower(), needle
        assert needle not in story.strings_after, needle
    assert not story.warehouse.with_name("cdp.duckdb.wal").exists()


def test_exports_logs_and_dlt_packages_no_longer_hold_them(story):
    assert story.beside_after == []
    assert "sync done: 3 rows" in story.log_lines_after  # the other lines of the log stay
    assert story.loaded_packages_after == []


def test_the_request_is_recorded_with_hashes_only(story):
    [(request_id, identifiers, deleted, outside)] = story.requests
    assert request_id in story.first.stdout
    assert story.email not in identifiers and json.loads(identifiers)[0]["kind"] == "email"
    assert json.loads(deleted)["marts.customer_360"] == 1
    assert json.loads(outside)["run logs"] == {"files": 1, "lines": 1}
    for sync_name, status, people in story.erasures:  # file exports have no deletion API: done by forget itself
        assert (status, people) == ("not_supported", None), sync_name


def test_forget_again_is_a_no_op(story):
    assert story.second.returncode == 0, story.second.stderr
    out = story.second.stdout
    assert "0 customer id(s) reached" in out and "0 hash(es) added" in out
    assert "no row of this person left" in out and "warehouse file: unchanged" in out
    assert "exports: 0 row(s)" in out and "run logs: 0 line(s)" in out
    assert {t: n for t, n in story.counts_after_second.items() if not t.startswith("privacy.")} == {
        t: n for t, n in story.counts_after.items() if not t.startswith("privacy.")
    }


def test_a_redelivery_is_quarantined_as_forgotten_without_their_data(story):
    assert sum(story.redelivered.values()) >= 5, story.redelivered
    file_rows = [row for row in story.forgotten_quarantine if row[2] is not None]
    assert len(file_rows) == sum(story.redelivered.values())
    assert {row[1] for row in file_rows} == set(story.redelivered)
    assert any(row[0] == "raw_shop" for row in story.forgotten_quarantine)  # the changed shop row, from SQL
    assert all(row[4] == "forgotten" and row[5] is None for row in story.forgotten_quarantine)


def test_after_cdp_build_they_are_still_gone(story):
    assert story.build.returncode == 0, story.build.stdout[-3000:] + story.build.stderr[-3000:]
    assert story.held_after_build == {}
    assert story.customers_after_build == 0
    assert story.beside_after_build == []
