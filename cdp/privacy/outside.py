"""The places next to the warehouse file that can hold a person: exports, run logs, dlt's folder.

- Exports of the file destination (`exports/<sync>/<run>.csv|parquet` beside the warehouse,
  CDP_EXPORT_DIR, or a sync's `config.folder`): each file holding the person is written again
  without their rows (to a temporary name, then renamed over it); other files are untouched.
- Run logs (`logs/` beside the warehouse: what dbt and dlt printed during `cdp run`): the
  lines that name the person are dropped, the file written again the same way.
- dlt's working folder (`<warehouse>.dlt/`): the completed load packages keep a copy of
  every row loaded, so they are removed (dlt needs only its state and schemas to go on).
  Pending packages would load the person again, so `pending_packages` lets `cdp forget`
  refuse to start while there are any.

Rows and lines are judged by the same matcher as the warehouse tables (cdp.privacy.suppression).
"""

from __future__ import annotations

import csv
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cdp import settings
from cdp.privacy.suppression import Suppression, forgotten_rows

PENDING = ("normalize/extracted", "load/new", "load/normalized")


@dataclass
class Rewritten:
    """What one place gave up: rows (or lines) removed from how many files."""

    files: int = 0
    removed: int = 0

    def add(self, removed: int) -> None:
        if removed:
            self.files += 1
            self.removed += removed


def dlt_folder(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + ".dlt")  # ingest.runner.pipeline_for's pipelines_dir


def pending_packages(warehouse: Path) -> list[str]:
    """`<pipeline>/<load id>` of every load package not loaded yet."""
    folder = dlt_folder(warehouse)
    if not folder.is_dir():
        return []
    return sorted(
        f"{pipeline.name}/{package.name}"
        for pipeline in folder.iterdir()
        for stage in PENDING
        if (pipeline / stage).is_dir()
        for package in (pipeline / stage).iterdir()
        if package.is_dir()
    )


def remove_loaded_packages(warehouse: Path, *, dry_run: bool = False) -> int:
    """Remove dlt's completed load packages (copies of rows already in raw); returns how many."""
    folder = dlt_folder(warehouse)
    packages = sorted(folder.glob("*/load/loaded/*")) if folder.is_dir() else []
    packages = [package for package in packages if package.is_dir()]
    if not dry_run:
        for package in packages:
            shutil.rmtree(package)
    return len(packages)


def export_folders(warehouse: Path, specs=()) -> list[Path]:
    """Where the file destination may have written (see its module docstring)."""
    folders = [warehouse.parent / "exports"]
    configured = settings.one("CDP_EXPORT_DIR", settings.check_folder, None)
    if configured:
        folders.append(configured)
    folders += [
        Path(spec.config["folder"]) for spec in specs if spec.destination == "file" and spec.config.get("folder")
    ]
    return [folder for folder in dict.fromkeys(f.resolve() for f in folders) if folder.is_dir()]


def rewrite_exports(folders: list[Path], person: Suppression, *, dry_run: bool = False) -> Rewritten:
    """Every CSV and Parquet export without the person's rows."""
    done = Rewritten()
    with duckdb.connect() as con:
        for folder in folders:
            for path in sorted(folder.rglob("*")):
                if path.suffix in (".csv", ".parquet") and path.is_file():
                    done.add(_rewrite_export(con, path, person, dry_run))
    return done


def _rewrite_export(con, path: Path, person: Suppression, dry_run: bool) -> int:
    table = _read_csv(path) if path.suffix == ".csv" else pq.read_table(path)
    found = forgotten_rows(con, table, person)
    if not found or dry_run:
        return len(found)
    kept = table.filter(pa.array([index not in found for index in range(table.num_rows)]))
    partial = path.with_name(path.name + ".partial")
    if path.suffix == ".csv":
        pa_csv.write_csv(kept, partial)
    else:
        pq.write_table(kept, partial)
    os.replace(partial, path)
    return len(found)


def _read_csv(path: Path) -> pa.Table:
    """Every column as text, so the file written again holds the values exactly as before."""
    with path.open(newline="", encoding="utf-8") as file:
        header = next(csv.reader(file), [])
    options = pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
    )
    return pa_csv.read_csv(path, convert_options=options)


def rewrite_logs(folder: Path, person: Suppression, *, dry_run: bool = False) -> Rewritten:
    """Every run log in `folder` without the lines that name the person."""
    done = Rewritten()
    if not folder.is_dir():
        return done
    with duckdb.connect() as con:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                done.add(_rewrite_log(con, path, person, dry_run))
    return done


def _rewrite_log(con, path: Path, person: Suppression, dry_run: bool) -> int:
    lines = path.read_bytes().splitlines(keepends=True)
    if not lines:
        return 0
    text = pa.table({"line": [line.decode("utf-8", errors="replace") for line in lines]})
    found = forgotten_rows(con, text, person, token_columns=["line"])
    if found and not dry_run:
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(b"".join(line for index, line in enumerate(lines) if index not in found))
        os.replace(partial, path)
    return len(found)
