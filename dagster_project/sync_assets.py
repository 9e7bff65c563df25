"""Sync assets: one per sync declared in a segment model's YAML (`meta.syncs`), built from
the dbt manifest, each downstream of its segment model. A new segment needs no Python.

The sync engine itself is `cdp.activate` (no Dagster in it); these assets only call it.
"""

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator

from cdp.activate.specs import SyncSpec, specs_from_manifest
from dagster_project.resources import CdpPaths

if TYPE_CHECKING:
    from cdp.activate.engine import SyncResult  # the engine is imported when a sync runs, not when Dagster loads

GROUP = "activate"


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sync", name])


def build_sync_assets(manifest_path: Path, translator: DagsterDbtTranslator, *, pool: str) -> list[dg.AssetsDefinition]:
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    return [
        _sync_asset(spec, _segment_key(manifest, spec, translator), pool)
        for spec in specs_from_manifest(manifest, source=str(manifest_path))
    ]


def _segment_key(manifest: Mapping[str, Any], spec: SyncSpec, translator: DagsterDbtTranslator) -> dg.AssetKey:
    """The asset of the model declaring the sync, named by the one dbt translator."""
    unique_id = next(
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] == spec.model
    )
    return translator.get_asset_spec(manifest, unique_id, None).key


def _sync_asset(spec: SyncSpec, segment_key: dg.AssetKey, pool: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=sync_key(spec.name),
        deps=[segment_key],
        group_name=GROUP,
        kinds={spec.destination},
        tags={"destination": spec.destination, "mode": spec.mode},
        description=f"{spec.mode} of segment {spec.model} to {spec.destination}",
        pool=pool,
        output_required=False,  # a sync whose destination is not configured here materializes nothing
    )
    def run_declared_sync(context: AssetExecutionContext, cdp_paths: CdpPaths):
        from cdp.activate import run_sync

        result = run_sync(cdp_paths.warehouse_path(), spec)
        metadata = result_metadata(result)
        if result.status == "failed":  # nothing could be sent: fail the step so it is retried and reported
            raise dg.Failure(description=f"sync {spec.name}: {result.message}", metadata=metadata)
        if result.status == "blocked":  # held back on purpose (mass removal): a retry would hold it again
            raise dg.Failure(description=f"sync {spec.name}: {result.message}", metadata=metadata, allow_retries=False)
        if result.status == "skipped":
            # Not a success: Dagster shows the asset not materialized in this run, and the
            # observation carries the reason (the settings it lacks) to the UI and cdp run's summary.
            context.log.info(f"sync {spec.name} skipped: {result.message}")
            yield dg.AssetObservation(asset_key=context.asset_key, metadata=metadata)
            return
        if result.status == "partial":  # the failed rows are recorded and retried next run
            context.log.warning(f"sync {spec.name}: {result.failed} rows failed: {result.message}")
        yield dg.MaterializeResult(metadata=metadata)

    return run_declared_sync


def result_metadata(result: "SyncResult") -> dict[str, Any]:
    """The scalar fields of a SyncResult (counts, status, run id) as asset metadata."""
    fields = dataclasses.asdict(result)
    return {key: value for key, value in fields.items() if isinstance(value, (bool, int, float, str))}
