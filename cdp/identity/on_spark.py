"""Identity resolution on Spark (CDP_ENGINE=spark): the same step, with Splink's SparkAPI scoring pairs.

    from cdp.identity.on_spark import resolve_on_spark
    resolution = resolve_on_spark(spark)   # reads identity.*, writes identity_resolution.*

dbt-spark's session method cannot run dbt Python models, so on Spark identity resolution
is a step of the build between two dbt selections (cdp.spark.build_on_spark; docs/
architecture.md, "Spark"): dbt builds everything up to the identity inputs; this step reads
them from Spark and writes `identity_resolution.record_customers`, `.identity_changelog` and
`.identity_scored_pairs`; dbt then builds the models from record_customers on, where
`identity.record_customers` and `identity.identity_changelog` are views over those tables
(models/identity/spark/).

What runs where:
- in Spark: Splink's blocking and the scoring of every blocked pair (SparkAPI, with the
  comparisons generated for Spark's dialect from the same configuration and trained m and
  u as on DuckDB): the part that grows with the pairs;
- on the driver, in an in-memory DuckDB (the DuckDB engine's own code path): preparing
  the matching rows, the deterministic links, the guardrails, connected components, the
  cluster cap, stable ids, the changelog and explanations. It holds the records and the
  links above the threshold, not the pairs: about 1 GB per million records.
"""

from __future__ import annotations

import logging

import duckdb
import pyarrow as pa

from cdp.identity.config import IdentityConfig
from cdp.identity.model import scored_pairs_sql, splink_input_sql
from cdp.identity.resolve import Resolution, resolve_identities
from cdp.identity.stable_ids import previous_for_next_run, table_columns

RESOLUTION_SCHEMA = "identity_resolution"  # the step's tables, read by models/identity/spark/
IDENTITY_SCHEMA, SEEDS_SCHEMA = "identity", "seeds"  # as dbt_project.yml names them
RECORDS, CHANGELOG, PAIRS = "record_customers", "identity_changelog", "identity_scored_pairs"


class SparkPrediction:
    """Splink's SparkAPI scores the pairs; the pairs at or above the threshold come back to the driver."""

    dialect = "spark"

    def __init__(self, spark):
        self.spark = spark

    def predict(self, con: duckdb.DuckDBPyConnection, config: IdentityConfig, settings: dict, *, only_changed: bool):
        from splink import Linker, SparkAPI

        from cdp.identity.incremental import only_changed_pairs

        rows = con.execute(splink_input_sql(config, set(table_columns(con, "matching")))).arrow().read_all()
        # Splink's own tables in the step's schema, not in whichever schema dbt used last
        self.spark.sql(f"create schema if not exists {RESOLUTION_SCHEMA}")
        db_api = SparkAPI(spark_session=self.spark, database=RESOLUTION_SCHEMA)
        records = db_api.register(self.spark.createDataFrame(rows))
        linker = Linker(records, only_changed_pairs(settings) if only_changed else settings, log_level=logging.WARNING)
        predictions = linker.inference.predict(threshold_match_probability=config.threshold, warning_mode="never")
        frame = predictions.as_spark_dataframe()
        frame.createOrReplaceTempView("cdp_predictions")
        pairs = self.spark.sql(scored_pairs_sql(config, set(frame.columns), "cdp_predictions")).toArrow()
        self.spark.catalog.dropTempView("cdp_predictions")
        predictions.drop_table_from_database_and_remove_from_cache()
        con.register("cdp_spark_pairs", pairs)
        con.execute("create or replace table scored_pairs as select * from cdp_spark_pairs")
        con.unregister("cdp_spark_pairs")


def resolve_on_spark(spark, *, config: IdentityConfig | None = None, full_refresh: bool = False) -> Resolution:
    """Resolve the identity inputs dbt built in Spark; write the step's tables back to Spark."""
    from cdp.identity.prepare import MATCHING_INPUT_COLUMNS

    resolution = resolve_identities(
        spark.table(f"{IDENTITY_SCHEMA}.identity_inputs").select(*MATCHING_INPUT_COLUMNS).toArrow(),
        spark.table(f"{IDENTITY_SCHEMA}.identity_strong_ids").toArrow(),
        spark.table(f"{SEEDS_SCHEMA}.blocked_identifiers").toArrow(),
        spark.table(f"{SEEDS_SCHEMA}.nicknames").toArrow(),
        previous_assignment(spark),
        match_fields=spark.table(f"{IDENTITY_SCHEMA}.identity_match_fields").toArrow(),
        previous_pairs=None if full_refresh else existing(spark, PAIRS),
        config=config,
        prediction=SparkPrediction(spark),
    )
    for warning in resolution.warnings:
        print(f"warning: record_customers: {warning}")
    write_resolution(spark, resolution)
    return resolution


def existing(spark, table: str) -> pa.Table | None:
    """One of the step's tables as Arrow, None before the first run."""
    if not spark.catalog.tableExists(table, RESOLUTION_SCHEMA):
        return None
    return spark.table(f"{RESOLUTION_SCHEMA}.{table}").toArrow()


def previous_assignment(spark) -> pa.Table | None:
    """The last run's records with the changelog's base, as the DuckDB model reads them."""
    records = existing(spark, RECORDS)
    if records is None:
        return None
    with duckdb.connect() as con:
        con.register(RECORDS, records)
        changelog = existing(spark, CHANGELOG)
        if changelog is not None:
            con.register(CHANGELOG, changelog)
        return previous_for_next_run(con, RECORDS, CHANGELOG if changelog is not None else None)


def write_resolution(spark, resolution: Resolution) -> None:
    """The scored pairs, the records, then the changelog: the order the DuckDB engine writes them in
    (a run stopped between two writes is caught up by the next, see cdp/identity/stable_ids.py)."""
    spark.sql(f"create schema if not exists {RESOLUTION_SCHEMA}")
    for table, rows in ((PAIRS, resolution.scored_pairs), (RECORDS, resolution.records)):
        spark.createDataFrame(rows).write.mode("overwrite").format("parquet").saveAsTable(
            f"{RESOLUTION_SCHEMA}.{table}"
        )
    changes = spark.createDataFrame(resolution.changes)
    changes.write.mode("append").format("parquet").saveAsTable(f"{RESOLUTION_SCHEMA}.{CHANGELOG}")
