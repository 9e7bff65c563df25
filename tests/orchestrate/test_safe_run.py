"""A safe nightly run: one run per warehouse, Ctrl-C and SIGTERM stop it cleanly, and a sync
whose destination is not configured shows as skipped, not as a success.

The lock and the skipped sync are tested on their own (seconds); the interrupts on the real
`cdp run` in a subprocess on a copy of the demo pipeline's 300-person warehouse (the night
after its runs), stopped once in dbt's build (SIGINT to its process group, as a terminal's
Ctrl-C) and once in ingest (SIGTERM to the process alone, as a service manager), then run
again to the end.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest

from dagster_project import definitions
from dagster_project.nightly import RunInProgress, report_from_events, run_lock_path, warehouse_run_lock

CDP = str(Path(sys.executable).with_name("cdp"))
PERSONS = "300"


def test_a_second_run_on_the_same_warehouse_stops_at_once_naming_the_first(tmp_path):
    warehouse, data_dir = tmp_path / "w" / "cdp.duckdb", tmp_path / "data"
    data_dir.mkdir()
    with warehouse_run_lock(warehouse) as holder:
        result = subprocess.run(
            [CDP, "run", "--demo", "--persons", PERSONS, "--data-dir", str(data_dir), "--warehouse", str(warehouse)],
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert result.returncode == 2
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1, result.stderr
    assert line.startswith(f"error: {warehouse}: another cdp run is using this warehouse")
    assert f"pid {os.getpid()}" in line and f"started {holder['started']}" in line
    assert list(data_dir.iterdir()) == []  # refused before generating anything
    assert not run_lock_path(warehouse).exists()


def test_the_lock_file_says_who_holds_it_and_goes_with_the_run(tmp_path):
    warehouse = tmp_path / "cdp.duckdb"
    with pytest.raises(RuntimeError), warehouse_run_lock(warehouse):
        holder = json.loads(run_lock_path(warehouse).read_text())
        assert holder["pid"] == os.getpid() and holder["warehouse"] == str(warehouse)
        with pytest.raises(RunInProgress, match=f"pid {os.getpid()}"), warehouse_run_lock(warehouse):
            pass  # a second holder, even in the same process, is refused
        raise RuntimeError("the run fails")
    assert not run_lock_path(warehouse).exists()
    with warehouse_run_lock(warehouse):  # and the next run takes it
        pass


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    warehouse = tmp_path / "cdp.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from dagster_project.nightly import warehouse_run_lock\n"
            "with warehouse_run_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(RunInProgress, match=f"pid {holder.pid}"), warehouse_run_lock(warehouse):
        pass
    holder.kill()  # no cleanup runs: the file stays, naming a process that is gone
    holder.wait(timeout=30)
    assert json.loads(run_lock_path(warehouse).read_text())["pid"] == holder.pid

    with warehouse_run_lock(warehouse) as taken:
        assert json.loads(run_lock_path(warehouse).read_text())["pid"] == taken["pid"] == os.getpid()


def test_a_sync_whose_destination_is_not_configured_is_skipped_not_materialized(fixture_defs, tmp_path, monkeypatch):
    import cdp.activate
    from cdp.activate.engine import SyncResult
    from dagster_project.instance import local_instance

    def not_configured(warehouse, spec, **kwargs):
        return SyncResult(
            sync_name=spec.name,
            destination=spec.destination,
            model=spec.model,
            run_id="r1",
            status="skipped",
            message="not configured: CDP_WEBHOOK_URL",
        )

    monkeypatch.setattr(cdp.activate, "run_sync", not_configured)
    monkeypatch.setenv("CDP_WAREHOUSE", str(tmp_path / "fixture.duckdb"))
    instance = local_instance(tmp_path / "dagster_home")
    job = fixture_defs.resolve_job_def(definitions.NIGHTLY_JOB)
    sync = dg.AssetKey(["sync", "signups_webhook"])

    result = job.execute_in_process(instance=instance, asset_selection=[sync])

    assert result.success  # skipping is not an error: nothing to retry, nothing to alert
    assert instance.get_latest_materialization_event(sync) is None  # but not green either
    observation = next(
        entry.asset_observation
        for entry in instance.all_logs(result.run_id)
        if entry.dagster_event and entry.dagster_event.event_type_value == "ASSET_OBSERVATION"
    )
    assert observation.asset_key == sync
    assert observation.metadata["status"].value == "skipped"
    assert observation.metadata["message"].value == "not configured: CDP_WEBHOOK_URL"
    report = report_from_events(instance, result.run_id, result.success)
    assert report.syncs_skipped == ["signups_webhook"]
    assert report.rows_sent == {} and report.rows_failed == {}  # not counted as sent


# The interrupts, on the real pipeline.


def start_cdp_run(root: Path) -> subprocess.Popen:
    """`cdp run` on the demo universe in `root`, in a session of its own (so a signal to its
    process group reaches it and its dbt as a terminal's Ctrl-C would, and nothing else)."""
    command = [CDP, "run", "--demo", "--persons", PERSONS, "--seed", "7"]
    command += ["--data-dir", str(root / "data"), "--warehouse", str(root / "warehouse" / "cdp.duckdb")]
    environment = {**os.environ, "DAGSTER_HOME": str(root / "dagster_home")}
    return subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        start_new_session=True,
    )


def wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := condition()) is not None:
            return found
        assert process.poll() is None, f"cdp run ended before {what}: {process.stdout.read()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"no {what} within {timeout} s")


def dbt_build_of(process: subprocess.Popen) -> psutil.Process | None:
    for child in psutil.Process(process.pid).children(recursive=True):
        try:
            command = child.cmdline()
        except psutil.Error:
            continue
        if "build" in command and any(Path(part).name == "dbt" for part in command[:2]):
            return child
    return None


def step_started(root: Path, prefix: str):
    """A step of the run whose key starts with `prefix` has started (read from the run's events)."""

    def started() -> str | None:
        if not (root / "dagster_home" / "history").exists():
            return None
        instance = dg.DagsterInstance.from_config(str(root / "dagster_home"))
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START):
                if entry.step_key.startswith(prefix):
                    return entry.step_key
        return None

    return started


def processes_on(warehouse: Path) -> list[str]:
    """Processes whose command line names the warehouse (dbt gets it in --vars)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        command = " ".join(process.info["cmdline"] or [])
        if str(warehouse) in command and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(f"{process.pid}: {command[:200]}")
    return found


def assert_stopped_cleanly(process: subprocess.Popen, root: Path, signal_name: str) -> None:
    output, _ = process.communicate(timeout=180)  # dbt gets 15 s to stop, then is killed
    assert process.returncode == 130, output[-3000:]
    assert "CANCELLED" in output
    warehouse = root / "warehouse" / "cdp.duckdb"
    deadline = time.monotonic() + 30  # an orphan would be reaped by init: give it the time
    while processes_on(warehouse) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_on(warehouse) == []
    assert not run_lock_path(warehouse).exists()
    instance = dg.DagsterInstance.from_config(str(root / "dagster_home"))
    run = instance.get_runs(limit=1)[0]
    assert run.status == dg.DagsterRunStatus.CANCELED
    canceling = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_CANCELING)
    assert [entry.message.split(" in step ")[0] for entry in canceling] == [f"cdp run was stopped by {signal_name}"]


@pytest.mark.slow
def test_ctrl_c_and_sigterm_stop_the_run_and_dbt_and_the_next_run_works(demo_pipeline, tmp_path):
    shutil.copytree(demo_pipeline.data_dir, tmp_path / "data")  # a night after the demo pipeline's runs
    shutil.copytree(demo_pipeline.warehouse.parent, tmp_path / "warehouse")
    first = start_cdp_run(tmp_path)  # ingests, then dbt build
    dbt = wait_for(lambda: dbt_build_of(first), "dbt build process", first)
    wait_for(step_started(tmp_path, "dbt_build"), "dbt_build step", first)
    time.sleep(3)  # well into the build
    os.killpg(first.pid, signal.SIGINT)
    assert_stopped_cleanly(first, tmp_path, "SIGINT")
    assert not dbt.is_running() or dbt.status() == psutil.STATUS_ZOMBIE

    second = start_cdp_run(tmp_path)
    wait_for(step_started(tmp_path, "dlt_"), "ingest step", second)
    second.send_signal(signal.SIGTERM)
    assert_stopped_cleanly(second, tmp_path, "SIGTERM")

    third = start_cdp_run(tmp_path)
    output, _ = third.communicate(timeout=600)
    assert third.returncode == 0, output[-3000:]
    assert "succeeded" in output
    assert not run_lock_path(tmp_path / "warehouse" / "cdp.duckdb").exists()
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    statuses = [run.status for run in reversed(instance.get_runs())]
    assert statuses == [dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.CANCELED, dg.DagsterRunStatus.SUCCESS]
