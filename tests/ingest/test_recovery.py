"""A crashed or failed run never blocks the next one and never leaves duplicates."""

from __future__ import annotations

import logging
from pathlib import Path

from ingest.config import load_config
from ingest.runner import build_source, pipeline_for
from ingest.stats import SourceStats
from tests.ingest.tiny_universe import write_day


def extract_without_loading(warehouse, name):
    """What a run killed after normalize leaves behind: a load package that never loaded."""
    pipeline = pipeline_for(name, warehouse.path)
    source = build_source(name, load_config().sources[name], warehouse.data_dir, pipeline, SourceStats())
    pipeline.extract(source)
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    return pipeline, load_id


def test_run_after_a_crash_finishes_the_pending_package_without_duplicates(warehouse):
    write_day(warehouse.data_dir, 0)
    warehouse.ingest(["web"])  # creates the dataset; the _files manifest exists
    write_day(warehouse.data_dir, 1)
    extract_without_loading(warehouse, "web")

    summary = warehouse.ingest(["web"])

    assert summary.sources["web"].recovered[0].startswith("finished load package")
    assert warehouse.count("raw_web.events") == 6
    assert warehouse.scalar("SELECT count(DISTINCT event_id) FROM raw_web.events") == 6
    assert warehouse.ingest(["web"]).loaded == 0


def test_package_that_cannot_load_is_aborted_and_its_partial_rows_removed(warehouse, caplog):
    write_day(warehouse.data_dir, 0)
    pipeline, load_id = extract_without_loading(warehouse, "web")
    # the events job will load, the manifest job will not: a half-loaded package
    jobs = Path(pipeline.working_dir) / "load" / "normalized" / load_id / "new_jobs"
    manifest_jobs = [p for p in jobs.iterdir() if p.name.startswith("_files.")]
    assert manifest_jobs
    for job in manifest_jobs:
        job.write_bytes(b"not a parquet file")

    with caplog.at_level(logging.ERROR, logger="ingest.runner"):
        summary = warehouse.ingest(["web"])

    assert "aborting" in caplog.text
    assert summary.sources["web"].recovered[0].startswith(f"aborted load package {load_id}")
    # the day was re-read in this run: each event exactly once, from the new load
    assert warehouse.count("raw_web.events") == 3
    assert warehouse.scalar("SELECT count(*) FROM raw_web.events WHERE _dlt_load_id = ?", load_id) == 0
    assert not pipeline_for("web", warehouse.path).has_pending_data
    assert warehouse.ingest(["web"]).loaded == 0


def test_warehouse_locked_by_another_process_is_a_clear_error(warehouse):
    import subprocess
    import sys

    import pytest

    from cdp.errors import CdpError

    write_day(warehouse.data_dir, 0)
    warehouse.ingest(["web"])
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys, time; c = duckdb.connect({str(warehouse.path)!r}); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(CdpError, match="cannot open the warehouse"):
            warehouse.ingest(["web"])
    finally:
        holder.kill()
        holder.wait()
