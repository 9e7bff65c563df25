"""Upgrades in place: a warehouse built by the previous release, opened by this one.

tests/fixtures/warehouse_prev_release.duckdb.gz was built by the previous release's own
code (tests/fixtures/make_prev_release_warehouse.py): its reverse_etl state after one file
sync of three rows, the identity tables of a 200-person demo universe (record_customers
without logged_customer_id) and raw_web with a manifest from before content hashes. After
the upgrade the same sync sends nothing and the same files load nothing. The migrations
(cdp/warehouse_schema.py) are also checked from the first layout of the sync state, for
idempotence, for all-or-nothing, and against a warehouse newer than the code.
"""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import duckdb
import pytest

from cdp import warehouse_schema
from cdp.activate import run_sync
from cdp.activate.specs import SyncSpec
from cdp.activate.state import DDL
from cdp.errors import CdpError
from cdp.identity.stable_ids import previous_for_next_run

FIXTURES = Path(__file__).parent / "fixtures"
LATEST = {name: component.latest for name, component in warehouse_schema.COMPONENTS.items()}

# The sync the fixture ran (make_prev_release_warehouse.py), but exporting into the test's folder.
SPEC = dict(
    name="upgrade_sync",
    destination="file",
    purpose="service",
    mode="mirror",
    primary_key="customer_id",
    identifiers={"email": "email"},
    fields={"first_name": "first_name"},
    model="upgrade_segment",
    relation='"segments"."upgrade_segment"',
)

# reverse_etl as its first release created it (commit bd97fcf), for the migrations from version 1.
FIRST_LAYOUT = """
create schema reverse_etl;
create table reverse_etl.sync_state (
    sync_name varchar not null, primary_key varchar not null, checksum varchar, record json,
    in_destination boolean not null, status varchar not null, last_error varchar,
    last_sent_at timestamp, updated_at timestamp not null
);
create table reverse_etl.sync_runs (
    run_id varchar not null, sync_name varchar not null, model varchar, destination varchar not null,
    mode varchar not null, full_resync boolean not null, dry_run boolean not null, status varchar not null,
    message varchar, started_at timestamp not null, finished_at timestamp not null, duration_s double not null,
    added bigint not null, updated bigint not null, removed bigint not null, failed bigint not null,
    skipped_consent bigint not null, requests bigint not null
);
create table reverse_etl.sync_log (
    run_id varchar not null, sync_name varchar not null, primary_key varchar not null,
    operation varchar not null, status varchar not null, error varchar, logged_at timestamp not null
);
insert into reverse_etl.sync_log values ('r1', 's', 'C1', 'add', 'sent', null, now());
"""


@pytest.fixture
def prev_warehouse(tmp_path) -> Path:
    """The previous release's warehouse, unpacked into tmp_path/warehouse/cdp.duckdb."""
    path = tmp_path / "warehouse" / "cdp.duckdb"
    path.parent.mkdir()
    with gzip.open(FIXTURES / "warehouse_prev_release.duckdb.gz", "rb") as packed, path.open("wb") as out:
        shutil.copyfileobj(packed, out)
    return path


