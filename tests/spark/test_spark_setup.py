"""The pieces of the Spark set-up that need no Spark: dbt command lines, time zones, the profile."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest

from cdp import spark
from cdp.errors import CdpError


def test_selections_are_split_out_of_a_dbt_command_line():
    rest, selected = spark.split_selection(["build", "--select", "fqn:* stg_a", "-s", "b", "--vars", "{}"])
    assert rest == ["build", "--vars", "{}"]
    assert selected == ["fqn:*", "stg_a", "b"]


def test_a_selector_is_refused_in_one_line():
    with pytest.raises(CdpError, match="--selector is not supported"):
        spark.split_selection(["build", "--selector", "nightly"])


def test_project_flags_are_kept_for_the_listing():
    args = ["build", "--project-dir", "p", "--exclude-resource-type", "unit_test", "--target", "spark", "--vars", "{}"]
    assert spark._project_args(args) == ["--project-dir", "p", "--target", "spark", "--vars", "{}"]


def test_spark_instants_become_utc_wall_time():
    instant = pa.array([datetime(2026, 1, 10, 9, 30)], type=pa.timestamp("us", tz="UTC"))
    rows = spark.without_time_zones(pa.table({"at": instant, "n": [1]}))
    assert rows.schema.field("at").type == pa.timestamp("us")
    assert rows.column("at").to_pylist() == [datetime(2026, 1, 10, 9, 30)]


def test_the_profile_parameters_point_at_the_spark_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("CDP_WAREHOUSE", str(tmp_path / "cdp.duckdb"))
    monkeypatch.delenv("CDP_SPARK_DIR", raising=False)
    parameters = spark.profile_parameters()
    folder = tmp_path / "cdp.duckdb.spark"
    assert parameters["spark.sql.warehouse.dir"] == f"{folder}/tables"
    assert f"databaseName={folder}/metastore_db" in parameters["spark.hadoop.javax.jdo.option.ConnectionURL"]
    assert parameters["spark.sql.session.timeZone"] == "UTC"
