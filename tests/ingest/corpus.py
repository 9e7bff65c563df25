"""A corpus of bad inputs, as users' deliveries come: each case counts its own rows in and out.

Every case writes files into a fresh data folder, runs `cdp ingest` (one or more times, as
the deliveries arrive), and returns how many records it delivered in the files' final
content. The rule checked for every case: rows in = rows loaded + rows quarantined, read
from the file manifest and cross-checked against the raw and quarantine tables. Each case
asserts its own specifics too (the right values survive, the reason names the problem).

    python -m tests.ingest.corpus            # run every case, print the figures
    pytest tests/ingest/test_corpus.py       # the same cases, one test each
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.config import IngestConfig
from ingest.runner import run_ingest

CASES: dict[str, Callable[[Delivery], int]] = {}

EVENTS = {"format": "jsonl", "files": "*.jsonl*", "columns": {"at": "timestamp"}}
LINES = {"format": "csv", "files": "**/*.csv*", "columns": {"qty": "bigint", "at": "timestamp"}}
ENRICHMENT = {"format": "parquet", "files": "*.parquet", "columns": {"at": "timestamp"}}
CONTACTS = {
    "format": "jsonl",
    "files": "contacts_*.jsonl",
    "write_disposition": "merge",
    "primary_key": "id",
    "dedup_sort": "updated_at",
    "columns": {"updated_at": "timestamp", "consent": "boolean"},
}


def case(function: Callable[[Delivery], int]) -> Callable[[Delivery], int]:
    CASES[function.__name__] = function
    return function


class Delivery:
    """One source `src` with one table `t`, a data folder and a warehouse of its own."""

    def __init__(self, root: Path, table: dict, *, extra_sources: dict | None = None):
        self.root = root
        self.folder = root / "data" / "src"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.warehouse = root / "warehouse" / "cdp.duckdb"
        self.table = table
        sources = {"src": {"kind": "files", "party": "first", "location": str(self.folder), "tables": {"t": table}}}
        self.config = IngestConfig.model_validate({"sources": {**sources, **(extra_sources or {})}})
        self.summaries = []

    def write(self, name: str, content: bytes | str, *, append: bool = False) -> Path:
        path = self.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        with path.open("ab" if append else "wb") as out:
            out.write(data)
        return path

    def jsonl(self, name: str, records: list[dict], *, append: bool = False) -> Path:
        return self.write(name, "".join(json.dumps(record) + "\n" for record in records), append=append)

    def parquet(self, name: str, table: pa.Table) -> Path:
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return self.write(name, buffer.getvalue())

    def pipeline_and_source(self):
        """dlt's pipeline of `src` and its source as `cdp ingest` builds them, to stop a run part way."""
        from ingest.runner import build_source, pipeline_for
        from ingest.stats import SourceStats

        self.warehouse.parent.mkdir(parents=True, exist_ok=True)
        pipeline = pipeline_for("src", self.warehouse)
        return pipeline, build_source("src", self.config.sources["src"], self.root / "data", pipeline, SourceStats())

    def ingest(self, sources=("src",)):
        summary = run_ingest(list(sources), warehouse=self.warehouse, data_dir=self.root / "data", config=self.config)
        self.summaries.append(summary)
        return summary

    def query(self, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        return self.query(sql, *params)[0][0]

    def has_table(self, schema: str, table: str) -> bool:
        return bool(
            self.query(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", schema, table
            )
        )

    def quarantine(self) -> list[tuple]:
        if not self.has_table("raw_src", "_quarantine"):
            return []
        return self.query(
            "SELECT source_file, source_row, field, reason, raw_record FROM raw_src._quarantine"
            " ORDER BY source_file, source_row"
        )

    def column_names(self) -> list[str]:
        return [
            name
            for (name,) in self.query(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = 'raw_src' AND table_name = 't' ORDER BY ordinal_position"
            )
        ]


@dataclass(frozen=True)
class Accounting:
    rows_in: int
    loaded: int
    quarantined: int

    @property
    def lost(self) -> int:
        return self.rows_in - self.loaded - self.quarantined


def account(delivery: Delivery, rows_in: int) -> Accounting:
    """Loaded and quarantined rows per the manifest, checked against the tables themselves."""
    if not delivery.has_table("raw_src", "_files"):
        return Accounting(rows_in, 0, 0)
    loaded, quarantined = delivery.query(
        "SELECT coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) FROM raw_src._files"
    )[0]
    if delivery.table.get("write_disposition", "append") == "append" and delivery.has_table("raw_src", "t"):
        assert delivery.scalar("SELECT count(*) FROM raw_src.t") == loaded, "raw rows differ from the manifest"
    if delivery.has_table("raw_src", "_quarantine"):
        in_quarantine = delivery.scalar("SELECT count(*) FROM raw_src._quarantine WHERE source_row IS NOT NULL")
        assert in_quarantine == quarantined, "quarantine rows differ from the manifest"
    for summary in delivery.summaries[: -1 if getattr(delivery, "may_fail", False) else None]:
        assert "src" not in summary.failed, summary.failed
    return Accounting(rows_in, int(loaded), int(quarantined))


def run_case(name: str, root: Path) -> Accounting:
    return _run(name, root)[0]


def _run(name: str, root: Path) -> tuple[Accounting, Delivery]:
    function = CASES[name]
    table = getattr(function, "table", EVENTS)
    delivery = Delivery(root, table, extra_sources=getattr(function, "extra_sources", None))
    rows_in = function(delivery)
    return account(delivery, rows_in), delivery


def with_table(table: dict, **extra):
    def decorate(function):
        function.table = table
        for key, value in extra.items():
            setattr(function, key, value)
        return function

    return decorate


def events(ids, day: int = 1, **fields) -> list[dict]:
    return [{"id": f"e{i}", "at": f"2026-12-{day:02d}T{i % 24:02d}:00:00Z", **fields} for i in ids]


def loaded_ids(delivery: Delivery) -> list[str]:
    return [i for (i,) in delivery.query("SELECT id FROM raw_src.t ORDER BY id")]


# -- files that change -------------------------------------------------------


@case
def jsonl_file_grows_after_it_was_loaded(d: Delivery) -> int:
    d.jsonl("events.jsonl", events(range(3)))
    d.ingest()
    d.jsonl("events.jsonl", events(range(3, 5)), append=True)
    summary = d.ingest()
    assert summary.sources["src"].tables["t"].loaded == 2
    assert d.query("SELECT id, _source_row FROM raw_src.t ORDER BY id") == [(f"e{i}", i + 1) for i in range(5)]
    return 5


@case
def jsonl_redelivered_under_the_same_name_with_new_content(d: Delivery) -> int:
    path = d.jsonl("events.jsonl", events(range(40)))
    d.ingest()
    d.jsonl("events.jsonl", events(range(100, 103)))
    os.utime(path, (1, 1))  # an older modification time than before: the hash decides
    d.ingest()
    assert loaded_ids(d) == ["e100", "e101", "e102"]
    return 3


@case
def jsonl_touched_without_change_is_not_read_again(d: Delivery) -> int:
    path = d.jsonl("events.jsonl", events(range(3)))
    d.ingest()
    os.utime(path, (2_000_000_000, 2_000_000_000))
    assert d.ingest().sources["src"].tables["t"].loaded == 0
    assert d.ingest().sources["src"].tables["t"].files_skipped == 1
    return 3


@case
def jsonl_renamed_file_is_not_loaded_twice(d: Delivery) -> int:
    path = d.jsonl("events_a.jsonl", events(range(3)))
    d.ingest()
    path.rename(d.folder / "events_b.jsonl")
    summary = d.ingest()
    assert summary.sources["src"].tables["t"].loaded == 0
    assert any("same content as" in note for note in summary.sources["src"].tables["t"].notes)
    return 3


@case
def jsonl_same_content_under_two_names_in_one_delivery(d: Delivery) -> int:
    d.jsonl("events_a.jsonl", events(range(3)))
    d.jsonl("events_copy.jsonl", events(range(3)))
    d.ingest()
    assert loaded_ids(d) == ["e0", "e1", "e2"]
    return 3


@case
def jsonl_read_while_half_written_then_completed(d: Delivery) -> int:
    full = "".join(json.dumps(record) + "\n" for record in events(range(4)))
    d.write("events.jsonl", full[: len(full) - 20])  # the last line cut off mid-record
    d.ingest()
    d.write("events.jsonl", full)
    d.ingest()
    assert loaded_ids(d) == ["e0", "e1", "e2", "e3"]
    assert d.quarantine() == []  # the cut-off line's quarantine went with the old version
    return 4


# -- JSON fields -------------------------------------------------------------


@case
def jsonl_keys_that_differ_only_in_case(d: Delivery) -> int:
    d.jsonl("events.jsonl", [{"id": "e1", "Page_URL": "/a", "PAGE_URL": "/b", "page_url": "/c"}])
    summary = d.ingest()
    values = d.query("SELECT * EXCLUDE (_source_file, _source_row, _dlt_id, _dlt_load_id) FROM raw_src.t")[0]
    assert sorted(v for v in values if v and v.startswith("/")) == ["/a", "/b", "/c"]
    assert any("both page_url" in note for note in summary.sources["src"].tables["t"].notes)
    return 1


@case
def jsonl_record_with_lineage_and_dlt_fields(d: Delivery) -> int:
    records = [
        {"id": f"e{i}", "_source_file": "theirs.csv", "_source_row": 99, "_dlt_load_id": "x", "_dlt_id": f"d{i}"}
        for i in range(197)
    ]
    d.jsonl("events.jsonl", records)
    d.ingest()
    assert d.query("SELECT DISTINCT _source_file, record_source_file, record_dlt_load_id FROM raw_src.t") == [
        ("src/events.jsonl", "theirs.csv", "x")
    ]
    assert d.scalar("SELECT count(DISTINCT record_dlt_id) FROM raw_src.t") == 197
    return 197


@case
def jsonl_gzip_content_by_content_and_by_name(d: Delivery) -> int:
    d.write("events_1.jsonl", gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in events(range(3)))))
    d.write("events_2.jsonl.gz", gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in events(range(3, 5)))))
    d.ingest()
    assert loaded_ids(d) == [f"e{i}" for i in range(5)]
    return 5


