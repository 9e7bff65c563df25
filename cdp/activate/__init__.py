"""Activate: the reverse-ETL sync engine (no Dagster import here).

    from cdp.activate import load_sync_specs, run_sync
    for spec in load_sync_specs("dbt_project/target/manifest.json"):
        result = run_sync("warehouse/cdp.duckdb", spec)

Segments declare their syncs in dbt YAML (`meta.syncs`); destinations live in
`cdp/activate/destinations/`, one module each. State, run history and the row log are in
the warehouse schema `reverse_etl`.
"""

from cdp.activate.engine import SyncResult, run_sync
from cdp.activate.specs import SyncSpec, load_sync_specs

__all__ = ["SyncResult", "SyncSpec", "load_sync_specs", "run_sync"]
