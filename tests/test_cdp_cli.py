"""The command line itself: help text and the error contract."""

import subprocess
import sys


def run_cdp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cdp.cli", *args], capture_output=True, text=True)


def test_help_lists_the_pipeline():
    result = run_cdp("--help")
    assert result.returncode == 0
    assert "customer data platform" in result.stdout.lower()


def test_unknown_command_is_a_clear_error_without_traceback():
    result = run_cdp("no-such-command")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr


def test_duckdb_memory_limit_defaults_to_a_share_of_ram_and_can_be_set(monkeypatch):
    import duckdb
    import psutil

    from cdp import settings

    monkeypatch.delenv("CDP_DUCKDB_MEMORY_LIMIT", raising=False)
    default_mb = int(settings.duckdb_memory_limit().removesuffix("MB"))
    assert default_mb == int(psutil.virtual_memory().total * settings.DUCKDB_MEMORY_SHARE / 2**20)
    monkeypatch.setenv("CDP_DUCKDB_MEMORY_LIMIT", "3GB")
    with duckdb.connect(config={"memory_limit": settings.duckdb_memory_limit()}) as con:
        assert con.execute("select current_setting('memory_limit')").fetchone()[0].startswith("2.7")  # 3 GB in GiB


def test_a_bad_duckdb_memory_limit_is_one_clear_error():
    import os

    env = {**os.environ, "CDP_DUCKDB_MEMORY_LIMIT": "lots"}
    result = subprocess.run([sys.executable, "-m", "cdp.cli", "where"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: CDP_DUCKDB_MEMORY_LIMIT: 'lots' is not a memory size such as 6GB or 4096MB"


def test_version_is_the_installed_one():
    from importlib.metadata import version

    result = run_cdp("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"cdp {version('cdp')}"


def test_flags_show_no_value_placeholder_in_help():
    result = run_cdp("build", "--help")
    assert result.returncode == 0
    assert "--full-refresh" in result.stdout
    assert "<bool>" not in result.stdout
    assert "<str>" in result.stdout  # options that take a value still say which


def test_tables_are_not_wrapped_at_80_columns_outside_a_terminal(monkeypatch):
    import io

    from rich.table import Table

    from cdp.console import make_console

    monkeypatch.delenv("COLUMNS", raising=False)
    output = io.StringIO()
    table = Table("source", "loaded", "quarantined", "note")
    table.add_row("crm", "1,234", "5", "a note long enough that an 80-column table would wrap it onto a second line")
    make_console(file=output).print(table)
    row = next(line for line in output.getvalue().splitlines() if "crm" in line)
    assert "second line" in row
