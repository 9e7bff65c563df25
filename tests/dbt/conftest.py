"""A small real warehouse for the dbt tests: the one the shared demo pipeline builds.

`built_warehouse` is what `cdp run` left after generating a 300-person universe, ingesting it
and running `dbt build` (tests/demo_pipeline.py): the tests read it and never write it. Tests
that build on their own get a scratch warehouse (`empty_warehouse`), with dbt's target and
logs beside it, so they never touch the real warehouse or dbt_project/target.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest


@dataclass
class BuiltWarehouse:
    path: Path
    manifest_path: Path
    universe: Path

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()

    def scalar(self, sql: str, parameters: list | None = None):
        return self.query(sql, parameters)[0][0]

    def manifest(self) -> dict:
        return json.loads(self.manifest_path.read_text())


def isolate_dbt(patch: pytest.MonkeyPatch, warehouse: Path, target_dir: Path) -> None:
    """Point dbt at `warehouse`, with its target and logs in `target_dir` (not dbt_project/target)."""
    patch.setenv("CDP_WAREHOUSE", str(warehouse))
    patch.setenv("DBT_TARGET_PATH", str(target_dir))
    patch.setenv("DBT_LOG_PATH", str(target_dir / "logs"))
    patch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


@pytest.fixture
def empty_warehouse(tmp_path, monkeypatch) -> Path:
    """A warehouse file with nothing loaded, dbt pointed at it (for this test only)."""
    warehouse = tmp_path / "empty.duckdb"
    duckdb.connect(str(warehouse)).close()  # dbt refuses a missing warehouse (cdp.dbt_plugin)
    isolate_dbt(monkeypatch, warehouse, tmp_path / "target")
    return warehouse


@pytest.fixture(scope="session")
def built_warehouse(demo_pipeline) -> BuiltWarehouse:
    """The warehouse the shared demo pipeline built (seeds, staging, identity, marts, segments)."""
    return BuiltWarehouse(demo_pipeline.warehouse, demo_pipeline.manifest, demo_pipeline.data_dir)
