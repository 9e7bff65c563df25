from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.ingest.tiny_universe import write_day, write_shop


class Warehouse:
    """A tmp warehouse + data dir, and helpers to ingest into it and query it."""

    def __init__(self, root: Path):
        self.data_dir = root / "data"
        self.path = root / "warehouse" / "cdp.duckdb"

    def ingest(self, sources=None, **kwargs):
        from ingest.runner import run_ingest

        return run_ingest(sources, warehouse=self.path, data_dir=self.data_dir, **kwargs)

    def query(self, sql: str, *params) -> list[tuple]:
        with duckdb.connect(str(self.path), read_only=True) as con:
            return con.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        return self.query(sql, *params)[0][0]

    def count(self, table: str) -> int:
        return self.scalar(f"SELECT count(*) FROM {table}")


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    return Warehouse(tmp_path)


@pytest.fixture
def day0(warehouse) -> dict[str, int]:
    """The tiny universe's first day, written but not yet loaded; rows per raw table."""
    return {**write_day(warehouse.data_dir, 0), **write_shop(warehouse.data_dir)}
