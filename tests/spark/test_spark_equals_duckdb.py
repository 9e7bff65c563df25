"""The whole small pipeline on local Spark equals the DuckDB run of the same universe, row for row.

One universe is generated and ingested; a copy of the warehouse is built on DuckDB (`cdp
build`), the other runs the whole nightly with CDP_ENGINE=spark (`cdp run`: ingest, the
dbt build on Spark with the identity step between its selections, the syncs). Then every
table in staging, identity, intermediate, marts and segments is compared with Spark's,
leaving out what a run stamps (run ids, times, each record's id before the run) and what
is engine bookkeeping (the hashes incremental builds keep, on DuckDB only). Spark runs in
its own processes (`cdp run`); this test opens its own session afterwards to read.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from cdp.demo.universe import generate
from ingest.runner import run_ingest

pytestmark = pytest.mark.slow

PERSONS, SEED = 150, 5
COMPARED_SCHEMAS = ("staging", "identity", "intermediate", "marts", "segments")
STAMPED = {
    "run_id",
    "resolved_at",
    "changed_at",
    "customer_since",
    "previous_customer_id",
    "logged_customer_id",
    "match_hash",  # the incremental identity step's, per engine
    "inputs_hash",  # DuckDB's hash() and Spark's xxhash64() differ; only incremental builds read it
}
CDP = str(Path(sys.executable).parent / "cdp")


def cdp(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run([CDP, *args], env={**os.environ, **env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    root = tmp_path_factory.mktemp("spark")
    data_dir = root / "data"
    generate(data_dir, persons=PERSONS, seed=SEED)
    on_duckdb, on_spark = root / "duckdb" / "cdp.duckdb", root / "spark" / "cdp.duckdb"
    on_duckdb.parent.mkdir()
    on_spark.parent.mkdir()
    run_ingest(warehouse=on_duckdb, data_dir=data_dir)
    shutil.copy(on_duckdb, on_spark)  # the same raw data for both
    common = {"CDP_DATA_DIR": str(data_dir), "CDP_DBT_THREADS": "1"}
    cdp("build", env={**common, "CDP_WAREHOUSE": str(on_duckdb)})
    # dbt's target of its own: the Spark manifest must not replace the one the DuckDB tests read
    spark_target = {"DBT_TARGET_PATH": str(root / "dbt_target"), "DBT_LOG_PATH": str(root / "dbt_logs")}
    run = cdp("run", env={**common, **spark_target, "CDP_WAREHOUSE": str(on_spark), "CDP_ENGINE": "spark"})
    os.environ["CDP_WAREHOUSE"] = str(on_spark)  # this process's Spark session: the same metastore
    try:
        from cdp import spark as cdp_spark

        session = cdp_spark.session()
        yield on_duckdb, on_spark, session, run.stdout
    finally:
        os.environ.pop("CDP_WAREHOUSE", None)


def duckdb_tables(con) -> list[tuple[str, str]]:
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables where table_type = 'BASE TABLE' order by all"
    ).fetchall()
    return [(schema, table) for schema, table in rows if schema in COMPARED_SCHEMAS]


def only_in_one(con, relation: str, other: pa.Table) -> tuple[int, int]:
    """Rows only in the DuckDB relation, rows only in `other` (multisets, stamped columns left out)."""
    columns = ", ".join(f'"{c}"' for c in other.column_names if c not in STAMPED)
    con.register("other_rows", other)
    try:
        left = con.execute(
            f"select count(*) from (select {columns} from {relation} except all select {columns} from other_rows)"
        ).fetchone()[0]
        right = con.execute(
            f"select count(*) from (select {columns} from other_rows except all select {columns} from {relation})"
        ).fetchone()[0]
        return left, right
    finally:
        con.unregister("other_rows")


def test_every_table_equals_duckdbs(engines):
    on_duckdb, _, session, _ = engines
    with duckdb.connect(str(on_duckdb), read_only=True) as con:
        tables = duckdb_tables(con)
        assert len(tables) > 30
        unequal = {}
        for schema, table in tables:
            if table == "identity_scored_pairs":  # the step's state: identity_resolution on Spark
                continue
            assert session.catalog.tableExists(f"{schema}.{table}"), f"{schema}.{table} missing on Spark"
            difference = only_in_one(con, f'"{schema}"."{table}"', session.table(f"{schema}.{table}").toArrow())
            if difference != (0, 0):
                unequal[f"{schema}.{table}"] = difference
        assert unequal == {}
        customers = con.execute("select count(*) from marts.customer_360").fetchone()[0]
    assert customers > PERSONS / 2


def test_the_scored_pairs_equal_duckdbs(engines):
    """Splink's SparkAPI and DuckDBAPI score the same pairs, to the same probabilities."""
    on_duckdb, _, session, _ = engines
    spark_pairs = session.table("identity_resolution.identity_scored_pairs").toArrow()
    with duckdb.connect(str(on_duckdb), read_only=True) as con:
        con.register("spark_pairs", spark_pairs)
        compared = con.execute("""
            select count(*), count(s.unique_id_l), max(abs(d.match_probability - s.match_probability))
            from identity.identity_scored_pairs d
            full outer join spark_pairs s using (unique_id_l, unique_id_r)
        """).fetchone()
    pairs, matched, largest_difference = compared
    assert pairs > 0 and matched == pairs
    assert largest_difference < 1e-9


def test_the_nightly_served_and_synced_from_spark(engines):
    """The syncs read the segments Spark built (copied into the warehouse file, where their state is)."""
    _, on_spark, session, summary = engines
    assert "FAILED" not in summary
    with duckdb.connect(str(on_spark), read_only=True) as con:
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'segments'"
        ).fetchall():
            assert only_in_one(con, f"segments.{table}", session.table(f"segments.{table}").toArrow()) == (0, 0)
        runs = con.execute("select count(*), count(*) filter (where status = 'failed') from reverse_etl.sync_runs")
        total, failed = runs.fetchone()
    assert total > 0 and failed == 0
