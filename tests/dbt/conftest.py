"""A small real warehouse for the dbt tests: demo universe -> dlt ingest -> `dbt build`.

Built once per session in a temporary folder, with dbt's target and logs there too, so
the tests never touch the real warehouse or dbt_project/target (other runs' parse state).
Only the merge layer is built (`+path:models/marts`: seeds, staging, identity, marts
and their tests); the segments have their own suite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

PERSONS = 300
SEED = 7


@dataclass
class BuiltWarehouse:
    path: Path
    target_dir: Path
    universe: Path

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()

    def scalar(self, sql: str, parameters: list | None = None):
        return self.query(sql, parameters)[0][0]

    def manifest(self) -> dict:
        return json.loads((self.target_dir / "manifest.json").read_text())


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
    isolate_dbt(monkeypatch, warehouse, tmp_path / "target")
    return warehouse


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> BuiltWarehouse:
    from cdp.build import run_dbt_build
    from cdp.demo.universe import generate
    from ingest.runner import run_ingest

    folder = tmp_path_factory.mktemp("dbt_build")
    universe, warehouse, target_dir = folder / "universe", folder / "cdp.duckdb", folder / "target"
    generate(universe, persons=PERSONS, seed=SEED)
    run_ingest(warehouse=warehouse, data_dir=universe)
    with pytest.MonkeyPatch.context() as patch:
        isolate_dbt(patch, warehouse, target_dir)
        run_dbt_build(["+path:models/marts"])
    return BuiltWarehouse(warehouse, target_dir, universe)