@case
def jsonl_only_new_file_holds_no_json_object(d: Delivery) -> int:
    d.jsonl("events_1.jsonl", events(range(2)))
    d.ingest()
    d.write("events_2.jsonl", "this is a plain text note\nnot json either\n")
    summary = d.ingest()
    assert summary.sources["src"].error is None  # the table holds rows: this run's problems are reported
    assert [row[3] for row in d.quarantine()] == ["malformed JSON", "malformed JSON"]
    return 4


@case
def jsonl_values_of_the_wrong_type_and_broken_lines(d: Delivery) -> int:
    lines = [
        json.dumps({"id": "e1", "at": "2026-12-01T10:00:00Z"}),
        json.dumps({"id": "e2", "at": "yesterday"}),
        '{"id": "e3", "at": ',
        "[1, 2]",
        json.dumps({"id": "e4", "at": 1733000000}),
        json.dumps({"id": "e5", "nested": {"a": [1, 2]}, "at": None}),
    ]
    d.write("events.jsonl", "\r\n".join(lines) + "\r\n")
    d.ingest()
    reasons = {row: reason for _, row, _, reason, _ in d.quarantine()}
    assert reasons[2] == "not a valid timestamp: yesterday"
    assert reasons[3] == "malformed JSON" and reasons[4] == "not a JSON object"
    assert d.query("SELECT nested FROM raw_src.t WHERE id = 'e5'") == [('{"a":[1,2]}',)]
    return 6


