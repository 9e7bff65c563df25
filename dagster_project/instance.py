"""The Dagster instance `cdp run` and `dagster dev` share: $DAGSTER_HOME, default .dagster_home/.

Runs made by `cdp run` are stored there too, so they show up in the `dagster dev` UI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import psutil

from cdp import settings

TEMPLATE = Path(__file__).with_name("dagster.yaml")
PID_TAG = "cdp/pid"  # the process that runs an in-process run, to spot runs whose process died


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME") or settings.PROJECT_ROOT / ".dagster_home").resolve()


def ensure_dagster_home(home: Path | None = None) -> Path:
    """Create the instance folder with cdp's dagster.yaml (pool limit, freshness) if it has none."""
    home = home or dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copyfile(TEMPLATE, home / "dagster.yaml")
    return home


def local_instance(home: Path | None = None) -> dg.DagsterInstance:
    instance = dg.DagsterInstance.from_config(str(ensure_dagster_home(home)))
    fail_runs_of_dead_processes(instance)
    return instance


def fail_runs_of_dead_processes(instance: dg.DagsterInstance) -> None:
    """An in-process run killed mid-way stays STARTED and keeps its `duckdb_writer` slot;
    mark it failed and free the slot so the next run is not queued behind it forever."""
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        pid = run.tags.get(PID_TAG)
        if pid and not psutil.pid_exists(int(pid)):
            instance.report_run_failed(run, message=f"the process {pid} running it is gone")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
