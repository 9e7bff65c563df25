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
    if results[-1].success:
        publish_results(spark, settings.warehouse_path())
    return results


# What the syncs, the workspace and the privacy tools read, copied from Spark into the
# DuckDB file after each build on Spark (their state tables stay there, as on DuckDB).
SERVED_SCHEMAS = ("segments",)
SERVED_TABLES = ("marts.customer_360", "marts.customer_identities", "identity.record_customers")


def publish_results(spark, warehouse: Path) -> list[str]:
    """The segments and the customer tables, from Spark into the warehouse file, replaced whole.

    The syncs read their segment and customer_360's consent there, in the same DuckDB
    connection that holds their reverse_etl state, so their kill -9 safety is unchanged.
    """
    import duckdb

    relations = list(SERVED_TABLES)
    for schema in SERVED_SCHEMAS:
        tables = spark.sql(f"show tables in {schema}").collect()  # temporary views (Splink's) are listed too
        relations += [f"{schema}.{row.tableName}" for row in tables if not row.isTemporary]
    with duckdb.connect(str(warehouse)) as con:
        for relation in relations:
            schema, table = relation.split(".")
            rows = without_time_zones(spark.table(relation).toArrow())
            con.execute(f'create schema if not exists "{schema}"')
            kind = con.execute(
                "select table_type from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchone()
            if kind and kind[0] == "VIEW":  # built by the DuckDB engine before a switch to Spark
                con.execute(f'drop view "{schema}"."{table}"')
            con.register("cdp_spark_rows", rows)
            con.execute(f'create or replace table "{schema}"."{table}" as select * from cdp_spark_rows')
            con.unregister("cdp_spark_rows")
    return relations


def without_time_zones(rows):
    """Spark's timestamps arrive as UTC instants; the warehouse keeps UTC wall time, as dbt-duckdb writes it."""
    import pyarrow as pa

    columns = [
        column.cast(pa.timestamp(field.type.unit)) if pa.types.is_timestamp(field.type) and field.type.tz else column
        for field, column in zip(rows.schema, rows.columns, strict=True)
    ]
    return pa.table(columns, names=rows.column_names)


def _flags(flag: str, values: list[str] | None) -> list[str]:
    return [part for value in values or [] for part in (flag, value)]


def _selects_identity_step(runner, args: list[str], after: list[str]) -> bool:
    """Whether the selection reaches record_customers (a `dbt ls` of the second part)."""
    listing = ["ls", "--resource-type", "model", "--output", "name", "--quiet", *_flags("--select", after)]
    listing += _project_args(args)
    result = runner.invoke(listing)
    return bool(result.success and IDENTITY_STEP in (result.result or []))


def _project_args(args: list[str]) -> list[str]:
    """The project, profile, target and vars flags of a dbt command line (for `dbt ls`)."""
    keep = {"--project-dir", "--profiles-dir", "--target", "--vars"}
    return [part for index, arg in enumerate(args) if arg in keep for part in (arg, args[index + 1])]


# the dbt commands that run SQL, so need the session set up (parse, ls, compile only read files)
DBT_COMMANDS = {"build", "run", "test", "seed", "snapshot", "show", "retry", "clone"}
SELECTION_FLAGS = {"--select", "-s", "--models", "-m"}


def split_selection(args: list[str]) -> tuple[list[str], list[str]]:
    """A dbt command line without its --select values, and those values (space-separated ones split)."""
    rest, selected = [], []
    items = iter(args)
    for arg in items:
        if arg in SELECTION_FLAGS:
            selected += next(items, "").split()
        elif arg == "--selector":
            raise CdpError("cdp-dbt on Spark: --selector is not supported; give the nodes with --select")
        else:
            rest.append(arg)
    return rest, selected


def dbt_main() -> None:
    """`cdp-dbt`: dbt with cdp's set-up for the engine in use; on DuckDB plain dbt.

    On Spark (`--target spark`, or CDP_ENGINE=spark and no --target), it starts the Spark
    session, registers the UDFs and publishes the raw tables before dbt starts, and a
    `build` runs identity resolution between its two selections (build_on_spark). Dagster's
    dbt asset runs dbt through it on Spark; by hand: `cdp-dbt build --target spark`.
    """
    from dbt.cli.main import dbtRunner

    args = sys.argv[1:]
    target = args[args.index("--target") + 1] if "--target" in args[:-1] else settings.engine()
    command = next((arg for arg in args if arg in DBT_COMMANDS), None)
    if target != "spark" or command is None:
        sys.exit(_exit_code([dbtRunner().invoke(args)]))
    if "--target" not in args:
        args += ["--target", target]
    if command != "build":
        spark = session()
        prepare(spark, settings.warehouse_path())
        sys.exit(_exit_code([dbtRunner().invoke(args)]))
    rest, select = split_selection(args)
    full_refresh = "--full-refresh" in rest or '"cdp_full_refresh": true' in " ".join(rest)
    sys.exit(_exit_code(build_on_spark(rest, select, full_refresh=full_refresh)))


def _exit_code(results) -> int:
    """dbt's: 0 all passed, 1 a node failed, 2 dbt could not run."""
    if any(result.exception is not None for result in results):
        return 2
    return 0 if all(result.success for result in results) else 1