@case
def jsonl_with_byte_order_mark_and_latin1_line(d: Delivery) -> int:
    d.write(
        "events.jsonl",
        b"\xef\xbb\xbf"
        + json.dumps({"id": "e1"}).encode()
        + b"\n"
        + '{"id": "e2", "city": "M\xfcnster"}\n'.encode("latin-1"),
    )
    d.ingest()
    assert loaded_ids(d) == ["e1"]
    assert [row[1:4] for row in d.quarantine()] == [(2, None, "not valid UTF-8 (wrong encoding?)")]
    return 2


# -- CSV ---------------------------------------------------------------------

CSV_HEADER = "id,store,qty,at\n"


def csv_rows(ids, qty="2") -> str:
    return "".join(f"t{i},s1,{qty},2026-12-01T{i % 24:02d}:00:00Z\n" for i in ids)


@case
@with_table(LINES)
def csv_names_with_glob_characters(d: Delivery) -> int:
    d.write("2026-12-0[1].csv", CSV_HEADER + csv_rows(range(2)))
    d.write("2026-12-01.csv", CSV_HEADER + csv_rows(range(10, 13)))
    d.ingest()
    assert d.query("SELECT _source_file, count(*) FROM raw_src.t GROUP BY 1 ORDER BY 1") == [
        ("src/2026-12-01.csv", 3),
        ("src/2026-12-0[1].csv", 2),
    ]
    return 5


