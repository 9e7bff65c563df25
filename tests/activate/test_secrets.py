"""Secrets come from the environment only and never reach logs, output or the warehouse."""

from __future__ import annotations

import logging

import pytest

from cdp.activate import run_sync
from tests.activate import fake_apis
from tests.activate.conftest import make_spec, person
from tests.activate.test_destinations import CASES, _sync


def _secrets(env: dict[str, str]) -> list[str]:
    return [
        value
        for name, value in env.items()
        if "URL" not in name and "ENDPOINT" not in name and "CUSTOMER_ID" not in name
    ]


def _warehouse_text(warehouse) -> str:
    rows = warehouse.query(
        "select string_agg(coalesce(message, ''), '|') from reverse_etl.sync_runs "
        "union all select string_agg(coalesce(error, ''), '|') from reverse_etl.sync_log "
        "union all select string_agg(coalesce(last_error, '') || coalesce(record::varchar, ''), '|') from reverse_etl.sync_state"
    )
    return " ".join(value or "" for (value,) in rows)


@pytest.mark.parametrize("case", CASES, ids=[case.destination for case in CASES])
def test_no_secret_in_logs_output_or_warehouse(case, warehouse, fast_policy, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    warehouse.write([person(number) for number in range(5)])
    with fake_apis.FakeApi(case.contract()) as api:
        env = case.env(api.url)
        api.fail_next(("429", "0"), ("500",))
        _sync(case, api.url, warehouse, fast_policy)  # success after retries
        _sync(case, api.url, warehouse, fast_policy, env_overrides=case.bad_env, full_resync=True)  # refused
        _sync(case, api.url, warehouse, fast_policy, dry_run=True)
    captured = capsys.readouterr()
    seen = caplog.text + captured.out + captured.err + _warehouse_text(warehouse)
    assert caplog.records, "the engine logs its runs"
    for secret in _secrets(env) + _secrets(case.bad_env):
        assert secret not in seen


def test_missing_secret_is_named_not_shown(warehouse, caplog):
    caplog.set_level(logging.DEBUG)
    warehouse.write([person(1)])
    spec = make_spec(destination="hubspot", mode="upsert", identifiers={"email": "email"})
    result = run_sync(warehouse.path, spec, env={"HUBSPOT_BASE_URL": "http://127.0.0.1:9"})
    assert result.status == "skipped"
    assert "HUBSPOT_ACCESS_TOKEN" in result.message