def layout(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple]]:
    rows = con.execute(
        "select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns"
        " where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ).fetchall()
    tables: dict[str, list[tuple]] = {}
    for table, *column in rows:
        tables.setdefault(table, []).append(tuple(column))
    return tables


def test_the_same_sync_after_an_upgrade_sends_nothing(prev_warehouse, tmp_path):
    with duckdb.connect(str(prev_warehouse), read_only=True) as con:
        assert warehouse_schema.version(con, "reverse_etl") is None  # the previous release had no versions
        acknowledged = con.execute("select primary_key, checksum from reverse_etl.sync_state order by 1").fetchall()
    assert len(acknowledged) == 3

    spec = SyncSpec(**SPEC, config={"folder": str(tmp_path / "exports")})
    result = run_sync(prev_warehouse, spec)
    assert (result.status, result.added, result.updated, result.removed, result.failed) == ("success", 0, 0, 0, 0)

    with duckdb.connect(str(prev_warehouse)) as con:
        assert warehouse_schema.version(con, "reverse_etl") == LATEST["reverse_etl"]
        state = con.execute(
            "select primary_key, checksum from reverse_etl.sync_state where in_destination order by 1"
        ).fetchall()
        assert state == acknowledged  # nothing resent, nobody removed
        con.execute("update segments.upgrade_segment set first_name = 'Bobby' where first_name = 'Bob'")
        con.execute("delete from segments.upgrade_segment where first_name = 'Cy'")
    changed = run_sync(prev_warehouse, spec)
    assert (changed.added, changed.updated, changed.removed) == (0, 1, 1)  # the diff against old state still works


def test_the_same_files_after_an_upgrade_load_nothing(prev_warehouse, tmp_path):
    from ingest.runner import run_ingest

    data_dir = tmp_path / "data"
    shutil.copytree(FIXTURES / "prev_release_web", data_dir / "web")  # fresh copies: new modification times
    with duckdb.connect(str(prev_warehouse), read_only=True) as con:
        events = con.execute("select count(*) from raw_web.events").fetchone()[0]
        assert "content_hash" not in [
            c for (c,) in con.execute("select column_name from (describe raw_web._files)").fetchall()
        ]
    assert events == 6

    for _ in range(2):  # files the old manifest holds: hashed once (same name and size), then skipped
        summary = run_ingest(["web"], warehouse=prev_warehouse, data_dir=data_dir)
        assert summary.loaded == 0 and not summary.failed
        with duckdb.connect(str(prev_warehouse), read_only=True) as con:
            assert con.execute("select count(*) from raw_web.events").fetchone()[0] == events

    (data_dir / "web" / "events_2026-01-03.jsonl").write_text(
        '{"event_id": "w2-0", "anonymous_id": "a0", "event_type": "page_view", "occurred_at": "2026-01-03T00:00:00Z"}\n'
    )
    assert run_ingest(["web"], warehouse=prev_warehouse, data_dir=data_dir).loaded == 1  # a new file still loads
    with duckdb.connect(str(prev_warehouse), read_only=True) as con:  # dlt added the new columns with that load
        manifest = con.execute(
            "select source_file, action, content_hash is not null from raw_web._files order by 1, 2 nulls first"
        ).fetchall()
    assert manifest == [
        ("web/events_2026-01-01.jsonl", None, False),  # the previous release's row
        ("web/events_2026-01-01.jsonl", "unchanged", True),  # the first run after the upgrade hashed it
        ("web/events_2026-01-02.jsonl", None, False),
        ("web/events_2026-01-02.jsonl", "unchanged", True),
        ("web/events_2026-01-03.jsonl", "new", True),
    ]


def test_identity_tables_keep_their_ids_and_changelog_base(prev_warehouse):
    with duckdb.connect(str(prev_warehouse)) as con:
        records, changelog = "identity.record_customers", "identity.identity_changelog"
        before = previous_for_next_run(con, records, changelog).sort_by("source_record_id")
        assert warehouse_schema.upgrade(con, "identity") == LATEST["identity"]
        after = previous_for_next_run(con, records, changelog).sort_by("source_record_id")
        assert after.num_rows > 100
        assert after.equals(before)  # the same ids carried over, the same base for the next changelog
        assert con.execute(
            f"select count(*) from {records} where logged_customer_id is distinct from previous_customer_id"
        ).fetchone() == (0,)
        assert after.column("changelog_customer_id").to_pylist() == after.column("customer_id").to_pylist()


def test_the_first_layout_is_brought_to_the_fresh_one():
    with duckdb.connect() as migrated, duckdb.connect() as fresh:
        migrated.execute(FIRST_LAYOUT)
        assert warehouse_schema.upgrade(migrated, "reverse_etl", create=DDL) == LATEST["reverse_etl"]
        assert warehouse_schema.upgrade(fresh, "reverse_etl", create=DDL) == LATEST["reverse_etl"]
        assert layout(migrated, "reverse_etl") == layout(fresh, "reverse_etl")
        # the row logged before the log was folded was already in sync_state: applied
        assert migrated.execute("select applied, checksum from reverse_etl.sync_log").fetchall() == [(True, None)]
        assert migrated.execute(
            "select version from cdp_meta.schema_versions where component = 'reverse_etl' order by 1"
        ).fetchall() == [(v,) for v in range(2, LATEST["reverse_etl"] + 1)]
        assert fresh.execute("select component, version from cdp_meta.schema_versions").fetchall() == [
            ("reverse_etl", LATEST["reverse_etl"])
        ]


def test_migrations_are_idempotent(prev_warehouse):
    with duckdb.connect(str(prev_warehouse)) as con:
        first = warehouse_schema.upgrade_all(con)
        assert first == LATEST
        shapes = {schema: layout(con, schema) for schema in ("reverse_etl", "identity", "cdp_meta")}
        versions = con.execute("select * from cdp_meta.schema_versions order by all").fetchall()
        assert warehouse_schema.upgrade_all(con) == LATEST
        for component in warehouse_schema.COMPONENTS.values():  # each one again on its own result: no change
            for migration in component.migrations:
                migration.run(con)
        assert {schema: layout(con, schema) for schema in shapes} == shapes
        assert con.execute("select * from cdp_meta.schema_versions order by all").fetchall() == versions


def test_a_failed_migration_changes_nothing(monkeypatch):
    def half_done(con):
        con.execute("alter table reverse_etl.sync_runs add column if not exists half bigint")
        raise RuntimeError("killed")

    component = warehouse_schema.COMPONENTS["reverse_etl"]
    broken = dataclasses.replace(
        component, migrations=(*component.migrations, warehouse_schema.Migration(99, "x", half_done))
    )
    monkeypatch.setitem(warehouse_schema.COMPONENTS, "reverse_etl", broken)
    with duckdb.connect() as con:
        con.execute(FIRST_LAYOUT)
        before = layout(con, "reverse_etl")
        with pytest.raises(RuntimeError, match="killed"):
            warehouse_schema.upgrade(con, "reverse_etl", create=DDL)
        assert layout(con, "reverse_etl") == before
        assert warehouse_schema.version(con, "reverse_etl") is None


def test_a_warehouse_from_a_newer_cdp_is_refused_in_one_line(prev_warehouse, tmp_path):
    with duckdb.connect(str(prev_warehouse)) as con:
        warehouse_schema.upgrade(con, "reverse_etl", create=DDL)
        con.execute("insert into cdp_meta.schema_versions values ('reverse_etl', 99, now())")
    with pytest.raises(CdpError) as refused:
        run_sync(prev_warehouse, SyncSpec(**SPEC, config={"folder": str(tmp_path / "exports")}))
    message = str(refused.value)
    assert "\n" not in message
    assert message == (
        f"{prev_warehouse}: the reverse_etl tables are at schema version 99, built by a newer cdp "
        f"(this one knows up to {LATEST['reverse_etl']}); upgrade cdp"
    )
    with duckdb.connect(str(prev_warehouse), read_only=True) as con:
        assert con.execute("select count(*) from reverse_etl.sync_runs").fetchone() == (1,)  # nothing run


def test_state_dropped_after_versioning_is_created_again():
    with duckdb.connect() as con:
        warehouse_schema.upgrade(con, "reverse_etl", create=DDL)
        con.execute("drop schema reverse_etl cascade")
        assert warehouse_schema.upgrade(con, "reverse_etl", create=DDL) == LATEST["reverse_etl"]
        assert con.execute("select count(*) from reverse_etl.sync_state").fetchone() == (0,)
        assert warehouse_schema.upgrade(con, "identity") is None  # dbt has not built it: nothing recorded
        assert warehouse_schema.version(con, "identity") is None
