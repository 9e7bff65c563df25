"""`cdp ui` on the command line: local by default, a token beyond this machine, one line on errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cdp.ui import cli


def run_cdp(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cdp.cli", *args], capture_output=True, text=True, cwd=cwd)


def test_ui_is_listed_for_marketers():
    result = run_cdp("--help")
    assert result.returncode == 0 and "Marketers" in result.stdout and " ui " in result.stdout


def test_another_host_without_a_token_is_one_line_and_exit_2(tmp_path):
    result = run_cdp("ui", "--host", "0.0.0.0", "--warehouse", str(tmp_path / "cdp.duckdb"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0: listening beyond this machine needs an access token (--token or --token-file)"
    ]
    assert "Traceback" not in result.stderr


@pytest.fixture
def served(monkeypatch):
    """What `cdp ui` would hand uvicorn, without listening."""
    import uvicorn

    calls = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.update(app=app, **options))
    return calls


def test_it_serves_on_127_0_0_1_by_default_without_a_token(served, tmp_path):
    cli.ui(host="127.0.0.1", port=8765, token=None, token_file=None, warehouse=tmp_path / "cdp.duckdb", publish=False)
    assert (served["host"], served["port"]) == ("127.0.0.1", 8765)
    assert not served["app"].state.workspace.access.required


def test_with_a_token_it_may_listen_elsewhere_and_checks_it(served, tmp_path):
    cli.ui(
        host="0.0.0.0",
        port=9000,
        token="a-long-enough-token",
        token_file=None,
        warehouse=tmp_path / "cdp.duckdb",
        publish=False,
    )
    assert served["host"] == "0.0.0.0"
    assert served["app"].state.workspace.access.viewer("a-long-enough-token") == "token:token"
    assert served["app"].state.workspace.access.viewer("wrong") is None
