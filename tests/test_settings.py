"""Every CDP_* setting is checked when a command starts; default paths hang off the repository root."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from cdp import settings
from cdp.errors import CdpError

DBT = str(Path(sys.executable).with_name("dbt"))


def clean_environment(**given: str) -> dict[str, str]:
    """os.environ without any CDP_* setting, plus `given`."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("CDP_")}, **given}


def run_cdp(*args: str, cwd: Path | None = None, **given: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdp.cli", *args],
        capture_output=True,
        text=True,
        env=clean_environment(**given),
        cwd=cwd,
        timeout=120,
    )


def where(output: str) -> dict[str, str]:
    return dict(line.split(":", 1) for line in output.splitlines() if ":" in line)


@pytest.fixture(scope="module")
def not_duckdb(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("settings") / "notes.duckdb"
    path.write_text("these are my notes, not a database\n")
    return path


BAD_SETTINGS = [
    ("CDP_WAREHOUSE", "/", "'/' is a folder, not a DuckDB file"),
    ("CDP_WAREHOUSE", "{not_duckdb}", "is not a DuckDB database file"),
    ("CDP_WAREHOUSE", "{not_duckdb}/cdp.duckdb", "is a file, so no warehouse can be created below it"),
    ("CDP_DATA_DIR", "{not_duckdb}", "is a file, not a folder"),
    ("CDP_DUCKDB_MEMORY_LIMIT", "lots", "'lots' is not a memory size such as 6GB or 4096MB"),
    ("CDP_ENGINE", "postgres", "'postgres' is not one of duckdb, spark"),
    ("CDP_DBT_THREADS", "two", "'two' is not a whole number of threads, 1 or more"),
    ("CDP_DBT_THREADS", "0", "'0' is not a whole number of threads"),
    ("CDP_SCHEDULE_TIMEZONE", "Mars/Olympus", "'Mars/Olympus' is not a time zone"),
    ("CDP_EXPORT_DIR", "{not_duckdb}", "is a file, not a folder"),
    ("CDP_WEBHOOK_URL", "hooks.example.com", "is not an http(s) URL"),
    ("CDP_ALERT_WEBHOOK_URL", "ftp://hooks.example.com/x", "is not an http(s) URL"),
]


@pytest.mark.parametrize(("name", "value", "problem"), BAD_SETTINGS, ids=[f"{n}={v}" for n, v, _ in BAD_SETTINGS])
def test_a_bad_setting_is_one_line_naming_it_and_exit_2(name, value, problem, not_duckdb):
    result = run_cdp("where", **{name: value.format(not_duckdb=not_duckdb)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {name}: ")
    assert problem in lines[0]


def test_a_bad_setting_stops_every_command_before_it_runs():
    result = run_cdp("build", CDP_SCHEDULE_TIMEZONE="Mars/Olympus")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: CDP_SCHEDULE_TIMEZONE: 'Mars/Olympus' is not a time zone (an IANA name such as Europe/Amsterdam, or UTC)"
    ]


def test_help_still_shows_while_a_setting_is_bad():
    result = run_cdp("build", "--help", CDP_WAREHOUSE="/")
    assert result.returncode == 0
    assert "--full-refresh" in result.stdout


def test_good_settings_are_read_and_empty_ones_count_as_unset(tmp_path):
    checked = settings.Settings.from_environment(
        {
            "CDP_WAREHOUSE": str(tmp_path / "w.duckdb"),
            "CDP_DATA_DIR": "",
            "CDP_DBT_THREADS": " 4 ",
            "CDP_SCHEDULE_TIMEZONE": "Europe/Amsterdam",
            "CDP_ALERT_WEBHOOK_URL": "https://hooks.example.com/cdp",
            "CDP_WEBHOOK_SECRET": "s3cret",
        }
    )
    assert checked.warehouse == tmp_path / "w.duckdb"
    assert checked.data_dir == settings.PROJECT_ROOT / "data" / "demo"
    assert checked.dbt_threads == 4
    assert checked.schedule_timezone == "Europe/Amsterdam"
    assert "s3cret" not in repr(checked)


def test_every_cdp_variable_the_code_reads_is_in_the_settings_model():
    """The single place: a CDP_* name used anywhere in the code is declared in cdp/settings.py."""
    used = set()
    for folder in ("cdp", "dagster_project", "ingest", "dbt_project/models", "dbt_project/macros"):
        for path in (settings.PROJECT_ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".sql", ".yml") and path.name != "settings.py":
                used |= set(re.findall(r"\bCDP_[A-Z_]+[A-Z]\b", path.read_text(encoding="utf-8")))
    used |= set(re.findall(r"\bCDP_[A-Z_]+[A-Z]\b", (settings.DBT_PROJECT_DIR / "profiles.yml").read_text()))
    assert used - set(settings.Settings.variables()) == set()


def test_the_default_warehouse_is_the_same_from_any_directory(tmp_path):
    expected = settings.PROJECT_ROOT / "warehouse" / "cdp.duckdb"
    from_root = where(run_cdp("where", cwd=settings.PROJECT_ROOT).stdout)
    from_elsewhere = where(run_cdp("where", cwd=tmp_path).stdout)
    assert from_root["warehouse"].strip() == from_elsewhere["warehouse"].strip() == str(expected)
    assert from_elsewhere["data dir"].strip() == str(settings.PROJECT_ROOT / "data" / "demo")


def test_a_relative_path_in_the_environment_is_read_from_the_working_directory(tmp_path):
    shown = where(run_cdp("where", cwd=tmp_path, CDP_WAREHOUSE="mine.duckdb", CDP_DATA_DIR="in").stdout)
    assert shown["warehouse"].strip() == str(tmp_path / "mine.duckdb")
    assert shown["data dir"].strip() == str(tmp_path / "in")


def test_dbt_profile_defaults_to_the_warehouse_cdp_uses():
    """profiles.yml's default is <folder of profiles.yml>/../warehouse/cdp.duckdb: cdp's default."""
    assert (settings.DBT_PROJECT_DIR / ".." / "warehouse" / "cdp.duckdb").resolve() == settings.DEFAULT_WAREHOUSE
    profile = (settings.DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "flags.PROFILES_DIR or '.') ~ '/../warehouse/cdp.duckdb'" in profile


def test_cdp_build_without_a_warehouse_is_one_line_and_creates_nothing(tmp_path):
    warehouse = tmp_path / "nowhere" / "cdp.duckdb"
    result = run_cdp("build", CDP_WAREHOUSE=str(warehouse))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {warehouse}: no warehouse here; run `cdp ingest` first (or set CDP_WAREHOUSE to yours)"
    ]
    assert not (tmp_path / "nowhere").exists()


def dbt_debug(project: Path) -> subprocess.CompletedProcess:
    """`dbt debug` run in `project` with no CDP_* set."""
    return subprocess.run(
        [DBT, "debug"],
        cwd=project,
        env=clean_environment(DBT_SEND_ANONYMOUS_USAGE_STATS="false"),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bare_dbt_in_dbt_project_uses_the_default_and_never_creates_it(tmp_path):
    """`cd dbt_project && dbt debug` with no CDP_* set, in a copy of the project laid out as the repo."""
    project = tmp_path / "dbt_project"
    shutil.copytree(settings.DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    (tmp_path / "warehouse").mkdir()  # DuckDB itself would create the file in an existing folder
    result = dbt_debug(project)
    expected = tmp_path / "warehouse" / "cdp.duckdb"
    assert result.returncode != 0
    assert f"{expected}: no warehouse here; run `cdp ingest` first" in result.stdout, result.stdout
    assert list((tmp_path / "warehouse").iterdir()) == []

    duckdb.connect(str(expected)).close()
    result = dbt_debug(project)
    assert result.returncode == 0, result.stdout
    assert "All checks passed" in result.stdout


def test_dagster_schedule_reads_the_checked_time_zone(monkeypatch):
    import dagster as dg

    from dagster_project.schedules import nightly_schedule

    job = dg.define_asset_job("probe", selection=dg.AssetSelection.all())
    monkeypatch.setenv("CDP_SCHEDULE_TIMEZONE", "Mars/Olympus")
    with pytest.raises(CdpError, match=r"^CDP_SCHEDULE_TIMEZONE: 'Mars/Olympus' is not a time zone"):
        nightly_schedule(job)
    monkeypatch.setenv("CDP_SCHEDULE_TIMEZONE", "Europe/Amsterdam")
    assert nightly_schedule(job).execution_timezone == "Europe/Amsterdam"
