"""Counts of one ingest run: per source and table, rows loaded / quarantined, files skipped."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TableStats:
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    files_read: int = 0
    files_skipped: int = 0  # already loaded by an earlier run
    file_problems: int = 0  # empty or unreadable files (recorded in _quarantine without a row)

    def add(self, result) -> None:
        """Count a `readers.BatchRead`."""
        for counts in result.files.values():
            self.files_read += 1
            self.rows_in += counts.rows_in
            self.loaded += counts.loaded
            self.quarantined += counts.quarantined
            self.file_problems += counts.problem is not None


@dataclass
class SourceStats:
    tables: dict[str, TableStats] = field(default_factory=dict)
    error: str | None = None  # set when the source could not be read at all
    recovered: list[str] = field(default_factory=list)  # notes on unfinished packages of an earlier run

    def table(self, name: str) -> TableStats:
        return self.tables.setdefault(name, TableStats())

    @property
    def loaded(self) -> int:
        return sum(t.loaded for t in self.tables.values())

    @property
    def quarantined(self) -> int:
        return sum(t.quarantined for t in self.tables.values())

    @property
    def files_skipped(self) -> int:
        return sum(t.files_skipped for t in self.tables.values())


@dataclass
class IngestSummary:
    sources: dict[str, SourceStats] = field(default_factory=dict)

    @property
    def failed(self) -> dict[str, str]:
        """Sources that could not be read at all, with the reason."""
        return {name: s.error for name, s in self.sources.items() if s.error}

    @property
    def loaded(self) -> int:
        return sum(s.loaded for s in self.sources.values())

    def rows(self) -> list[dict]:
        """One row per source and table, for printing or logging."""
        return [
            {
                "source": source,
                "table": table,
                "loaded": t.loaded,
                "quarantined": t.quarantined,
                "files_read": t.files_read,
                "files_skipped": t.files_skipped,
                "file_problems": t.file_problems,
            }
            for source, s in self.sources.items()
            for table, t in s.tables.items()
        ]

    def render(self):
        """A rich table: loaded, quarantined, skipped as already loaded, per source and table."""
        from rich.table import Table

        view = Table(title="cdp ingest", caption="skipped = files already loaded; problems = empty or unreadable files")
        for column in ("source", "table", "loaded", "quarantined", "read", "skipped", "problems"):
            view.add_column(column, justify="left" if column in ("source", "table") else "right")
        for row in self.rows():
            view.add_row(*(str(value) for value in row.values()))
        for source, error in self.failed.items():
            view.add_row(source, "[red]FAILED[/red]", "", "", "", "", error)
        return view

    def __str__(self) -> str:
        lines = [
            f"{r['source']}.{r['table']}: loaded {r['loaded']}, quarantined {r['quarantined']}, "
            f"skipped {r['files_skipped']} files already loaded"
            for r in self.rows()
        ]
        lines += [f"{source}: FAILED: {error}" for source, error in self.failed.items()]
        return "\n".join(lines)
