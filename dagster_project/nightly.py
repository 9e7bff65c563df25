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
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field
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


@dataclass
class SourceCounts:
    loaded: int = 0
    quarantined: int = 0


@dataclass
class PipelineReport:
    run_id: str
    success: bool
    generated: bool = False  # the demo universe was created by this run
    sources: dict[str, SourceCounts] = field(default_factory=dict)
    records: int = 0  # person-bearing source records resolved
    customers: int = 0
    customer_ids_changed: int = 0  # records whose customer_id differs from before the run
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
    """Generate the demo universe if it is configured and missing, run the nightly job in-process, report on it."""
    console = console or make_console(stderr=True)
    data_dir = Path(data_dir).expanduser().resolve() if data_dir else settings.data_dir()
    warehouse = Path(warehouse).expanduser().resolve() if warehouse else settings.warehouse_path()
    started = time.perf_counter()
    generated = ensure_source_data(data_dir, persons, seed, console, demo=demo)
    generate_seconds = time.perf_counter() - started

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
        result = job.execute_in_process(
            instance=instance,
            run_id=run_id,
            raise_on_error=False,
            tags={PID_TAG: str(os.getpid())},
            run_config={
                "resources": {"cdp_paths": {"config": paths}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
        )
    report = report_from_events(instance, run_id, result.success)
    report.generated, report.log_path, report.data_dir, report.warehouse = generated, log_path, data_dir, warehouse
    if generated:
        report.seconds = {"generate": generate_seconds, **report.seconds}
    report.records, report.customers = resolution_counts(warehouse)
    report.customer_ids_changed = customer_ids_changed(warehouse)
    report.segments = segment_sizes(warehouse, segment_relations())
    return report


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
    if (data_dir / "manifest.json").exists():
        return False
    has_files = data_dir.is_dir() and any(path.is_file() for path in data_dir.rglob("*"))
    if has_files:
        require_source_folders(data_dir)
        return False  # the user's own files
    if demo or (demo_configured() and data_dir == settings.DEFAULT_DATA_DIR.resolve()):
        from cdp.demo.universe import generate

        with console.status(f"generating a demo universe of {persons:,} persons into {data_dir} ..."):
            generate(data_dir, persons=persons, seed=seed)
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
    """Rows per source and per destination from the assets' metadata, time per stage from step events."""
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
            if event.event_type == DagsterEventType.STEP_FAILURE:
                error = event.step_failure_data.error
                report.failures.append(f"{event.step_key}: {error.message.strip() if error else 'unknown error'}")
        elif event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            _count_materialization(report, event)
    report.seconds = {stage: seconds[stage] for stage in STAGES.values() if stage in seconds}
    return report


def _count_materialization(report: PipelineReport, event) -> None:
    path = event.asset_key.path
    metadata = {key: value.value for key, value in event.step_materialization_data.materialization.metadata.items()}
    if path[0] == "dlt":
        counts = report.sources.setdefault(path[1], SourceCounts())
        counts.loaded += int(metadata.get("rows_loaded", 0))
        counts.quarantined += int(metadata.get("rows_quarantined", 0))
    elif path[0] == "sync":
        destination = metadata.get("destination", path[-1])
        if metadata.get("status") == "skipped":
            report.syncs_skipped.append(path[-1])
        sent = sum(int(metadata.get(outcome, 0)) for outcome in ("added", "updated", "removed"))
        report.rows_sent[destination] = report.rows_sent.get(destination, 0) + sent
        report.rows_failed[destination] = report.rows_failed.get(destination, 0) + int(metadata.get("failed", 0))


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
