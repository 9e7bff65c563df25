"""Counts of one ingest run: per source and table, rows in / loaded / quarantined, files read and skipped.

Besides the counts, every problem is one line naming the file, the rows and the reason
(rows with the same reason in one file share a line), and notes say what the run decided
on its own: a changed file read again, a duplicate not loaded, a column renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_ROWS_SHOWN = 5


@dataclass
class TableStats:
    rows_in: int = 0
    loaded: int = 0
    quarantined: int = 0
    files_read: int = 0
    files_skipped: int = 0  # already loaded by an earlier run (or the same content under another name)
    file_problems: int = 0  # empty or unreadable files (recorded in _quarantine without a row)
    notes: list[str] = field(default_factory=list)
    problems: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # (file, reason) -> rows

    def add(self, result) -> None:
        """Count a `readers.BatchRead`."""
        for counts in result.files.values():
            self.files_read += 1
            self.rows_in += counts.rows_in
            self.loaded += counts.loaded
            self.quarantined += counts.quarantined
            self.file_problems += counts.problem is not None
        for note in result.notes:
            self.note(note)
        quarantine = result.quarantine.select(["source_file", "source_row", "field", "reason"]).to_pylist()
        for row in quarantine:
            reason = _kind_of(row["reason"])
            if row["field"]:
                reason = f"{row['field']}: {reason}"
            rows = self.problems.setdefault((row["source_file"], reason), [])
            if row["source_row"] is not None:
                rows.append(row["source_row"])

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def problem_lines(self) -> list[str]:
        lines = []
        for (source_file, reason), rows in self.problems.items():
            shown = ", ".join(map(str, rows[:MAX_ROWS_SHOWN])) + (
                f" (+{len(rows) - MAX_ROWS_SHOWN} more)" if len(rows) > MAX_ROWS_SHOWN else ""
            )
            where = f"{source_file} {'row' if len(rows) == 1 else 'rows'} {shown}" if rows else source_file
            lines.append(f"{where}: {reason}")
        return lines


def _kind_of(reason: str) -> str:
    """A reason without the value that failed, so rows with the same problem share a line."""
    for marker in ("not a valid ", "older than the version already loaded"):
        if reason.startswith(marker):
            return reason.split(":")[0]
    return reason


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

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.sources.values())

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

    def lines(self) -> list[tuple[str, str]]:
        """(kind, text): one line per problem (file, rows, reason), note, recovery and failed source."""
        found = []
        for source, s in self.sources.items():
            found += [("recovered", f"{source}: {note}") for note in s.recovered]
            for table, t in s.tables.items():
                found += [("problem", f"{source}.{table}: {line}") for line in t.problem_lines()]
                found += [("note", f"{source}.{table}: {note}") for note in t.notes]
            if s.error:
                found.append(("failed", f"{source}: FAILED: {s.error}"))
        return found

    def render(self):
        """A rich table of the counts, then one line per problem, note and failed source."""
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        view = Table(title="cdp ingest", caption="skipped = files already loaded; problems = empty or unreadable files")
        for column in ("source", "table", "loaded", "quarantined", "read", "skipped", "problems"):
            view.add_column(column, justify="left" if column in ("source", "table") else "right")
        for row in self.rows():
            view.add_row(*(str(value) for value in row.values()))
        for source, error in self.failed.items():
            view.add_row(source, "[red]FAILED[/red]", "", "", "", "", error)
        style = {"problem": "yellow", "note": "dim", "recovered": "cyan", "failed": "red"}
        return Group(view, *(Text(text, style=style[kind]) for kind, text in self.lines()))

    def __str__(self) -> str:
        lines = [
            f"{r['source']}.{r['table']}: loaded {r['loaded']}, quarantined {r['quarantined']}, "
            f"skipped {r['files_skipped']} files already loaded"
            for r in self.rows()
        ]
        return "\n".join(lines + [text for _, text in self.lines()])
