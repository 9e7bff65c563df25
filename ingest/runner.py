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

People forgotten with `cdp forget` stay out: each source's run first reads the suppression
list (`privacy.suppression`, hashes only; cdp/privacy/suppression.py), and a row that holds
one of its identifiers goes to `_quarantine` with reason `forgotten`, its file, row and the
column that matched, nothing of the row itself. File sources check each batch as they read
it (`ingest.readers.without_forgotten`); SQL and REST sources each page after their
incremental step (`keep_forgotten_out`).
"""

from __future__ import annotations

import json
import logging
import os
from itertools import compress
from pathlib import Path
from typing import ClassVar

import dlt
import duckdb
import pyarrow as pa
from dlt.destinations.exceptions import DatabaseUndefinedRelation, DestinationConnectionError
from dlt.extract.hints import make_hints
from dlt.extract.items_transform import YieldMapItem
from dlt.extract.resource import with_hints
from dlt.pipeline.exceptions import PipelineStepFailed

from cdp import settings
from cdp.errors import CdpError
from ingest.config import FilesSource, IngestConfig, RestSource, SqlSource, load_config
from ingest.loaded import QUARANTINE_TABLE, remove_replaced_rows, remove_uncommitted_rows
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
    # Held open while the sources load: dlt and the clean-ups open the warehouse about 60
    # times, and while one connection stays open DuckDB reuses the database in this process
    # instead of opening (and checkpointing) the file each time (2-3 s of a small ingest).
    try:
        kept_open = duckdb.connect(str(warehouse))
    except duckdb.IOException as error:  # another process holds the DuckDB write lock
        raise cannot_open(warehouse, error) from error
    with kept_open:
        for name in names:
            try:
                summary.sources[name] = run_source(name, config, warehouse, data_dir)
            except DestinationConnectionError as error:  # the same, met by dlt
                raise cannot_open(warehouse, error) from error
    return summary


def cannot_open(warehouse: Path, error: BaseException) -> CdpError:
    reason = str(error).split("The actual reason given is: ")[-1]
    return CdpError(f"{warehouse}: cannot open the warehouse: {reason}")


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
        source = build_source(name, spec, data_dir, pipeline, stats, forgotten_people(pipeline))
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


def build_source(name: str, spec, data_dir: Path, pipeline: dlt.Pipeline, stats: SourceStats, suppression=None):
    """The dlt source for one entry of sources.yml (files read are counted into `stats`).

    `suppression` (cdp.privacy.suppression): rows of forgotten people are quarantined, not loaded.
    """
    if isinstance(spec, FilesSource):
        from ingest.files import files_source

        return files_source(name, spec, data_dir, pipeline, stats, suppression)
    if isinstance(spec, SqlSource):
        from ingest.sql import _display_url, sql_source

        source = sql_source(name, spec, data_dir, pipeline=pipeline, stats=stats)
        where = _display_url(spec.url.replace("{data_dir}", str(data_dir)))  # as sql.py's own quarantine rows
    elif isinstance(spec, RestSource):
        from ingest.rest import MissingSetting, rest_source

        try:
            source, where = rest_source(name, spec), spec.base_url
        except MissingSetting as error:
            raise ValueError(str(error)) from error
    else:
        raise TypeError(f"unknown source kind for {name}")
    return keep_forgotten_out(source, suppression, stats, where=where)


def forgotten_people(pipeline: dlt.Pipeline):
    """The warehouse's suppression list (`cdp forget`), read at the start of each source's run."""
    from cdp.privacy.suppression import load

    with pipeline.sql_client() as client:
        return load(client.native_connection)


class _KeepForgottenOut(YieldMapItem):
    """After the incremental and the loaders' own steps (sql.py's at 1.05), before any limit (1.1)."""

    placement_affinity: ClassVar[float] = 1.07

    def __call__(self, item, meta=None):  # a page (list of rows) whole, not row by row
        yield from self._f_meta(item, meta)


def keep_forgotten_out(source, suppression, stats: SourceStats, *, where: str):
    """Rows of forgotten people from a SQL or REST source go to `_quarantine` (files do it while reading)."""
    if suppression is None or suppression.empty:
        return source
    from ingest.readers import FORGOTTEN, new_connection, split_forgotten

    con = new_connection()
    # a table variant starts from the resource's hints: without the data table's columns and key
    quarantine_hints = make_hints(table_name=QUARANTINE_TABLE, write_disposition="append", columns={}, primary_key=[])

    def step(table: str):
        def keep_out(item, meta):
            hints = getattr(meta, "hints", None) or {}
            if str(hints.get("table_name") or "").startswith("_") or not isinstance(item, (pa.Table, list)):
                yield item  # our own bookkeeping rows (_quarantine, _files), or no rows at all
                return
            rows = item if isinstance(item, pa.Table) else _text_table(item)
            keep, out = split_forgotten(con, rows, table, suppression, source_file=where)
            if keep is not None:
                stats.table(table).quarantined += out.num_rows
                stats.table(table).problems.setdefault((where, FORGOTTEN), [])
                yield with_hints(out, quarantine_hints, create_table_variant=True)
                item = item.filter(pa.array(keep)) if isinstance(item, pa.Table) else list(compress(item, keep))
            yield item

        return keep_out

    for table, resource in source.resources.items():
        resource.add_step(_KeepForgottenOut(step(table)))
    return source


def _text_table(rows: list) -> pa.Table:
    """A page of JSON rows as text columns, for the forgotten check only (the page itself loads as it is)."""
    names = list(dict.fromkeys(key for row in rows if isinstance(row, dict) for key in row))
    texts = [
        {k: v if v is None or isinstance(v, str) else json.dumps(v, default=str) for k, v in row.items()}
        for row in rows
        if isinstance(row, dict)
    ]
    return pa.Table.from_pylist(texts, schema=pa.schema([(name, pa.string()) for name in names]))


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
