"""File destination: one CSV or Parquet file per sync and run, holding the changes.

Settings (sync `config`): `format` (csv, default, or parquet), `folder` (default: the
`exports/` folder next to the warehouse file, or CDP_EXPORT_DIR). Each row carries its
`_operation` (add, update, remove, clear, withdraw: consent withdrawn, fields empty) so a
downstream job can apply the changes. Purpose: any, declared per sync. A forgotten
person's rows are taken out of the export files by `cdp forget` itself (no API to call).
The file appears under its final name only once it is completely written (temp file then
rename), which is the acknowledgement.

In CSV files, free-text fields (the sync's `fields`) that a spreadsheet would read as a
formula are neutralised (`neutralise_formula`); the key and the `identifiers` columns
(emails, E.164 phones, ids, hashes) are written as they are, since a downstream job
matches on them byte for byte. Parquet keeps every value as it is: it has no formulas.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from cdp.activate.destinations.base import Destination, SyncRow
from cdp.errors import CdpError

# First characters that make Excel, LibreOffice Calc or Google Sheets evaluate a cell
# (OWASP, CSV Injection): = + - @, and tab / carriage return, which some strip first.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def neutralise_formula(value: Any) -> Any:
    """The value to write in a free-text CSV cell: a leading `'` where it would be a formula.

    A name such as `=HYPERLINK("http://evil", "Click")` or `@SUM(...)` comes from a source
    anyone can type into; opened in a spreadsheet, the export would run it (CSV injection).
    OWASP's remedy is to prefix a single quote, which spreadsheets read as "this is text".
    Only strings are touched; a plain signed number (`-12.5`, `+31612345678`) is left alone,
    since a spreadsheet reads it as a number and nothing can run.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


class FileDestination(Destination):
    batch_size: ClassVar[int] = 5_000_000  # one file per run for any realistic segment
    config_keys = frozenset({"format", "folder"})
    supported_operations = frozenset({"upsert", "remove", "clear"})
    mixed_operations = True
    partial_failure = "none: the whole file is written or nothing is"
    clears_field_with = "a row with _operation=clear and empty fields"

    def folder(self) -> Path:
        configured = self.config("folder") or self.context.env.get("CDP_EXPORT_DIR")
        return Path(configured) if configured else self.context.warehouse_path.parent / "exports"

    def file_format(self) -> str:
        file_format = str(self.config("format", "csv")).lower()
        if file_format not in ("csv", "parquet"):
            raise CdpError(f"sync {self.spec.name}: config.format: {file_format!r} is not csv or parquet")
        return file_format

    def open(self) -> None:
        self.escape_formulas = self.file_format() == "csv"  # and fail before sending anything
        self.part = 0

    def prepare(self, row: SyncRow) -> dict[str, Any]:
        clear = row.operation in ("clear", "withdraw")
        escape = neutralise_formula if self.escape_formulas else (lambda value: value)
        values = {name: None if clear else escape(value) for name, value in row.fields.items()}
        return {"_operation": row.operation, self.spec.primary_key: row.primary_key, **row.identifiers, **values}

    def item_size(self, item: Any) -> int:
        return 0  # no payload limit

    def send(self, operation: str, items: list[dict[str, Any]]) -> dict[int, str]:
        file_format = self.file_format()
        folder = self.folder() / self.spec.name
        folder.mkdir(parents=True, exist_ok=True)
        self.part += 1
        suffix = "" if self.part == 1 else f"_part{self.part}"
        target = folder / f"{self.context.started_at}_{self.context.run_id[:8]}{suffix}.{file_format}"
        table = pa.Table.from_pylist(items)
        partial = target.with_name(target.name + ".partial")
        if file_format == "csv":
            pa_csv.write_csv(table, partial)
        else:
            pq.write_table(table, partial)
        os.replace(partial, target)
        return {}


DESTINATION = FileDestination
