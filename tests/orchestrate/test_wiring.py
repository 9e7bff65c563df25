"""The orchestration wiring and the project-wide policies, on a small dbt project of our own."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import dagster as dg
import duckdb
import pytest

from dagster_project import definitions
from dagster_project.alerts import WEBHOOK_ENV, report_failure
from dagster_project.schedules import TIMEZONE_ENV, nightly_schedule


def key(path: str) -> dg.AssetKey:
    return dg.AssetKey.from_user_string(path)


def parents(graph, path: str) -> set[str]:
    return {parent.to_user_string() for parent in graph.get(key(path)).parent_keys}


def test_dbt_sources_are_the_dlt_raw_table_assets(fixture_graph):
    # by the naming rule raw_<source>.<table> -> dlt/<source>/<table>, or by meta.dagster.asset_key
    assert parents(fixture_graph, "staging/stg_web__signups") == {"dlt/web/events"}
    assert parents(fixture_graph, "staging/stg_crm__contacts") == {"dlt/crm/contacts"}
    assert fixture_graph.get(key("dlt/web/events")).is_materializable  # the dlt asset, not a stub


def test_one_ingest_asset_per_raw_table_in_sources_yml(fixture_graph):
    from ingest.config import load_config

    config = load_config()
    expected = {f"dlt/{source}/{table}" for source in config.enabled() for table in config.resource_names(source)}
    actual = {k.to_user_string() for k in fixture_graph.get_all_asset_keys() if k.path[0] == "dlt"}
    assert actual == expected


def test_models_are_keyed_and_grouped_by_layer(fixture_graph):
    assert fixture_graph.get(key("staging/stg_web__signups")).group_name == "staging"
    assert fixture_graph.get(key("segments/signups")).group_name == "segments"
    assert fixture_graph.get(key("dlt/web/events")).group_name == "ingest"


def test_each_declared_sync_is_an_asset_downstream_of_its_segment(fixture_graph):
    syncs = {k.to_user_string() for k in fixture_graph.get_all_asset_keys() if k.path[0] == "sync"}
    assert syncs == {"sync/signups_file", "sync/signups_webhook"}
    for sync in syncs:
        assert parents(fixture_graph, sync) == {"segments/signups"}
        assert fixture_graph.get(key(sync)).group_name == "activate"


def test_dbt_tests_are_asset_checks(fixture_graph):
    checks = {(check.asset_key.to_user_string(), check.name) for check in fixture_graph.asset_check_keys}
    assert ("segments/signups", "unique_signups_customer_id") in checks
    assert ("segments/signups", "not_null_signups_customer_id") in checks
    assert ("dlt/web/events", "source_not_null_raw_web_events_event_id") in checks  # source tests check the dlt asset


def test_every_asset_runs_in_the_duckdb_writer_pool(fixture_defs):
    pools = {
        assets_def.node_def.name: assets_def.node_def.pool
        for assets_def in fixture_defs.resolve_asset_graph().assets_defs
        if assets_def.is_executable
    }
    assert {"dlt_web", "dbt_build", "sync__signups_file"} <= pools.keys()
    assert set(pools.values()) == {definitions.DUCKDB_WRITER_POOL}, pools


def test_every_asset_carries_the_nightly_freshness_policy(fixture_defs):
    specs = fixture_defs.resolve_all_asset_specs()
    assert specs and all(spec.freshness_policy == definitions.FRESHNESS for spec in specs)


def test_the_nightly_job_covers_every_asset_with_retries_and_the_failure_hook(fixture_defs, fixture_graph):
    job = fixture_defs.resolve_job_def(definitions.NIGHTLY_JOB)
    assert job.op_retry_policy == definitions.RETRY_POLICY
    assert report_failure in job.hook_defs
    assert set(job.asset_layer.executable_asset_keys) == set(fixture_graph.executable_asset_keys)


def test_the_schedule_requests_the_nightly_job_at_2am(fixture_defs, tmp_path):
    schedule = fixture_defs.resolve_schedule_def("nightly_at_2am")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "UTC")
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime(2026, 1, 10, 2, tzinfo=UTC)
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert len(requests) == 1
    assert (requests[0].job_name or schedule.job_name) == definitions.NIGHTLY_JOB


def test_the_schedule_time_zone_comes_from_the_environment(fixture_defs, monkeypatch):
    monkeypatch.setenv(TIMEZONE_ENV, "Europe/Amsterdam")
    job = fixture_defs.resolve_job_def(definitions.NIGHTLY_JOB)
    assert nightly_schedule(job).execution_timezone == "Europe/Amsterdam"


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def alert_server(monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Receiver.received = []
    monkeypatch.setenv(WEBHOOK_ENV, f"http://127.0.0.1:{server.server_port}/alerts")
    yield _Receiver.received
    server.shutdown()


def test_a_failed_step_is_posted_to_the_alert_webhook(alert_server, fixture_defs):
    op = fixture_defs.resolve_job_def(definitions.NIGHTLY_JOB).graph.node_dict["dlt_web"].definition
    with dg.build_hook_context(
        op=op, run_id="0123456789ab", job_name="nightly", op_exception=ValueError("web: no such folder\nmore")
    ) as context:
        report_failure(context)
    assert alert_server == [
        {
            "text": "cdp: nightly run 01234567 failed in dlt_web: web: no such folder",
            "job": "nightly",
            "run_id": "0123456789ab",
            "step": "dlt_web",
            "error": "web: no such folder",
        }
    ]


def test_an_unreachable_alert_webhook_does_not_raise(monkeypatch, fixture_defs):
    monkeypatch.setenv(WEBHOOK_ENV, "http://127.0.0.1:9/alerts")  # discard port: connection refused
    op = fixture_defs.resolve_job_def(definitions.NIGHTLY_JOB).graph.node_dict["dlt_web"].definition
    with dg.build_hook_context(
        op=op, run_id="0123456789ab", job_name="nightly", op_exception=ValueError("x")
    ) as context:
        report_failure(context)


WEB_EVENTS = [
    {
        "event_id": "e1",
        "anonymous_id": "a1",
        "event_type": "signup",
        "occurred_at": "2026-01-01T10:00:00Z",
        "email": " Ann@Example.com",
    },
    {
        "event_id": "e2",
        "anonymous_id": "a2",
        "event_type": "page_view",
        "occurred_at": "2026-01-01T11:00:00Z",
        "email": None,
    },
    {
        "event_id": "e3",
        "anonymous_id": "a3",
        "event_type": "signup",
        "occurred_at": "not a time",
        "email": "bo@example.com",
    },
]


def test_ingest_to_sync_executes_in_process_and_a_second_run_sends_nothing(fixture_defs, tmp_path, monkeypatch):
    """dlt asset -> dbt build -> segment -> file sync, for real, twice."""
    from dagster_project.instance import local_instance
    from dagster_project.nightly import report_from_events

    web = tmp_path / "data" / "web"
    web.mkdir(parents=True)
    (web / "events_2026-01-01.jsonl").write_text("\n".join(json.dumps(event) for event in WEB_EVENTS) + "\n")
    warehouse = tmp_path / "fixture.duckdb"
    monkeypatch.setenv("CDP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse))
    instance = local_instance(tmp_path / "dagster_home")
    job = fixture_defs.resolve_job_def(definitions.NIGHTLY_JOB)
    selection = [
        key(k) for k in ("dlt/web/events", "staging/stg_web__signups", "segments/signups", "sync/signups_file")
    ]

    first = job.execute_in_process(instance=instance, asset_selection=selection)
    second = job.execute_in_process(instance=instance, asset_selection=selection)

    assert first.success and second.success
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        assert connection.execute("select customer_id, email from main_segments.signups").fetchall() == [
            ("a1", "ann@example.com")
        ]
    exports = sorted((tmp_path / "exports" / "signups_file").iterdir())
    assert len(exports) == 1 and "ann@example.com" in exports[0].read_text()
    report = report_from_events(instance, first.run_id, first.success)
    assert (report.sources["web"].loaded, report.sources["web"].quarantined) == (2, 1)
    assert report.rows_sent == {"file": 1} and report.rows_failed == {"file": 0}
    assert set(report.seconds) == {"ingest", "dbt build", "syncs"}
    assert report.failures == []
    again = report_from_events(instance, second.run_id, second.success)
    assert (again.sources["web"].loaded, again.rows_sent) == (0, {"file": 0})
