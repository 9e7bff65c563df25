"""Run the collect phase: one dlt pipeline per source, dataset raw_<source>, into the warehouse.

    from ingest.runner import run_ingest
    summary = run_ingest(["web", "shop"])      # None = every enabled source in sources.yml
    print(summary); summary.failed             # {source: reason} for sources that could not be read

Each run first settles what an earlier run left unfinished: pending load packages
(a crash between extract and load) are loaded to completion; if that fails, they are
aborted and dlt's local state is rewound. Then rows of any load that never committed
(not in `_dlt_loads`, whoever aborted it) are deleted, and so are the rows of files since
read again in full (`ingest.loaded`). Either way the next day's data is never blocked,
and re-running reaches the same end state without duplicates.

A source that cannot be read (a missing folder, a locked or broken database, a bad
setting) is one FAILED line in the summary; the other sources still load. Only a
warehouse that cannot be opened stops the run.

Pipeline working folders live next to the warehouse (`<warehouse>.dlt/`), so each
warehouse file has its own state.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dlt
from dlt.destinations.exceptions import DatabaseUndefinedRelation, DestinationConnectionError
from dlt.pipeline.exceptions import PipelineStepFailed

from cdp import settings
from cdp.errors import CdpError
from ingest.config import FilesSource, IngestConfig, RestSource, SqlSource, load_config
from ingest.loaded import remove_replaced_rows, remove_uncommitted_rows
from ingest.stats import IngestSummary, SourceStats

log = logging.getLogger(__name__)

BOOKKEEPING_TABLES = ("_quarantine", "_files")


def run_ingest(
    sources: list[str] | None = None,
    *,
    warehouse: Path | None = None,
    data_dir: Path | None = None,
    config: IngestConfig | None = None,
) -> IngestSummary:
    """Load the named sources (default: all enabled) and return what was loaded, quarantined, skipped."""
    config = config or load_config()
    warehouse = Path(warehouse or settings.warehouse_path()).resolve()
    data_dir = config.data_dir_for(data_dir)
    names = sources or list(config.enabled())
    unknown = [name for name in names if name not in config.sources]
    if unknown:
        raise CdpError(
            f"{config.path}: sources: no source named {', '.join(unknown)} (have {', '.join(config.sources)})"
        )
    _enable_load_metadata_on_arrow()
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    summary = IngestSummary()
    for name in names:
        try:
            summary.sources[name] = run_source(name, config, warehouse, data_dir)
        except DestinationConnectionError as error:  # e.g. another process holds the DuckDB write lock
            reason = str(error).split("The actual reason given is: ")[-1]
            raise CdpError(f"{warehouse}: cannot open the warehouse: {reason}") from error
    return summary


def pipeline_for(name: str, warehouse: Path) -> dlt.Pipeline:
    _enable_load_metadata_on_arrow()  # every cdp pipeline, also one driven step by step
    return dlt.pipeline(
        pipeline_name=f"cdp_{name}",
        destination=dlt.destinations.duckdb(str(warehouse)),
        dataset_name=f"raw_{name}",
        pipelines_dir=str(warehouse.with_name(warehouse.name + ".dlt")),
        progress="log" if log.isEnabledFor(logging.DEBUG) else None,
    )


def run_source(name: str, config: IngestConfig, warehouse: Path, data_dir: Path) -> SourceStats:
    """Load one source; anything that stops it is its `error` (one FAILED line), never the others' problem."""
    spec = config.sources[name]
    stats = SourceStats()
    pipeline = pipeline_for(name, warehouse)
    stats.recovered = settle_pending_packages(pipeline)
    append_tables = [table for table, table_spec in spec.tables.items() if table_spec.write_disposition == "append"]
    remove_uncommitted_rows(pipeline)
    remove_replaced_rows(pipeline, append_tables)  # a crash after the load, before the clean-up
    try:
        source = build_source(name, spec, data_dir, pipeline, stats)
        info = pipeline.run(source)
    except DestinationConnectionError:
        raise
    except PipelineStepFailed as error:  # e.g. the API refused us, the database went away
        stats.error = f"{error.step} failed: {_first_line(error.exception)}"
        log.error("%s: %s", name, stats.error)
        return stats
    except Exception as error:  # missing folder, locked database, a setting: the source cannot be read
        stats.error = _first_line(error)
        log.error("%s: cannot read the source: %s", name, stats.error)
        return stats
    remove_replaced_rows(pipeline, append_tables)
    if not isinstance(spec, FilesSource):  # files count their own rows while reading
        row_counts = pipeline.last_trace.last_normalize_info.row_counts if info.loads_ids else {}
        for table in spec.tables:
            stats.table(table).loaded += row_counts.get(table, 0)
    stats.error = nothing_loaded_yet(pipeline, stats)
    return stats


