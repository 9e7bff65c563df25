"""Fixtures for the segment tests: the real dbt project, parsed and built in a scratch warehouse.

dbt runs in a subprocess with its own target and log folders, so these tests never touch
dbt_project/target (the partial-parse state other runs use) or the real warehouse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from cdp import settings

MARTS_READ_BY_SEGMENTS = ("customer_360", "customer_events", "customer_purchases")
DBT = str(Path(sys.executable).with_name("dbt"))


@dataclass
class DbtScratch:
    """The project parsed against a throwaway warehouse file."""

    warehouse: Path
    target_dir: Path
    manifest: dict

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return run_dbt(self.warehouse, self.target_dir, *args)

    def segment_models(self) -> list[dict]:
        """Every segment: models under models/segments that make a table (not the ephemeral clock)."""
        return [
            node
            for node in self.manifest["nodes"].values()
            if node["resource_type"] == "model"
            and node["original_file_path"].startswith("models/segments/")
            and node["config"]["materialized"] != "ephemeral"
        ]

    def model(self, name: str) -> dict:
        return next(
            node
            for node in self.manifest["nodes"].values()
            if node["resource_type"] == "model" and node["name"] == name
        )


def run_dbt(warehouse: Path, target_dir: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CDP_WAREHOUSE": str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [
        DBT,
        *args,
        "--project-dir",
        str(settings.DBT_PROJECT_DIR),
        "--profiles-dir",
        str(settings.DBT_PROJECT_DIR),
        "--target-path",
        str(target_dir),
        "--log-path",
        str(target_dir / "logs"),
    ]
    return subprocess.run(command, capture_output=True, text=True, env=environment, cwd=target_dir)


def create_empty_marts(warehouse: Path, scratch: DbtScratch) -> None:
    """The marts the segments read, empty, typed from their enforced contracts.

    dbt unit tests read the columns of every input relation from the warehouse, so the
    parents must exist; building them for real would need the whole pipeline.
    """
    with duckdb.connect(str(warehouse)) as connection:
        for name in MARTS_READ_BY_SEGMENTS:
            node = scratch.model(name)
            columns = ", ".join(f'"{column["name"]}" {column["data_type"]}' for column in node["columns"].values())
            connection.execute(f'create schema if not exists "{node["schema"]}"')
            connection.execute(f'create or replace table "{node["schema"]}"."{node["alias"]}" ({columns})')


@pytest.fixture(scope="session")
def dbt_scratch(tmp_path_factory) -> DbtScratch:
    """The project parsed; the marts the segments read exist, empty."""
    folder = tmp_path_factory.mktemp("segments_dbt")
    warehouse = folder / "segments_test.duckdb"
    parsed = run_dbt(warehouse, folder, "parse")
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    scratch = DbtScratch(warehouse, folder, json.loads((folder / "manifest.json").read_text()))
    create_empty_marts(warehouse, scratch)
    return scratch


@pytest.fixture(scope="session")
def built_segments(dbt_scratch) -> subprocess.CompletedProcess:
    """`dbt build` of the segments (and the clock they count back from) on the empty marts:
    unit tests, tables, data tests."""
    return dbt_scratch.run("build", "--select", "int_clock", "path:models/segments")
