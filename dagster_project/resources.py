"""The resources every asset shares: where the warehouse and the source data live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from cdp import settings


class CdpPaths(dg.ConfigurableResource):
    """The DuckDB warehouse file and the source data folder.

    Left unset, they follow CDP_WAREHOUSE / CDP_DATA_DIR at run time (cdp/settings.py), the
    same settings dbt's profile reads, so ingest, dbt and the syncs always agree on the file.
    """

    warehouse: str | None = None
    data_dir: str | None = None

    def warehouse_path(self) -> Path:
        return Path(self.warehouse).resolve() if self.warehouse else settings.warehouse_path()

    def data_dir_path(self) -> Path:
        return Path(self.data_dir).resolve() if self.data_dir else settings.data_dir()
