"""Bad input: each bad row lands in raw_<source>._quarantine with its reason; good rows load; nothing is lost."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from tests.ingest.tiny_universe import ts, write_day


def quarantine(warehouse, source):
    return warehouse.query(
        f"SELECT source_file, source_row, field, reason, raw_record FROM raw_{source}._quarantine ORDER BY source_file, source_row"
    )


def assert_nothing_lost(warehouse, source, table):
    rows_in, loaded, quarantined = warehouse.query(
        f"SELECT sum(rows_in), sum(rows_loaded), sum(rows_quarantined) FROM raw_{source}._files"
    )[0]
    assert rows_in == loaded + quarantined
    assert warehouse.count(f"raw_{source}.{table}") == loaded
    assert (
        warehouse.scalar(f"SELECT count(*) FROM raw_{source}._quarantine WHERE source_row IS NOT NULL") == quarantined
    )


def test_jsonl_bad_lines_are_quarantined_and_good_lines_load(warehouse):
    write_day(warehouse.data_dir, 0)
    good = {"event_id": "w-good", "anonymous_id": "a9", "event_type": "page_view", "occurred_at": ts(1, 1)}
    lines = [
        json.dumps(good).encode(),
        b'{"event_id": "w-broken", "anonymous_id": ',  # malformed JSON
        json.dumps({**good, "event_id": "w-badtime", "occurred_at": "yesterday"}).encode(),  # wrong type
        json.dumps({**good, "event_id": "w-new", "referrer": "news.example"}).encode(),  # new column
        '{"event_id": "w-latin", "page_url": "/caf\xe9"}'.encode("latin-1"),  # wrong encoding
        b"[1, 2, 3]",  # valid JSON, not an object
        b"",  # blank line: not a row
    ]
    (warehouse.data_dir / "web" / "events_2026-01-02.jsonl").write_bytes(b"\n".join(lines) + b"\n")

    summary = warehouse.ingest(["web"])

    rows = [(row, field, reason) for _, row, field, reason, _ in quarantine(warehouse, "web")]
    assert rows == [
        (2, None, "malformed JSON"),
        (3, "occurred_at", "not a valid timestamp: yesterday"),
        (5, None, "not valid UTF-8 (wrong encoding?)"),
        (6, None, "not a JSON object"),
    ]
    assert quarantine(warehouse, "web")[0][4] == '{"event_id": "w-broken", "anonymous_id": '
    assert warehouse.query("SELECT referrer FROM raw_web.events WHERE event_id = 'w-new'") == [("news.example",)]
    assert warehouse.count("raw_web.events") == 3 + 2
    assert summary.sources["web"].tables["events"].quarantined == 4
    assert_nothing_lost(warehouse, "web", "events")


def test_csv_bad_rows_are_quarantined_and_good_rows_load(warehouse):
    header = (
        "transaction_id,line_no,store_id,occurred_at,loyalty_card,email,phone,product_id,quantity,unit_price,currency"
    )
    rows = [
        f"t1,1,1,{ts(0, 1)},L1,,,P1,2,9.95,EUR",
        f"t2,1,1,{ts(0, 1)},L2,,,P1,2",  # too few fields
        f"t3,1,1,{ts(0, 1)},L3,,,P1,2,9.95,EUR,surprise",  # too many fields
        f"t4,1,1,{ts(0, 1)},L4,,,P1,two,9.95,EUR",  # wrong type
        f'"t5",1,1,{ts(0, 1)},"L5, gold",,,P1,1,1.00,EUR',  # quoted comma: fine
    ]
    path = warehouse.data_dir / "pos" / "store_001" / "2026-01-01.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode() + "t6,1,1,x,Jos\xe9,,,P1,1,1,EUR\n".encode("latin-1"))

    warehouse.ingest(["pos"])

    found = {row: (field, reason) for _, row, field, reason, _ in quarantine(warehouse, "pos")}
    assert sorted(found) == [3, 4, 5, 7]
    assert found[3][1].startswith("MISSING COLUMNS")
    assert found[4][1].startswith("TOO MANY COLUMNS")
    assert found[5] == ("quantity", "not a valid bigint: two")
    assert found[7][1].startswith("INVALID ENCODING")
    assert warehouse.query("SELECT transaction_id, _source_row FROM raw_pos.transactions ORDER BY 1") == [
        ("t1", 2),
        ("t5", 6),
    ]
    assert warehouse.query("SELECT loyalty_card FROM raw_pos.transactions WHERE transaction_id = 't5'") == [
        ("L5, gold",)
    ]
    assert_nothing_lost(warehouse, "pos", "transactions")


def test_new_csv_column_evolves_the_table(warehouse):
    write_day(warehouse.data_dir, 0)
    warehouse.ingest(["erp"])
    (warehouse.data_dir / "erp" / "invoices_2026-01-02.csv").write_text(
        "invoice_id,account_number,amount,vat_number\ni9,A9,10.5,NL123\n"
    )

    warehouse.ingest(["erp"])

    assert warehouse.query("SELECT amount, vat_number FROM raw_erp.invoices WHERE invoice_id = 'i9'") == [
        (10.5, "NL123")
    ]
    assert warehouse.scalar("SELECT count(*) FROM raw_erp.invoices WHERE vat_number IS NULL") == 3


def test_empty_and_unreadable_files_are_recorded_not_fatal(warehouse):
    write_day(warehouse.data_dir, 0)
    (warehouse.data_dir / "partner" / "responses_2026-01-02.csv").write_bytes(b"")
    (warehouse.data_dir / "broker" / "enrichment_2026-01-02.parquet").write_bytes(b"PAR1 not really parquet")

    summary = warehouse.ingest(["partner", "broker"])

    assert summary.failed == {}
    assert quarantine(warehouse, "partner") == [("partner/responses_2026-01-02.csv", None, None, "empty file", None)]
    (broken,) = quarantine(warehouse, "broker")
    assert broken[:3] == ("broker/enrichment_2026-01-02.parquet", None, None)
    assert broken[3].startswith("cannot read as Parquet")
    assert summary.sources["broker"].tables["enrichment"].file_problems == 1
    assert warehouse.count("raw_partner.responses") == 3
    assert warehouse.count("raw_broker.enrichment") == 3
    # recorded in the manifest, so not re-read (and re-reported) every night
    assert warehouse.ingest(["partner"]).sources["partner"].files_skipped == 2


def test_parquet_value_of_wrong_type_is_quarantined(warehouse):
    path = warehouse.data_dir / "broker" / "enrichment_2026-01-01.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.table({"broker_record_id": ["b1", "b2"], "delivered_at": [ts(0, 1), "last tuesday"]}), path)

    warehouse.ingest(["broker"])

    assert [r[1:4] for r in quarantine(warehouse, "broker")] == [
        (2, "delivered_at", "not a valid timestamp: last tuesday")
    ]
    assert warehouse.query("SELECT broker_record_id, _source_row FROM raw_broker.enrichment") == [("b1", 1)]
    assert_nothing_lost(warehouse, "broker", "enrichment")


def test_missing_source_fails_that_source_only(warehouse):
    write_day(warehouse.data_dir, 0)
    summary = warehouse.ingest(["web", "shop"])  # no shop.sqlite written

    assert list(summary.failed) == ["shop"]
    assert "no such SQLite file" in summary.failed["shop"]
    assert warehouse.count("raw_web.events") == 3


def test_record_without_its_primary_key_is_quarantined(warehouse):
    contact = {"crm_id": "c1", "first_name": "Ann", "updated_at": ts(0, 1)}
    path = warehouse.data_dir / "crm" / "contacts_2026-01-01.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(json.dumps(c) for c in [contact, {**contact, "crm_id": None}, {**contact, "crm_id": ""}]))

    warehouse.ingest(["crm"])

    assert [r[1:4] for r in quarantine(warehouse, "crm")] == [
        (2, "crm_id", "missing primary key value"),
        (3, "crm_id", "missing primary key value"),
    ]
    assert warehouse.query("SELECT crm_id FROM raw_crm.contacts") == [("c1",)]
    assert_nothing_lost(warehouse, "crm", "contacts")


def test_a_source_declared_latin1_loads_its_accents(warehouse, tmp_path):
    from ingest.config import load_config

    path = warehouse.data_dir / "legacy" / "members_1.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes("member_id,city\nm1,Zürich\nm2,Besançon\n".encode("latin-1"))
    config = tmp_path / "sources.yml"
    config.write_text(
        "sources:\n  legacy:\n    kind: files\n    party: first\n    tables:\n"
        "      members: {format: csv, files: '*.csv', encoding: latin-1}\n"
    )

    warehouse.ingest(config=load_config(config))

    assert warehouse.query("SELECT city FROM raw_legacy.members ORDER BY member_id") == [("Zürich",), ("Besançon",)]