@case
@with_table(LINES)
def csv_without_a_header(d: Delivery) -> int:
    d.write("day1.csv", CSV_HEADER + csv_rows(range(3)))
    d.ingest()
    d.write("day2.csv", csv_rows(range(3, 8)))
    summary = d.ingest()
    assert d.column_names() == ["id", "store", "qty", "at", "_source_file", "_source_row", "_dlt_id", "_dlt_load_id"]
    quarantined = d.quarantine()
    assert [row[1] for row in quarantined] == [1, 2, 3, 4, 5]
    assert quarantined[0][3].startswith("no header?")
    assert quarantined[0][4] == "t3,s1,2,2026-12-01T03:00:00Z"
    assert any("day2.csv rows 1, 2" in line for _, line in summary.lines())
    return 8


@case
@with_table(LINES)
def csv_without_a_header_on_the_first_load(d: Delivery) -> int:
    """Every row quarantined and the table empty: the source stops here with the reason (dbt would fail later)."""
    d.write("day1.csv", csv_rows(range(4)))
    d.may_fail = True
    summary = d.ingest()
    assert not d.has_table("raw_src", "t") or d.scalar("SELECT count(*) FROM raw_src.t") == 0
    assert summary.failed["src"].startswith("t: every row read (4) was quarantined, none loaded yet: no header?")
    return 4


@case
@with_table(LINES)
def csv_separated_by_semicolons_in_a_comma_source(d: Delivery) -> int:
    d.may_fail = True  # the first load: every row quarantined stops the source (see above)
    d.write("day1.csv", CSV_HEADER.replace(",", ";") + csv_rows(range(3)).replace(",", ";"))
    d.ingest()
    assert "one column" in d.quarantine()[0][3] and "';'" in d.quarantine()[0][3]
    return 3


@case
@with_table(LINES)
def csv_header_of_another_layout(d: Delivery) -> int:
    d.write("day1.csv", CSV_HEADER + csv_rows(range(2)))
    d.ingest()
    d.write("day2.csv", "name,colour\nann,red\nbob,blue\n")
    d.ingest()
    assert "none of the table's columns" in d.quarantine()[0][3]
    assert "colour" not in d.column_names()
    return 4


@case
@with_table(LINES)
def csv_unclosed_quote(d: Delivery) -> int:
    d.write(
        "day1.csv", CSV_HEADER + 't1,s1,2,2026-12-01T01:00:00Z\nt2,"s1,2,2026-12-01T02:00:00Z\n' + csv_rows(range(3, 6))
    )
    d.ingest()
    assert "t1" in [i for (i,) in d.query("SELECT id FROM raw_src.t")]
    assert d.quarantine()[0][1] == 3  # the broken record, with its text
    return d.scalar("SELECT sum(rows_in) FROM raw_src._files")  # the broken region is one record per DuckDB


@case
@with_table(LINES)
def csv_quoted_newline_names_the_right_line(d: Delivery) -> int:
    d.write(
        "day1.csv",
        'id,store,qty,at\nt1,"Main\nStreet",1,2026-12-01T01:00:00Z\nt2,s1,two,2026-12-01T02:00:00Z\nt3,s1,3,2026-12-01T03:00:00Z\n',
    )
    d.ingest()
    assert [row[1:3] for row in d.quarantine()] == [(4, "qty")]
    assert d.query("SELECT id, _source_row FROM raw_src.t ORDER BY id") == [("t1", 2), ("t3", 5)]
    return 3


@case
@with_table(LINES)
def csv_with_a_lineage_column(d: Delivery) -> int:
    d.write("day1.csv", "id,_source_file,qty\nt1,theirs.csv,1\nt2,theirs.csv,2\n")
    d.ingest()
    assert d.query("SELECT DISTINCT _source_file, record_source_file FROM raw_src.t") == [
        ("src/day1.csv", "theirs.csv")
    ]
    return 2


@case
@with_table(LINES)
def csv_gzip_compressed(d: Delivery) -> int:
    d.write("day1.csv.gz", gzip.compress((CSV_HEADER + csv_rows(range(4))).encode()))
    d.ingest()
    assert d.scalar("SELECT count(*) FROM raw_src.t") == 4
    return 4


