"""Ingest assets: one asset per dlt resource (= raw table), one multi-asset per source.

Asset keys are ["dlt", <source>, <table>], the keys the dbt sources point at (see the
translator in dbt_assets.py). Sources and tables come from ingest/sources.yml, so adding a
source there adds its assets here without code.
"""

import dagster as dg
from dagster import AssetExecutionContext

from dagster_project.resources import CdpPaths
from ingest.config import IngestConfig

GROUP = "ingest"


def raw_table_key(source: str, table: str) -> dg.AssetKey:
    return dg.AssetKey(["dlt", source, table])


def build_ingest_assets(config: IngestConfig, *, pool: str) -> list[dg.AssetsDefinition]:
    """One multi-asset per enabled source; it loads all the source's tables in one dlt run."""
    return [_source_assets(name, config, pool) for name in config.enabled()]


def _source_assets(source: str, config: IngestConfig, pool: str) -> dg.AssetsDefinition:
    spec = config.sources[source]
    specs = [
        dg.AssetSpec(
            key=raw_table_key(source, table),
            description=f"raw_{source}.{table}: {spec.description}".rstrip(": "),
            group_name=GROUP,
            kinds={"dlt", "duckdb"},
            tags={"party": spec.party},
            metadata={"dagster/table_name": f"raw_{source}.{table}"},
        )
        for table in config.resource_names(source)
    ]

    @dg.multi_asset(name=f"dlt_{source}", specs=specs, pool=pool, can_subset=False)
    def load_source(context: AssetExecutionContext, cdp_paths: CdpPaths):
        from ingest.runner import run_ingest

        summary = run_ingest(
            [source], warehouse=cdp_paths.warehouse_path(), data_dir=cdp_paths.data_dir_path(), config=config
        )
        stats = summary.sources[source]
        for kind, line in summary.lines():  # one line per problem (file, rows, reason), note and recovery
            (context.log.info if kind == "note" else context.log.warning)(line)
        if stats.error:
            # Raised, not logged: the run must fail visibly (and be retried) when a source is unreadable.
            raise dg.Failure(description=f"{source}: cannot read the source: {stats.error}")
        for table in config.resource_names(source):
            counts = stats.table(table)
            yield dg.MaterializeResult(
                asset_key=raw_table_key(source, table),
                metadata={
                    "rows_loaded": counts.loaded,
                    "rows_quarantined": counts.quarantined,
                    "files_read": counts.files_read,
                    "files_skipped": counts.files_skipped,
                },
            )

    return load_source
