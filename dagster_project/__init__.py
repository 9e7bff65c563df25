"""Dagster orchestration of cdp: ingest (dlt) -> dbt build (identity included) -> syncs.

`dagster_project.definitions:defs` is what `dagster dev` loads (see [tool.dagster] in
pyproject.toml); `cdp run` (dagster_project/nightly.py) executes the same nightly job in-process.
"""
