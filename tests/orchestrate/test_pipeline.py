"""The whole nightly job, in-process, on a small generated universe: `cdp run` twice.

The session fixture `demo_pipeline` (tests/demo_pipeline.py) runs it (the first run generates
the universe, the second runs on it unchanged); the tests read the reports and what the first
run left in the warehouse.
Processing a day added by `cdp generate --advance` is the ingest tests' incremental loading
plus this same job; it is left out here to keep the suite fast.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def runs(demo_pipeline):
    return demo_pipeline


def test_the_first_run_generates_loads_resolves_segments_and_syncs(runs):
    report = runs.first
    assert report.success, report.failures
    assert report.generated
    assert report.rows_loaded > 0 and set(report.sources) >= {"web", "app", "shop", "pos", "crm", "email"}
    assert 0 < report.customers <= report.records
    assert sum(report.segments.values()) > 0 and report.segments["cart_abandoners"] > 0
    assert report.rows_sent["file"] > 0
    assert list(report.seconds) == ["generate", "ingest", "dbt build", "syncs"]


def test_customers_are_in_the_360_and_the_file_destination_received_them(runs):
    assert runs.customers_in_360 == runs.first.customers
    assert len(runs.cart_abandoner_exports) == 1 and runs.cart_abandoners_logged > 0
    exported_rows = runs.cart_abandoner_exports[0].splitlines()[1:]
    assert len(exported_rows) == consented_members(runs.warehouse, "cart_abandoners", "email_marketing") > 0
    assert len(exported_rows) < runs.first.segments["cart_abandoners"]  # the demo has members without consent


def consented_members(warehouse, segment: str, purpose: str) -> int:
    """Members with the consent the sync's purpose needs, by the engine's own rule."""
    import duckdb

    from cdp.activate.diff import CONSENT_SQL

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        return connection.execute(
            f"select count(*) from segments.{segment} as segment"
            " join marts.customer_360 as consent using (customer_id)"
            f" where coalesce({CONSENT_SQL[purpose]}, false)"
        ).fetchone()[0]


def test_a_second_run_on_an_unchanged_universe_loads_nothing_and_changes_no_customer_id(runs):
    report = runs.unchanged
    assert report.success, report.failures
    assert not report.generated
    assert report.rows_loaded == 0
    assert report.customer_ids_changed == 0 and runs.ids_after_unchanged == runs.ids_after_first
    assert list(report.seconds) == ["ingest", "dbt build", "syncs"]


def test_a_second_run_on_an_unchanged_universe_sends_nothing(runs):
    assert runs.unchanged.rows_sent and set(runs.unchanged.rows_sent.values()) == {0}, runs.unchanged.rows_sent


def test_no_dbt_tmp_relation_is_left_behind(runs):
    """dbt-duckdb leaves an incremental Python model's staging table after each incremental
    build (identity_changelog__dbt_tmp<timestamp>); the on-run-end hook drops them."""
    import duckdb

    with duckdb.connect(str(runs.warehouse), read_only=True) as connection:
        leftovers = connection.execute(
            "select schema_name || '.' || table_name from duckdb_tables() where contains(table_name, '__dbt_tmp')"
            " union all select schema_name || '.' || view_name from duckdb_views() where contains(view_name, '__dbt_tmp')"
        ).fetchall()
    assert leftovers == []


def test_skipped_syncs_are_listed_as_skipped_not_as_sent(runs):
    report = runs.unchanged
    assert report.syncs_skipped  # the demo declares syncs to destinations not configured here
    assert "not configured" in runs.console_output
    assert set(report.rows_sent) == {"file"}, report.rows_sent  # only the destination that ran


def test_the_summary_reads_at_a_glance(runs):
    for words in ("collect", "rows loaded", "customers", "segment", "rows sent", "time: "):
        assert words in runs.console_output