@case
@with_table(LINES)
def csv_file_grows(d: Delivery) -> int:
    d.write("day1.csv", CSV_HEADER + csv_rows(range(2)))
    d.ingest()
    d.write("day1.csv", csv_rows(range(2, 5)), append=True)
    d.ingest()
    assert d.query("SELECT id, _source_row FROM raw_src.t ORDER BY id") == [(f"t{i}", i + 2) for i in range(5)]
    return 5


@case
@with_table(LINES)
def csv_bad_values_and_ragged_rows(d: Delivery) -> int:
    d.write(
        "day1.csv", CSV_HEADER + "t1,s1,two,2026-12-01T01:00:00Z\nt2,s1\nt3,s1,3,2026-12-01T01:00:00Z,extra\nt4,s1,4,\n"
    )
    d.ingest()
    assert sorted(row[1] for row in d.quarantine()) == [2, 3, 4]
    return 4


@case
@with_table(LINES)
def csv_repeated_and_empty_header_names(d: Delivery) -> int:
    d.write("day1.csv", "id,qty,qty,\nt1,1,2,x\n")
    d.ingest()
    assert d.scalar("SELECT count(*) FROM raw_src.t") == 1
    return 1


@case
@with_table(LINES)
def csv_header_only_and_blank_files(d: Delivery) -> int:
    d.write("day1.csv", CSV_HEADER)
    d.write("day2.csv", "\n\n  \n")
    summary = d.ingest()
    assert summary.sources["src"].error is None
    return 0


CRM_EXPORT = {
    "format": "csv",
    "files": "*.csv",
    "write_disposition": "merge",
    "primary_key": "customer_no",  # the column name the header "Customer No" becomes
    "dedup_sort": "updated_at",
    "columns": {"Updated At": "timestamp"},  # the header's own spelling works too
}


@case
@with_table(CRM_EXPORT)
def csv_key_and_columns_named_as_they_load_or_as_in_the_header(d: Delivery) -> int:
    d.write(
        "contacts.csv",
        "Customer No,Full Name,Updated At\nC1,Ann,2026-12-01T10:00:00Z\nC2,Bob,2026-12-01T11:00:00Z\nC1,Ann B,2026-12-02T10:00:00Z\n",
    )
    d.ingest()
    assert d.query("SELECT customer_no, full_name FROM raw_src.t ORDER BY 1") == [("C1", "Ann B"), ("C2", "Bob")]
    return d.scalar("SELECT sum(rows_in) FROM raw_src._files")


# -- Parquet -----------------------------------------------------------------


@case
@with_table(ENRICHMENT)
def parquet_column_becomes_int64(d: Delivery) -> int:
    d.parquet("day1.parquet", pa.table({"id": ["b1"], "score": ["high"]}))
    d.ingest()
    d.parquet("day2.parquet", pa.table({"id": ["b2"], "score": pa.array([7], pa.int64())}))
    d.parquet("day3.parquet", pa.table({"id": ["b3"], "score": ["low"]}))
    d.ingest()
    assert d.query("SELECT id, score FROM raw_src.t ORDER BY id") == [("b1", "high"), ("b2", "7"), ("b3", "low")]
    return 3


@case
@with_table(ENRICHMENT)
def parquet_int_column_gets_text(d: Delivery) -> int:
    d.parquet("day1.parquet", pa.table({"id": ["b1"], "score": pa.array([7], pa.int64())}))
    d.ingest()
    d.parquet("day2.parquet", pa.table({"id": ["b2", "b3"], "score": ["8", "n/a"]}))
    d.ingest()
    d.parquet("day3.parquet", pa.table({"id": ["b4"], "score": pa.array([9], pa.int64())}))
    d.ingest()
    assert d.query("SELECT id, score FROM raw_src.t ORDER BY id") == [("b1", 7), ("b2", 8), ("b4", 9)]
    assert [row[1:4] for row in d.quarantine()] == [(2, "score", "not a valid bigint: n/a")]
    return 4


@case
@with_table(ENRICHMENT)
def parquet_real_timestamp_where_other_files_hold_strings(d: Delivery) -> int:
    from datetime import UTC, datetime

    d.parquet("day1.parquet", pa.table({"id": ["b1"], "seen": ["2026-12-01 10:00"]}))
    d.parquet("day2.parquet", pa.table({"id": ["b2"], "seen": pa.array([datetime(2026, 12, 2, tzinfo=UTC)])}))
    d.ingest()
    d.parquet("day3.parquet", pa.table({"id": ["b3"], "seen": pa.array([datetime(2026, 12, 3, tzinfo=UTC)])}))
    d.ingest()
    assert d.scalar("SELECT count(*) FROM raw_src.t WHERE seen IS NOT NULL") == 3
    return 3


