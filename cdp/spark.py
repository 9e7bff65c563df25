"""Apache Spark as the engine the dbt project runs on (CDP_ENGINE=spark).

    from cdp import spark
    session = spark.session()          # local Spark, configured as dbt_project/profiles.yml's spark target
    spark.prepare(session, warehouse)  # the phone UDF registered, the raw tables published

The DuckDB warehouse file stays where cdp collects and where syncs keep their state: dlt
loads into it (the ingest hardening deletes rows of uncommitted and replaced loads, which
plain Parquet cannot, and Delta / Iceberg need JARs from Maven), then `publish_raw` writes
each raw table as Parquet under `<CDP_SPARK_DIR>/raw/` and registers it in Spark's catalog
under the same name (`raw_shop.customers`). dbt reads them there, as sources.

One Spark session per process: dbt-spark's session method calls `getOrCreate()`, so
starting it here first, with the profile's own parameters, makes dbt, the identity step and
the syncs share it. The parameters are read from the profile (`server_side_parameters`),
rendered by dbt, so there is one place that sets them.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from cdp import settings
from cdp.errors import CdpError

# the SQL functions macros/cross_database.sql calls on Spark, each a rule of cdp/identifiers.py
UDFS = {"cdp_phone_e164": "phone_e164", "cdp_strip_accents_lower": "strip_accents_lower"}
RAW_SCHEMA_PREFIX = "raw_"


def profile_parameters() -> dict[str, str]:
    """The spark target's `server_side_parameters`, rendered as dbt renders them."""
    import yaml
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context

    profiles = yaml.safe_load((settings.DBT_PROJECT_DIR / "profiles.yml").read_text())
    raw = profiles["cdp"]["outputs"]["spark"]["server_side_parameters"]
    settings.export_environment()  # CDP_SPARK_DIR, which the profile reads
    set_invocation_context(os.environ)  # dbt's env_var reads the environment through it
    rendered = ProfileRenderer({}).render_data(raw)
    return {str(key): str(value) for key, value in rendered.items()}


def session():
    """The process's Spark session, started with the profile's parameters if none runs yet."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:  # the [spark] extra
        raise CdpError("CDP_ENGINE=spark: pyspark is not installed (pip install 'cdp[spark]')") from error
    # Python UDFs run in worker processes: the same interpreter, which has cdp installed
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    spark_dir = settings.spark_dir()
    spark_dir.mkdir(parents=True, exist_ok=True)
    from splink.backends.spark import similarity_jar_location

    builder = SparkSession.builder.enableHiveSupport().appName("cdp")
    # Splink's string similarity functions (Jaro-Winkler, Damerau-Levenshtein) are Scala UDFs in its jar
    builder = builder.config("spark.jars", similarity_jar_location())
    for key, value in profile_parameters().items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Splink breaks the lineage of its intermediate tables with checkpoints
    spark.sparkContext.setCheckpointDir(str(spark_dir / "checkpoints"))
    return spark


def register_udfs(spark) -> None:
    """The rules of cdp/identifiers.py that Spark SQL lacks, as the functions the macros call."""
    from pyspark.sql.types import StringType

    from cdp import identifiers

    for name, rule in UDFS.items():
        spark.udf.register(name, _null_for_null(getattr(identifiers, rule)), StringType())


def _null_for_null(rule):
    """SQL's null in, null out, for a rule written for text."""

    def udf(value, *more):
        return None if value is None else rule(value, *more)

    return udf


def raw_tables(con) -> list[tuple[str, str]]:
    """(schema, table) of every table dlt wrote into a raw_<source> dataset of the warehouse."""
    return con.execute(
        """
        select table_schema, table_name from information_schema.tables
        where table_schema like 'raw\\_%' escape '\\' and table_type = 'BASE TABLE'
        order by 1, 2
        """
    ).fetchall()


def publish_raw(spark, warehouse: Path) -> list[str]:
    """Every raw table as Parquet under <spark dir>/raw/, registered in the Spark catalog.

    Whole tables each time: the ingest clean-ups delete rows (replaced files, uncommitted
    loads), so appending only new loads would keep rows the warehouse no longer has.
    """
    import duckdb

    root = settings.spark_dir() / "raw"
    published = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for schema, table in raw_tables(con):
            folder = root / schema / table
            written = folder.with_name(table + ".writing")
            shutil.rmtree(written, ignore_errors=True)
            written.mkdir(parents=True)
            con.execute(f'copy (select * from "{schema}"."{table}") to \'{written / "data.parquet"}\' (format parquet)')
            shutil.rmtree(folder, ignore_errors=True)
            written.rename(folder)
            spark.sql(f"create schema if not exists `{schema}`")
            spark.sql(f"drop table if exists `{schema}`.`{table}`")
            spark.sql(f"create table `{schema}`.`{table}` using parquet location '{folder}'")
            published.append(f"{schema}.{table}")
    return published


def prepare(spark, warehouse: Path) -> list[str]:
    """What a build on Spark needs before dbt starts: the UDF, and this warehouse's raw tables."""
    register_udfs(spark)
    return publish_raw(spark, warehouse)


def read_table(spark, relation: str) -> Any:
    """A Spark table as an Arrow table (small results only: it is collected on the driver)."""
    return spark.table(relation).toArrow()


IDENTITY_STEP = "record_customers"  # models/identity/spark/record_customers.sql: the step's output


def build_on_spark(args: list[str], select: list[str] | None, *, full_refresh: bool = False):
    """`dbt <args>` on Spark, the identity step between two selections; the dbtRunner results, in order.

    1. dbt builds the selection without record_customers and what follows it (tests with a
       parent in the second part wait for it: cautious indirect selection);
    2. the identity step (cdp.identity.on_spark), when record_customers is selected;
    3. dbt builds the selected part from record_customers on, with its tests.
    `args` is a dbt command line without --select (e.g. `build --target spark --vars ...`).
    """
    from dbt.cli.main import dbtRunner

    from cdp.identity.on_spark import resolve_on_spark

    spark = session()
    prepare(spark, settings.warehouse_path())
    runner = dbtRunner()
    after = [f"{selector},{IDENTITY_STEP}+" for selector in select] if select else [f"{IDENTITY_STEP}+"]
    before = [*args, *_flags("--select", select), "--exclude", f"{IDENTITY_STEP}+", "--indirect-selection", "cautious"]
    results = [runner.invoke(before)]
    if not results[-1].success or not _selects_identity_step(runner, args, after):
        return results
    resolve_on_spark(spark, full_refresh=full_refresh)
    results.append(runner.invoke([*args, *_flags("--select", after)]))
    return results


def _flags(flag: str, values: list[str] | None) -> list[str]:
    return [part for value in values or [] for part in (flag, value)]


def _selects_identity_step(runner, args: list[str], after: list[str]) -> bool:
    """Whether the selection reaches record_customers (a `dbt ls` of the second part)."""
    listing = ["ls", "--resource-type", "model", "--output", "name", "--quiet", *_flags("--select", after)]
    listing += [arg for arg in _project_args(args)]
    result = runner.invoke(listing)
    return bool(result.success and IDENTITY_STEP in (result.result or []))


def _project_args(args: list[str]) -> list[str]:
    """The project, profile, target and vars flags of a dbt command line (for `dbt ls`)."""
    keep = {"--project-dir", "--profiles-dir", "--target", "--vars"}
    return [part for index, arg in enumerate(args) if arg in keep for part in (arg, args[index + 1])]