def nothing_loaded_yet(pipeline: dlt.Pipeline, stats: SourceStats) -> str | None:
    """The reason to stop here when a table's every row was quarantined and it holds no row at all.

    Such a table does not exist for dbt, whose build would fail much later and much less
    clearly; a table that already holds rows only gets this run's problems reported.
    """
    for table, counts in stats.tables.items():
        if counts.loaded or not counts.quarantined or _has_rows(pipeline, table):
            continue
        reasons = [reason for (_, reason) in counts.problems]
        return f"{table}: every row read ({counts.quarantined}) was quarantined, none loaded yet: {reasons[0]}"
    return None


def _has_rows(pipeline: dlt.Pipeline, table: str) -> bool:
    with pipeline.sql_client() as client:
        try:
            return bool(client.execute_sql(f"SELECT 1 FROM {client.make_qualified_table_name(table)} LIMIT 1"))
        except DatabaseUndefinedRelation:
            return False


def _first_line(error: BaseException) -> str:
    """An error's message on one line (dlt's and SQLAlchemy's run to many)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def build_source(name: str, spec, data_dir: Path, pipeline: dlt.Pipeline, stats: SourceStats):
    """The dlt source for one entry of sources.yml (files read are counted into `stats`)."""
    if isinstance(spec, FilesSource):
        from ingest.files import files_source

        return files_source(name, spec, data_dir, pipeline, stats)
    if isinstance(spec, SqlSource):
        from ingest.sql import sql_source

        return sql_source(name, spec, data_dir, pipeline=pipeline, stats=stats)
    if isinstance(spec, RestSource):
        from ingest.rest import MissingSetting, rest_source

        try:
            return rest_source(name, spec)
        except MissingSetting as error:
            raise ValueError(str(error)) from error
    raise TypeError(f"unknown source kind for {name}")


def settle_pending_packages(pipeline: dlt.Pipeline) -> list[str]:
    """Finish load packages an earlier run left behind, or abort them and remove their rows."""
    pending = list(pipeline.list_extracted_load_packages()) + list(pipeline.list_normalized_load_packages())
    if not pending:
        return []
    log.warning("%s: finishing load packages left by an earlier run: %s", pipeline.pipeline_name, ", ".join(pending))
    try:
        pipeline.normalize()
        pipeline.load()
        return [f"finished load package {load_id} left by an earlier run" for load_id in pending]
    except Exception as error:  # a package that cannot load must not block the next day's data
        log.error(
            "%s: cannot finish load packages %s (%s); aborting them and removing their partly loaded rows",
            pipeline.pipeline_name,
            ", ".join(pending),
            error,
        )
        pipeline.abort_packages()  # their rows are removed by remove_uncommitted_rows
        return [f"aborted load package {load_id} left by an earlier run: {error}" for load_id in pending]


def _enable_load_metadata_on_arrow() -> None:
    """Arrow items get _dlt_load_id like any other (dlt leaves it off by default).

    `_dlt_id` is added by our readers (`ingest.readers.with_row_ids`), vectorised: dlt's
    own would rewrite every file generating ids one Python call per row.
    """
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
