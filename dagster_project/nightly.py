"""`cdp run`: the nightly Dagster job, executed in-process on the embedded DuckDB default.

    from dagster_project.nightly import run_pipeline
    report = run_pipeline(data_dir=Path("data/mine"), warehouse=Path("warehouse/cdp.duckdb"))
    report.success, report.customers, report.rows_sent

It runs the same job the nightly schedule runs (ingest -> dbt build with identity
resolution -> every declared sync) against the Dagster instance in $DAGSTER_HOME (default
.dagster_home/, so `dagster dev` shows the run), and reads a summary back from the run's
events and the warehouse. The warehouse and the data folder go to the job as the
`cdp_paths` resource's run config (and from there to dbt as `--vars`): nothing is pinned in
the environment.

The demo universe is generated only when the demo is what is configured (the demo sources
are enabled in ingest/sources.yml) and the data folder is the default one or `demo=True` is
asked for, and only into a folder that holds no files yet. Any other missing or empty data
folder is a one-line error naming it: a mistyped CDP_DATA_DIR never fills up with demo data.

One run per warehouse: a run holds `<warehouse>.run.lock` (an OS lock, gone with its process)
from start to end, and a second run on the same warehouse stops at once naming the first
(RunInProgress). Ctrl-C or SIGTERM stops a run cleanly: the step running is interrupted (dbt
is stopped with it), the Dagster run is marked canceled, the lock is released, and the report
says cancelled; the next run starts as after any other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from cdp import settings
from cdp.console import make_console
from cdp.errors import CdpError

DEFAULT_PERSONS = 5_000
DEFAULT_SEED = 42
# Which stage a step belongs to, by its op name (see dagster_project: dlt_<source>, dbt_build, sync__<name>).
STAGES = {"dlt_": "ingest", "dbt_": "dbt build", "sync": "syncs"}
LOCK_SUFFIX = ".run.lock"  # <warehouse>.run.lock: held by the run writing that warehouse


class RunInProgress(CdpError):
    """Another run holds the warehouse: the message names it (pid, start time, warehouse)."""


@dataclass
class SourceCounts:
    loaded: int = 0
    quarantined: int = 0


@dataclass
class PipelineReport:
    run_id: str
    success: bool
    cancelled: bool = False  # stopped by Ctrl-C or SIGTERM; the Dagster run is canceled
    generated: bool = False  # the demo universe was created by this run
    sources: dict[str, SourceCounts] = field(default_factory=dict)
    records: int = 0  # person-bearing source records resolved
    customers: int = 0
    customer_ids_changed: int = 0  # records whose customer_id differs from before the run
    identity_warnings: list[str] = field(default_factory=list)  # e.g. inputs lost the model's fields
    segments: dict[str, int] = field(default_factory=dict)
    rows_sent: dict[str, int] = field(default_factory=dict)  # per destination
    rows_failed: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    failures: list[str] = field(default_factory=list)
    syncs_skipped: list[str] = field(default_factory=list)
    data_dir: Path | None = None
    warehouse: Path | None = None
    log_path: Path | None = None  # dbt's and dlt's own output for this run

    @property
    def rows_loaded(self) -> int:
        return sum(counts.loaded for counts in self.sources.values())

    def render(self):
        """Three small tables side by side, then one line each for merge, time and problems."""
        from rich.columns import Columns
        from rich.console import Group
        from rich.table import Table

        def table(title: str, *columns: str) -> Table:
            view = Table(title=title, title_justify="left", show_footer=True)
            for position, column in enumerate(columns):
                view.add_column(column, justify="left" if position == 0 else "right")
            return view

        collect = table("collect", "source", "rows loaded", "quarantined")
        for name, counts in sorted(self.sources.items()):
            collect.add_row(name, f"{counts.loaded:,}", f"{counts.quarantined:,}")
        collect.columns[0].footer, collect.columns[1].footer = "total", f"{self.rows_loaded:,}"
        collect.columns[2].footer = f"{sum(c.quarantined for c in self.sources.values()):,}"
        segments = table("segments", "segment", "customers")
        segments.show_footer = False
        for name, size in sorted(self.segments.items()):
            segments.add_row(name, f"{size:,}")
        sends = table("activate", "destination", "rows sent", "failed")
        for destination in sorted(self.rows_sent.keys() | self.rows_failed.keys()):
            sends.add_row(
                destination, f"{self.rows_sent.get(destination, 0):,}", f"{self.rows_failed.get(destination, 0):,}"
            )
        sends.columns[0].footer, sends.columns[1].footer = "total", f"{sum(self.rows_sent.values()):,}"
        sends.columns[2].footer = f"{sum(self.rows_failed.values()):,}"

        status = "[green]succeeded[/green]" if self.success else "[red]FAILED[/red]"
        if self.cancelled:
            status = "[yellow]CANCELLED[/yellow] (interrupted; the next run starts afresh)"
        lines = [
            f"[bold]cdp run {self.run_id[:8]}[/bold] {status}"
            + (" (generated the demo universe first)" if self.generated else "")
            + (f": {self.data_dir} -> {self.warehouse}" if self.data_dir else ""),
            Columns([collect, segments, sends]),
            f"merge: {self.records:,} source records resolved into [bold]{self.customers:,}[/bold] customers; "
            f"{self.customer_ids_changed:,} records changed customer id",
            "time: "
            + ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in self.seconds.items())
            + f" (total {sum(self.seconds.values()):.1f}s)",
        ]
        lines += [f"[yellow]identity:[/yellow] {warning}" for warning in self.identity_warnings]
        if self.syncs_skipped:
            lines.append("syncs skipped (destination not configured): " + ", ".join(sorted(self.syncs_skipped)))
        lines += [f"[red]failed:[/red] {failure}" for failure in self.failures]
        if self.log_path:
            lines.append(f"dbt and dlt output: {self.log_path}")
        return Group(*lines)


def run_pipeline(
    *,
    persons: int = DEFAULT_PERSONS,
    seed: int = DEFAULT_SEED,
    data_dir: Path | None = None,
    warehouse: Path | None = None,
    dagster_home: Path | None = None,
    console: Console | None = None,
    demo: bool = False,
) -> PipelineReport:
    """Generate the demo universe if it is configured and missing, run the nightly job in-process, report on it.

    The whole run holds the warehouse's run lock (RunInProgress at once if another run has
    it). An interrupt during the job ends in a cancelled report; one before or after it (the
    generation, the parse, the summary) is a KeyboardInterrupt. Either way no dbt process the
    run started is left running.
    """
    console = console or make_console(stderr=True)
    data_dir = Path(data_dir).expanduser().resolve() if data_dir else settings.data_dir()
    warehouse = Path(warehouse).expanduser().resolve() if warehouse else settings.warehouse_path()
    demo_wanted(data_dir, demo=demo)  # a wrong data folder is one line before anything is created
    with warehouse_run_lock(warehouse), sigterm_as_interrupt(), no_dbt_left_running():
        started = time.perf_counter()
        generated = ensure_source_data(data_dir, persons, seed, console, demo=demo)
        generate_seconds = time.perf_counter() - started
        report = run_nightly_job(data_dir, warehouse, dagster_home, console)
        report.generated, report.data_dir, report.warehouse = generated, data_dir, warehouse
        if generated:
            report.seconds = {"generate": generate_seconds, **report.seconds}
        report.records, report.customers = resolution_counts(warehouse)
        report.customer_ids_changed = customer_ids_changed(warehouse)
        report.identity_warnings = identity_warnings(warehouse)
        report.segments = segment_sizes(warehouse, segment_relations())
        publish_for_the_ui(report, console)
    return report


def publish_for_the_ui(report: PipelineReport, console: Console) -> None:
    """The marketer workspace's read-only copy and segment-size history (cdp/ui/publish.py),
    written while this run still holds the warehouse. Only after a build: a run that stopped
    before the marts leaves the last copy in place. A failure here is reported, not fatal:
    the nightly data is in the warehouse either way."""
    if report.cancelled or not report.customers:
        return
    from cdp.ui.publish import publish
    from dagster_project.dbt_assets import cdp_project

    try:
        publish(report.warehouse, manifest=Path(cdp_project().manifest_path))
    except Exception as error:  # the UI copy is a convenience; the run's own work is done
        console.print(f"warning: the copy for cdp ui was not published: {type(error).__name__}: {error}")


def run_nightly_job(data_dir: Path, warehouse: Path, dagster_home: Path | None, console: Console) -> PipelineReport:
    """The nightly job, in-process, on these paths; the report read back from its events."""
    with console.status("parsing the dbt project ..."):
        from dagster_project.dbt_assets import cdp_project, prepare_manifest

        prepare_manifest(cdp_project(), warehouse=warehouse)  # parses when the project changed
        from dagster_project.definitions import NIGHTLY_JOB, defs
        from dagster_project.instance import PID_TAG, local_instance

        job = defs().resolve_job_def(NIGHTLY_JOB)
        instance = local_instance(dagster_home)

    from dagster._core.utils import make_new_run_id

    run_id = make_new_run_id()
    log_path = run_log_path(warehouse, run_id)
    paths = {"warehouse": str(warehouse), "data_dir": str(data_dir)}
    # dbt and dlt print their own logs; they go to the run log, the console keeps the progress bar.
    with StepProgress(console, total=len(job.graph.nodes)) as progress, output_to(log_path):
        instance.add_event_listener(run_id, progress.on_event)
        # An interrupt that lands between two of dbt_build's events is raised outside the step's
        # code, so dagster-dbt never hears of it: dbt is stopped here, before the summary opens
        # the warehouse.
        try:
            with no_dbt_left_running(), SignalWatch() as signals:
                instance.add_event_listener(run_id, cancel_on_interrupt(instance, run_id, signals))
                result = job.execute_in_process(
                    instance=instance,
                    run_id=run_id,
                    raise_on_error=False,  # an interrupt too ends here, as a canceled run
                    tags={PID_TAG: str(os.getpid())},
                    run_config={
                        "resources": {"cdp_paths": {"config": paths}},
                        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
                    },
                )
        finally:  # none of its steps runs any more: an interrupted one must not keep the writer slot
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)
    report = report_from_events(instance, run_id, result.success)
    report.log_path = log_path
    return report


def run_lock_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + LOCK_SUFFIX)


@contextlib.contextmanager
def warehouse_run_lock(warehouse: Path):
    """Hold <warehouse>.run.lock for the run; RunInProgress, at once, while another run holds it.

    The lock is the OS's (flock): it ends with its process, so a run that was killed leaves
    at most a file nobody holds, which the next run takes over. The file says who holds it
    (pid, start time, warehouse), for the line a second run prints.
    """
    path = run_lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = _take_lock(path, warehouse)
    holder = {
        "pid": os.getpid(),
        "started": datetime.now().astimezone().isoformat(sep=" ", timespec="seconds"),
        "warehouse": str(warehouse),
    }
    try:
        handle.truncate(0)
        handle.write(json.dumps(holder))
        handle.flush()
        yield holder
    finally:
        path.unlink(missing_ok=True)  # while still held, so no other run can have opened this file meanwhile
        handle.close()  # releases the lock


def _take_lock(path: Path, warehouse: Path):
    """The lock file, open and locked by this process; RunInProgress if another holds it."""
    import fcntl

    while True:
        handle = path.open("a+", encoding="utf-8")  # a+: creates it, and never empties another's
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read()
            handle.close()
            raise RunInProgress(_in_progress_message(holder, warehouse)) from None
        if _still_at(handle, path):
            return handle
        handle.close()  # the run that held it removed it as we opened it: lock the new file


def _still_at(handle, path: Path) -> bool:
    """True when the open file is the one at `path` (not one removed since it was opened)."""
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _in_progress_message(text: str, warehouse: Path) -> str:
    try:
        holder = json.loads(text)
    except ValueError:  # taken a moment ago, not written yet
        holder = {}
    pid, started = holder.get("pid", "?"), holder.get("started", "just now")
    return (
        f"{warehouse}: another cdp run is using this warehouse (pid {pid}, started {started});"
        f" wait for it to finish, or stop it (Ctrl-C, or kill {pid})"
    )


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM stops a run as Ctrl-C does. Dagster maps it so while the job executes; this covers
    the rest (the generation, the dbt parse, the summary), where SIGTERM would end the process
    at once, past every cleanup."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread sets handlers
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def no_dbt_left_running(grace_seconds: float = 15):
    """Whatever ends the block, no dbt process started in it outlives it (one would keep writing,
    and hold DuckDB's file lock against the summary and the next run). dbt is asked to stop as
    Ctrl-C asks (SIGINT: it cancels its queries and exits), then killed after `grace_seconds`."""
    import psutil

    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    try:
        yield
    finally:
        left = [child for child in me.children(recursive=True) if child.pid not in before and _is_dbt(child)]
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.send_signal(signal.SIGINT)
        _, alive = psutil.wait_procs(left, timeout=grace_seconds)
        for process in alive:
            with contextlib.suppress(psutil.Error):
                process.kill()
        psutil.wait_procs(alive, timeout=grace_seconds)


def _is_dbt(process) -> bool:
    """The dbt command line: `dbt ...`, or `python .../dbt ...` as a console script runs."""
    import psutil

    try:
        return any(Path(part).name == "dbt" for part in process.cmdline()[:2])
    except psutil.Error:
        return False


# What an interrupt is raised as: Dagster's, Python's, and dlt's (which holds a signal until it can stop cleanly).
INTERRUPTS = {"DagsterExecutionInterruptedError", "KeyboardInterrupt", "SignalReceivedException"}
WATCHED = {signal.SIGINT, signal.SIGTERM}


class SignalWatch:
    """Notes a SIGINT or SIGTERM whichever handler gets it. The handlers in force during a run
    (Dagster's, dlt's, dagster-dbt's) can hold one back or lose it: dlt keeps a first Ctrl-C
    until it can stop cleanly and forgets it when its load ends first. This uses the
    interpreter's wakeup fd, which every signal with a Python handler writes its number to,
    read by a thread: `received` is the first signal seen, or None."""

    STOP = b"\0"  # no signal has number 0: tells the reading thread to end

    def __init__(self):
        self.received: signal.Signals | None = None
        self._previous_fd = -1

    def __enter__(self) -> SignalWatch:
        import socket

        if threading.current_thread() is not threading.main_thread():  # only it may set the wakeup fd
            return self
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        self._thread = threading.Thread(target=self._read, name="cdp-signal-watch", daemon=True)
        self._thread.start()
        self._previous_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        return self

    def __exit__(self, *exc) -> None:
        if not hasattr(self, "_writer"):
            return
        signal.set_wakeup_fd(self._previous_fd)
        self._writer.send(self.STOP)
        self._thread.join(timeout=5)
        self._reader.close()
        self._writer.close()

    def _read(self) -> None:
        while data := self._reader.recv(64):
            for number in data:
                if number == 0:
                    return
                if number in WATCHED and self.received is None:
                    self.received = signal.Signals(number)


def cancel_on_interrupt(instance, run_id: str, signals: SignalWatch):
    """An event listener that makes Ctrl-C or SIGTERM cancel the run: no step retried, none started.

    Dagster treats an interrupt inside a step like an error and applies the retry policy
    (the step runs again 30 s later), and dlt may hold one back until its load is done. On
    the first event after a signal (or caused by an interrupt) this marks the run canceling,
    so Dagster ends it CANCELED with the reason; then it raises the interrupt where a retry is
    announced or the next step starts, so the run ends there, as after an interrupt between steps.
    """
    from dagster import DagsterRunStatus
    from dagster._core.errors import DagsterExecutionInterruptedError

    canceling: list[str] = []

    def on_event(entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type_value
        caused = kind in ("STEP_FAILURE", "STEP_UP_FOR_RETRY") and _caused_by_interrupt(event.event_specific_data.error)
        if not (caused or signals.received):
            return
        if not canceling:
            by = signals.received.name if signals.received else "an interrupt (Ctrl-C or SIGTERM)"
            canceling.append(f"cdp run was stopped by {by} in step {event.step_key}")
            run = instance.get_run_by_id(run_id)
            if run is not None and run.status == DagsterRunStatus.STARTED:
                instance.report_run_canceling(run, message=canceling[0])
        if kind in ("STEP_START", "STEP_UP_FOR_RETRY"):
            raise DagsterExecutionInterruptedError()

    return on_event


def _caused_by_interrupt(error) -> bool:
    """The error, or one it was raised from or while handling, is an interrupt."""
    if error is None:
        return False
    return error.cls_name in INTERRUPTS or _caused_by_interrupt(error.cause) or _caused_by_interrupt(error.context)


def run_log_path(warehouse: Path, run_id: str) -> Path:
    """<warehouse folder>/logs/run-<run id>.log: next to the data it describes."""
    folder = warehouse.parent / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{run_id[:8]}.log"


@contextlib.contextmanager
def output_to(log_path: Path):
    """Send what dbt prints (stdout) and dlt logs (its own stderr handler) to the run log."""
    dlt_logger = logging.getLogger("dlt")
    with log_path.open("w") as log_file, contextlib.redirect_stdout(log_file):
        handlers, dlt_logger.handlers = dlt_logger.handlers, [logging.StreamHandler(log_file)]
        try:
            yield
        finally:
            dlt_logger.handlers = handlers


def ensure_source_data(data_dir: Path, persons: int, seed: int, console: Console, *, demo: bool = False) -> bool:
    """Write the demo universe when it is configured and the folder has no files yet; True if it did.

    Otherwise a data folder that is missing or empty is a CdpError naming it (and the setting).
    """
    if not demo_wanted(data_dir, demo=demo):
        return False
    from cdp.demo.universe import generate

    with console.status(f"generating a demo universe of {persons:,} persons into {data_dir} ..."):
        generate(data_dir, persons=persons, seed=seed)
    return True


def demo_wanted(data_dir: Path, *, demo: bool = False) -> bool:
    """True when the demo universe is to be generated into `data_dir`; a CdpError when the folder is
    missing or empty and no demo is wanted, or holds files that are not this project's sources."""
    if (data_dir / "manifest.json").exists():
        return False
    has_files = data_dir.is_dir() and any(path.is_file() for path in data_dir.rglob("*"))
    if has_files:
        require_source_folders(data_dir)
        return False  # the user's own files
    if demo or (demo_configured() and data_dir == settings.DEFAULT_DATA_DIR.resolve()):
        return True
    state = "is empty" if data_dir.is_dir() else "does not exist"
    raise CdpError(
        f"{data_dir}: the data folder (--data-dir or CDP_DATA_DIR) {state}; put your source files there,"
        " or run the demo with `cdp run --demo`"
    )


def require_source_folders(data_dir: Path) -> None:
    """A data folder that holds none of the file sources' folders is not this project's: say so in one line."""
    from ingest.config import FilesSource, load_config
    from ingest.files import location_of

    config = load_config()
    folders = {
        name: Path(location_of(name, spec, data_dir))
        for name, spec in config.enabled().items()
        if isinstance(spec, FilesSource) and "://" not in location_of(name, spec, data_dir)
    }
    if folders and not any(folder.is_dir() for folder in folders.values()):
        expected = ", ".join(
            sorted(
                str(folder.relative_to(data_dir)) if folder.is_relative_to(data_dir) else str(folder)
                for folder in folders.values()
            )
        )
        raise CdpError(
            f"{data_dir}: the data folder holds none of the folders {config.path.name} reads ({expected});"
            " a mistyped --data-dir or CDP_DATA_DIR?"
        )


def demo_configured() -> bool:
    """True when ingest/sources.yml enables any of the demo universe's sources."""
    from cdp.demo.layout import DEMO_SOURCES
    from ingest.config import load_config

    return bool(set(load_config().enabled()) & set(DEMO_SOURCES))


class StepProgress:
    """A rich progress bar over the job's steps, fed by the run's events as they happen."""

    def __init__(self, console: Console, total: int):
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} steps"),
            TimeElapsedColumn(),
            # bound to the stream of now, before stdout is sent to the run log
            console=Console(file=console.file, force_terminal=console.is_terminal),
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._task = self._progress.add_task("starting", total=total or None)

    def __enter__(self) -> StepProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def on_event(self, entry) -> None:
        event = entry.dagster_event
        if event is None:
            return
        if event.event_type_value == "STEP_START":
            self._progress.update(self._task, description=f"{_stage_of(event.step_key)}: {event.step_key}")
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self._progress.advance(self._task)
        elif event.event_type_value == "ASSET_MATERIALIZATION" and event.step_key == "dbt_build":
            self._progress.update(self._task, description=f"dbt build: {event.asset_key.to_user_string()}")


def _stage_of(step_key: str | None) -> str:
    return next((stage for prefix, stage in STAGES.items() if (step_key or "").startswith(prefix)), "other")


def report_from_events(instance, run_id: str, success: bool) -> PipelineReport:
    """Rows per source and per destination from the assets' metadata, time per stage from step
    events; skipped syncs from their observations; cancelled from how the run ended."""
    from dagster import DagsterEventType

    report = PipelineReport(run_id=run_id, success=success)
    started: dict[str, float] = {}
    seconds: dict[str, float] = defaultdict(float)
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.STEP_START:
            started[event.step_key] = entry.timestamp
        elif event.event_type in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            seconds[_stage_of(event.step_key)] += entry.timestamp - started.get(event.step_key, entry.timestamp)
            if event.event_type == DagsterEventType.STEP_FAILURE and not _interrupted(event):
                error = event.step_failure_data.error
                report.failures.append(f"{event.step_key}: {error.message.strip() if error else 'unknown error'}")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            _count_materialization(report, event)
        elif event.event_type == DagsterEventType.ASSET_OBSERVATION:
            _count_observation(report, event)
        elif event.event_type in (DagsterEventType.RUN_CANCELED, DagsterEventType.RUN_FAILURE):
            report.cancelled = report.cancelled or _ended_by_interrupt(event)
    report.seconds = {stage: seconds[stage] for stage in STAGES.values() if stage in seconds}
    return report


def _interrupted(step_failure) -> bool:
    from dagster._core.execution.plan.objects import ErrorSource

    data = step_failure.step_failure_data
    return data.error_source == ErrorSource.INTERRUPT or _caused_by_interrupt(data.error)


def _ended_by_interrupt(run_end) -> bool:
    """Canceled, or failed by an interrupt Dagster could not tie to a cancel request (one between steps)."""
    from dagster import DagsterEventType
    from dagster._core.events import RunFailureReason

    if run_end.event_type == DagsterEventType.RUN_CANCELED:
        return True
    failure = run_end.event_specific_data  # JobFailureData
    return failure is not None and failure.failure_reason == RunFailureReason.UNEXPECTED_TERMINATION


def _count_materialization(report: PipelineReport, event) -> None:
    path = event.asset_key.path
    metadata = {key: value.value for key, value in event.step_materialization_data.materialization.metadata.items()}
    if path[0] == "dlt":
        counts = report.sources.setdefault(path[1], SourceCounts())
        counts.loaded += int(metadata.get("rows_loaded", 0))
        counts.quarantined += int(metadata.get("rows_quarantined", 0))
    elif path[0] == "sync":
        destination = metadata.get("destination", path[-1])
        sent = sum(int(metadata.get(outcome, 0)) for outcome in ("added", "updated", "removed"))
        report.rows_sent[destination] = report.rows_sent.get(destination, 0) + sent
        report.rows_failed[destination] = report.rows_failed.get(destination, 0) + int(metadata.get("failed", 0))


def _count_observation(report: PipelineReport, event) -> None:
    """A sync whose destination is not configured is observed, not materialized (sync_assets.py)."""
    path = event.asset_key.path
    metadata = event.asset_observation_data.asset_observation.metadata
    status = metadata.get("status")
    if path[0] == "sync" and status is not None and status.value == "skipped":
        report.syncs_skipped.append(path[-1])


def _read_only(warehouse: Path):
    return duckdb.connect(str(warehouse), read_only=True) if warehouse.exists() else None


def customer_ids(warehouse: Path) -> dict[tuple[str, str], str]:
    """(source, source_record_id) -> customer_id, as resolved by the last build (empty before the first)."""
    connection = _read_only(warehouse)
    if connection is None:
        return {}
    with connection:
        try:
            rows = connection.execute(
                "select source, source_record_id, customer_id from identity.record_customers"
            ).fetchall()
        except duckdb.CatalogException:
            return {}
    return {(source, record): customer for source, record, customer in rows}


def identity_warnings(warehouse: Path) -> list[str]:
    """What the identity step warned about (the trained model's fields missing from the inputs)."""
    from cdp.identity.model import warehouse_warnings

    return warehouse_warnings(warehouse)


def customer_ids_changed(warehouse: Path) -> int:
    """Records whose customer id the last build changed: its id now differs from the one last logged.

    `logged_customer_id` is each record's id as of the last run in identity_changelog, so
    this counts what that changelog recorded for the run, in one query.
    """
    connection = _read_only(warehouse)
    if connection is None:
        return 0
    with connection:
        try:
            return connection.execute(
                "select count(*) from identity.record_customers"
                " where logged_customer_id is not null and logged_customer_id <> customer_id"
            ).fetchone()[0]
        except duckdb.Error:
            return 0


def resolution_counts(warehouse: Path) -> tuple[int, int]:
    connection = _read_only(warehouse)
    if connection is None:
        return 0, 0
    with connection:
        try:
            return connection.execute(
                "select count(*), count(distinct customer_id) from marts.customer_identities"
            ).fetchone()
        except duckdb.CatalogException:
            return 0, 0


def segment_relations() -> dict[str, str]:
    """Segment model name -> its relation, for every segment dbt materializes (from the manifest)."""
    import json

    from dagster_project.dbt_assets import cdp_project, layer_of

    manifest = json.loads(cdp_project().manifest_path.read_text(encoding="utf-8"))
    # schema.alias, not relation_name: its database part is the file name of whichever
    # warehouse the manifest was parsed against
    return {
        node["name"]: f'"{node["schema"]}"."{node["alias"]}"'
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and layer_of(node) == "segments" and node.get("relation_name")
    }


def segment_sizes(warehouse: Path, relations: dict[str, str]) -> dict[str, int]:
    """Rows (= customers) in each segment table; a segment that was not built is left out."""
    connection = _read_only(warehouse)
    if connection is None:
        return {}
    sizes = {}
    with connection:
        for name, relation in relations.items():
            try:
                sizes[name] = connection.execute(f"select count(*) from {relation}").fetchone()[0]
            except duckdb.CatalogException:
                continue
    return sizes
