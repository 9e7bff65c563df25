"""`cdp run`'s edges that need no pipeline: bad input is one clear line, and a run whose
process died does not keep the DuckDB writer slot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun

from dagster_project.instance import PID_TAG, fail_runs_of_dead_processes, local_instance

CDP = str(Path(sys.executable).with_name("cdp"))


def test_cdp_run_refuses_a_data_folder_that_holds_something_else(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "notes.txt").write_text("not a demo universe")

    result = subprocess.run(
        [CDP, "run", "--data-dir", str(data_dir), "--warehouse", str(tmp_path / "w" / "cdp.duckdb")],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and str(data_dir) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert (data_dir / "notes.txt").read_text() == "not a demo universe"  # nothing lost


def test_a_run_whose_process_is_gone_is_marked_failed(tmp_path):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = finished.stdout.strip()
    instance = local_instance(tmp_path / "dagster_home")
    for run_id, pid in (("a" * 32, dead_pid), ("b" * 32, None)):  # the second has no pid: not ours to judge
        instance.add_run(
            DagsterRun(
                job_name="nightly",
                run_id=run_id,
                status=dg.DagsterRunStatus.STARTED,
                tags={PID_TAG: pid} if pid else {},
            )
        )

    fail_runs_of_dead_processes(instance)

    assert instance.get_run_by_id("a" * 32).status == dg.DagsterRunStatus.FAILURE
    assert instance.get_run_by_id("b" * 32).status == dg.DagsterRunStatus.STARTED


def run_cdp(*args: str, env_update: dict | None = None) -> subprocess.CompletedProcess:
    import os

    env = {**os.environ, **(env_update or {})}
    return subprocess.run([CDP, "run", *args], capture_output=True, text=True, timeout=120, env=env)


def test_cdp_run_never_fills_a_mistyped_data_folder_with_demo_data(tmp_path):
    mistyped = tmp_path / "dtaa"
    result = run_cdp("--warehouse", str(tmp_path / "w" / "cdp.duckdb"), env_update={"CDP_DATA_DIR": str(mistyped)})

    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"error: {mistyped}: the data folder (--data-dir or CDP_DATA_DIR) does not exist; put your source files"
        " there, or run the demo with `cdp run --demo`"
    )
    assert not mistyped.exists() and not (tmp_path / "w").exists()


def test_cdp_run_on_an_empty_data_folder_is_one_line(tmp_path):
    (tmp_path / "data").mkdir()
    result = run_cdp("--data-dir", str(tmp_path / "data"), "--warehouse", str(tmp_path / "w" / "cdp.duckdb"))

    assert result.returncode == 2
    assert "the data folder (--data-dir or CDP_DATA_DIR) is empty" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert list((tmp_path / "data").iterdir()) == []
