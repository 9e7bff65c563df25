"""Everything Dagster knows about cdp, and the project-wide policies, applied once here.

    ingest (one asset per raw table) -> dbt build (identity, marts, segments; tests as checks)
      -> one asset per sync declared in segment YAML

Policies: every asset writes the DuckDB file, so every asset is in pool `duckdb_writer`
(limit 1 in dagster.yaml); the nightly job retries failed steps; every asset carries a
freshness policy matching the nightly cadence; failed steps are reported by `report_failure`.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg
from dagster_dbt import DbtProject

from cdp import settings
from dagster_project.alerts import report_failure
from dagster_project.dbt_assets import CdpDbtTranslator, build_dbt_assets, cdp_project, dbt_resource, prepare_manifest
from dagster_project.ingest_assets import build_ingest_assets
from dagster_project.resources import CdpPaths
from dagster_project.schedules import nightly_schedule
from dagster_project.sync_assets import build_sync_assets
from ingest.config import IngestConfig, load_config

DUCKDB_WRITER_POOL = "duckdb_writer"
NIGHTLY_JOB = "nightly"
# Transient trouble (a destination timing out, the file briefly locked) heals on a retry.
RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL)
# Built nightly at 02:00: older than a day and an hour is late, older than 28 hours is stale.
FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=28), warn_window=timedelta(hours=25))

nightly_job = dg.define_asset_job(
    NIGHTLY_JOB,
    selection=dg.AssetSelection.all(),
    description="Ingest every source, dbt build (identity resolution included), then every declared sync.",
    op_retry_policy=RETRY_POLICY,
    hooks={report_failure},
)


def build_defs(dbt_project: DbtProject, ingest_config: IngestConfig) -> dg.Definitions:
    """cdp's definitions for a dbt project and an ingest config (tests pass small ones)."""
    translator = CdpDbtTranslator()
    defs = dg.Definitions(
        assets=[
            *build_ingest_assets(ingest_config, pool=DUCKDB_WRITER_POOL),
            build_dbt_assets(dbt_project, translator, pool=DUCKDB_WRITER_POOL),
            *build_sync_assets(dbt_project.manifest_path, translator, pool=DUCKDB_WRITER_POOL),
        ],
        jobs=[nightly_job],
        schedules=[nightly_schedule(nightly_job)],
        resources={"cdp_paths": CdpPaths(), "dbt": dbt_resource(dbt_project)},
    )
    with warnings.catch_warnings():  # map_asset_specs is "preview" in dagster 1.13: works, warns
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return defs.map_asset_specs(func=lambda spec: dg.apply_freshness_policy(spec, FRESHNESS))


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev` loads: the repo's dbt project (parsed if needed) and ingest/sources.yml."""
    settings.current()  # every CDP_* setting checked first: a bad one is one line naming it
    dbt_project = cdp_project()
    prepare_manifest(dbt_project)
    return build_defs(dbt_project, load_config())
