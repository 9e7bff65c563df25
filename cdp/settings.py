"""Where things live. One place for paths and environment variables.

CDP_WAREHOUSE   the DuckDB file (default: warehouse/cdp.duckdb under the working directory)
CDP_DATA_DIR    the demo universe / source data folder (default: data/demo)
CDP_DUCKDB_MEMORY_LIMIT  memory for each DuckDB instance the build opens (default: 40% of RAM)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = PROJECT_ROOT / "seeds"
INGEST_DIR = PROJECT_ROOT / "ingest"

DEFAULT_WAREHOUSE = Path("warehouse") / "cdp.duckdb"
DEFAULT_DATA_DIR = Path("data") / "demo"


def warehouse_path() -> Path:
    """The DuckDB file, absolute (dbt-duckdb resolves relative paths against the cwd)."""
    return Path(os.environ.get("CDP_WAREHOUSE", DEFAULT_WAREHOUSE)).expanduser().resolve()


def data_dir() -> Path:
    """The folder holding the source files of the demo universe (or your own)."""
    return Path(os.environ.get("CDP_DATA_DIR", DEFAULT_DATA_DIR)).expanduser().resolve()


# The build runs two DuckDB instances at once (dbt's warehouse connection and the identity
# step's private one); each defaults to 80% of RAM, so together they could ask for more
# than the machine has. 40% each keeps the pair under it; DuckDB spills to disk beyond.
DUCKDB_MEMORY_SHARE = 0.4


def duckdb_memory_limit() -> str:
    """`memory_limit` for a DuckDB connection, e.g. '9600MB'."""
    if os.environ.get("CDP_DUCKDB_MEMORY_LIMIT"):
        value = os.environ["CDP_DUCKDB_MEMORY_LIMIT"].strip()
        if not re.fullmatch(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", value, flags=re.IGNORECASE):
            from cdp.errors import CdpError

            raise CdpError(f"CDP_DUCKDB_MEMORY_LIMIT: {value!r} is not a memory size such as 6GB or 4096MB")
        return value
    import psutil

    return f"{int(psutil.virtual_memory().total * DUCKDB_MEMORY_SHARE / 2**20)}MB"


def export_environment() -> None:
    """Pin the resolved paths in the environment so child processes (dbt, dagster) agree."""
    os.environ["CDP_WAREHOUSE"] = str(warehouse_path())
    os.environ["CDP_DATA_DIR"] = str(data_dir())