@case
@with_table(ENRICHMENT)
def parquet_half_written_then_completed(d: Delivery) -> int:
    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": [f"b{i}" for i in range(50)]}), buffer)
    d.write("day1.parquet", buffer.getvalue()[:100])
    summary = d.ingest()
    assert summary.sources["src"].tables["t"].file_problems == 1
    d.write("day1.parquet", buffer.getvalue())
    d.ingest()
    assert d.scalar("SELECT count(*) FROM raw_src.t") == 50
    assert d.quarantine() == []
    return 50


@case
@with_table(ENRICHMENT)
def parquet_value_of_a_declared_type_that_does_not_cast(d: Delivery) -> int:
    d.parquet("day1.parquet", pa.table({"id": ["b1", "b2"], "at": ["2026-12-01T00:00:00Z", "last tuesday"]}))
    d.ingest()
    assert [row[1:4] for row in d.quarantine()] == [(2, "at", "not a valid timestamp: last tuesday")]
    return 2


@case
@with_table(ENRICHMENT)
def parquet_columns_that_differ_only_in_case(d: Delivery) -> int:
    d.parquet("day1.parquet", pa.table({"id": ["b1"], "Score": ["a"], "SCORE": ["b"]}))
    d.ingest()
    assert len([c for c in d.column_names() if c.startswith("score")]) == 2
    return 1


# -- merged files ------------------------------------------------------------


def contact(updated: str | None, consent: bool, contact_id: str = "c1") -> dict:
    return {"id": contact_id, "updated_at": updated, "consent": consent}


@case
@with_table(CONTACTS)
def merge_older_export_arrives_after_a_newer_one(d: Delivery) -> int:
    d.jsonl(
        "contacts_2026-12-02.jsonl",
        [contact("2026-12-02T09:00:00Z", False), contact("2026-12-02T09:00:00Z", True, "c2")],
    )
    d.ingest()
    d.jsonl(
        "contacts_2026-12-01.jsonl",
        [contact("2026-12-01T09:00:00Z", True), contact("2026-12-01T09:00:00Z", True, "c3")],
    )
    summary = d.ingest()
    assert d.query("SELECT id, consent FROM raw_src.t ORDER BY id") == [("c1", False), ("c2", True), ("c3", True)]
    (stale,) = d.quarantine()
    assert stale[2] == "updated_at" and stale[3].startswith("older than the version already loaded")
    assert any("older than" in line for _, line in summary.lines())
    return 4


@case
@with_table(CONTACTS)
def merge_versions_out_of_order_in_one_delivery(d: Delivery) -> int:
    d.jsonl("contacts_a.jsonl", [contact("2026-12-03T09:00:00Z", False)])
    d.jsonl("contacts_b.jsonl", [contact("2026-12-01T09:00:00Z", True)])
    d.ingest()
    assert d.query("SELECT consent FROM raw_src.t") == [(False,)]
    return d.scalar("SELECT sum(rows_in) FROM raw_src._files")


@case
@with_table(CONTACTS)
def merge_export_without_updated_at_never_replaces_a_dated_one(d: Delivery) -> int:
    d.jsonl("contacts_1.jsonl", [contact("2026-12-02T09:00:00Z", False)])
    d.ingest()
    d.jsonl("contacts_2.jsonl", [contact(None, True), contact(None, True, "c9")])
    d.ingest()
    assert d.query("SELECT id, consent FROM raw_src.t ORDER BY id") == [("c1", False), ("c9", True)]
    return 3


@case
@with_table(CONTACTS)
def merge_changed_export_is_merged_again(d: Delivery) -> int:
    d.jsonl("contacts_1.jsonl", [contact("2026-12-01T09:00:00Z", True)])
    d.ingest()
    d.jsonl("contacts_1.jsonl", [contact("2026-12-01T12:00:00Z", False)])
    d.ingest()
    assert d.query("SELECT consent FROM raw_src.t") == [(False,)]
    return 1


# -- loads that do not commit ------------------------------------------------


