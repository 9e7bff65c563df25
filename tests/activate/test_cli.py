"""`cdp sync`: dry run shows the plan and a sample and sends nothing; a real run reports counts."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from cdp.activate.cli import sync
from tests.activate import fake_apis
from tests.activate.conftest import person


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(sync)
    return app


def _manifest(tmp_path, webhook_url: str):
    syncs = [
        {
            "name": "to_file",
            "destination": "file",
            "purpose": "service",
            "mode": "mirror",
            "identifiers": {"email": "email"},
            "fields": {"first_name": "first_name"},
        },
        {
            "name": "to_hook",
            "destination": "webhook",
            "purpose": "service",
            "mode": "mirror",
            "identifiers": {"email": "email"},
            "config": {"url": webhook_url},
        },
    ]
    node = {
        "resource_type": "model",
        "name": "test_segment",
        "schema": "segments",
        "alias": "test_segment",
        "config": {"meta": {"syncs": syncs}},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"nodes": {"model.cdp.test_segment": node}}))
    return path


def test_dry_run_then_sync(tmp_path, warehouse, monkeypatch):
    warehouse.write([person(1), person(2)])
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse.path))
    monkeypatch.setenv("CDP_WEBHOOK_SECRET", "cli-secret")
    with fake_apis.FakeApi(fake_apis.WebhookContract("cli-secret")) as api:
        manifest = _manifest(tmp_path, f"{api.url}/hook")
        dry = CliRunner().invoke(_app(), ["--dry-run", "--manifest", str(manifest)], terminal_width=200)
        assert dry.exit_code == 0, dry.output
        assert "dry run" in dry.output and "to_hook: would add C000000000001" in dry.output
        assert api.requests == []
        assert not (warehouse.path.parent / "exports").exists()

        real = CliRunner().invoke(_app(), ["--manifest", str(manifest), "--select", "to_hook"], terminal_width=200)
        assert real.exit_code == 0, real.output
        assert len(api.contract.rows) == 2
        assert "to_file" not in real.output
        assert "cli-secret" not in dry.output + real.output


def test_unknown_select_is_a_clear_error(tmp_path, warehouse, monkeypatch):
    warehouse.write([person(1)])
    monkeypatch.setenv("CDP_WAREHOUSE", str(warehouse.path))
    result = CliRunner().invoke(_app(), ["--manifest", str(_manifest(tmp_path, "http://x")), "--select", "nope"])
    assert result.exit_code != 0
    assert "no sync named nope" in str(result.exception)


def test_missing_warehouse_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CDP_WAREHOUSE", str(tmp_path / "nowhere" / "cdp.duckdb"))
    result = CliRunner().invoke(_app(), ["--manifest", str(_manifest(tmp_path, "http://x"))])
    assert result.exit_code != 0
    assert "no warehouse here" in str(result.exception)
    assert not (tmp_path / "nowhere").exists()