@case
def manifest_committed_while_the_rows_were_not(d: Delivery) -> int:
    """The data job fails, the _files job loads; the package is aborted by hand, as dlt suggests."""
    d.jsonl("events_1.jsonl", events(range(216)))
    pipeline, source = d.pipeline_and_source()
    pipeline.extract(source)
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    jobs = Path(pipeline.working_dir) / "load" / "normalized" / load_id / "new_jobs"
    for job in jobs.iterdir():
        if job.name.startswith("t."):
            job.write_bytes(b"not a parquet file")
    with contextlib.suppress(Exception):  # the data job fails; the manifest job has loaded
        pipeline.load()
    pipeline.abort_packages()
    d.ingest()
    assert d.scalar("SELECT count(DISTINCT id) FROM raw_src.t") == 216
    return 216


@case
def crash_in_the_middle_of_a_re_read(d: Delivery) -> int:
    d.jsonl("events.jsonl", events(range(5)))
    d.ingest()
    d.jsonl("events.jsonl", events(range(10, 13)))
    pipeline, source = d.pipeline_and_source()
    pipeline.extract(source)
    pipeline.normalize()  # killed here: the re-read is a package that never loaded
    d.ingest()
    assert loaded_ids(d) == ["e10", "e11", "e12"]
    assert d.ingest().sources["src"].tables["t"].loaded == 0
    return 3


@case
def crash_after_a_re_read_loaded_before_the_old_rows_went(d: Delivery) -> int:
    d.jsonl("events.jsonl", events(range(5)))
    d.ingest()
    d.jsonl("events.jsonl", events(range(10, 13)))
    pipeline, source = d.pipeline_and_source()
    pipeline.run(source)
    # killed here, before the clean-up of the rows of the old version
    d.ingest()
    assert loaded_ids(d) == ["e10", "e11", "e12"]
    return 3


# -- sources and settings ----------------------------------------------------


@case
@with_table(
    EVENTS,
    extra_sources={
        "gone": {"kind": "files", "party": "first", "location": "/nonexistent/cdp", "tables": {"t": EVENTS}}
    },
)
def missing_folder_fails_that_source_only(d: Delivery) -> int:
    d.jsonl("events.jsonl", events(range(3)))
    summary = d.ingest(["gone", "src"])
    assert list(summary.failed) == ["gone"] and "no such folder" in summary.failed["gone"]
    return 3


@case
@with_table({**EVENTS, "files": "evnts_*.jsonl", "columns": {"at": "timestamp", "ocurred_at": "timestamp"}})
def glob_matching_nothing_and_a_declared_column_typo(d: Delivery) -> int:
    d.jsonl("events.jsonl", events(range(3)))
    notes = d.ingest().sources["src"].tables["t"].notes
    assert any("no file matches 'evnts_*.jsonl'" in note for note in notes)
    d.config = IngestConfig.model_validate(
        {
            "sources": {
                "src": {
                    "kind": "files",
                    "party": "first",
                    "location": str(d.folder),
                    "tables": {"t": {**EVENTS, "columns": {"ocurred_at": "timestamp"}}},
                }
            }
        }
    )
    d.table = {**EVENTS}
    notes = d.ingest().sources["src"].tables["t"].notes
    assert any("'ocurred_at'" in note and "typo" in note for note in notes)
    return 3


def main() -> None:
    """Run every case in a temporary folder; print each case's last `cdp ingest` summary, then the figures."""
    from rich.console import Console
    from rich.rule import Rule

    console, figures, failures = Console(width=160), {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for name in CASES:
            try:
                figures[name], delivery = _run(name, Path(tmp) / name)
            except AssertionError as error:
                failures.append(name)
                console.print(f"[red]FAIL {name}: {error}[/red]")
                continue
            console.print(Rule(name), delivery.summaries[-1].render())
    console.print(Rule("figures"))
    for name, f in figures.items():
        console.print(f"{name:62} in {f.rows_in:4}  loaded {f.loaded:4}  quarantined {f.quarantined:3}  lost {f.lost}")
    total = [sum(getattr(f, part) for f in figures.values()) for part in ("rows_in", "loaded", "quarantined", "lost")]
    console.print(
        f"\n{len(CASES)} cases, {len(failures)} failed; rows in {total[0]}, loaded {total[1]}, "
        f"quarantined {total[2]}, lost {total[3]}"
    )
    sys.exit(1 if failures or total[3] else 0)


if __name__ == "__main__":
    main()
