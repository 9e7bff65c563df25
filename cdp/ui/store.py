"""What the app reads and the one thing it writes.

Reads: the published copy (`<warehouse dir>/ui/published.duckdb`, see cdp/ui/publish.py),
opened read-only once per process and again whenever the nightly run has renamed a new copy
over it (its inode or modification time changed). Each request takes its own cursor: DuckDB
connections are not shared between threads, cursors of one connection are.

Writes: the profile-view log, a SQLite file beside the copy (`views.sqlite`). SQLite, not
DuckDB: many short writes from the app's threads while the nightly run reads the file to
copy it into the warehouse; SQLite's locking allows exactly that.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from cdp.errors import CdpError


class Published:
    """The read-only published copy, reopened when a newer one replaces it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._stamp: tuple[int, int] | None = None

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the newest copy (one per request)."""
        with self._lock:
            stamp = self._current_stamp()
            if self._con is None or stamp != self._stamp:
                self._con = self._open()
                self._stamp = stamp
            cursor = self._con.cursor()
        cursor.execute("use published")  # a cursor starts in the in-memory catalog
        return cursor

    def _open(self) -> duckdb.DuckDBPyConnection:
        """The copy attached read-only to a fresh in-memory database.

        Not `duckdb.connect(path)`: DuckDB caches one database per path in a process, so a
        second connect while requests still read the old copy would hand back the old file.
        The old connection is dropped, not closed (closing it would close the cursors of
        requests still reading the previous copy); it goes when the last of them does.
        """
        con = duckdb.connect(":memory:")
        path = str(self.path).replace("'", "''")
        con.execute(f"attach '{path}' as published (read_only)")
        return con

    def _current_stamp(self) -> tuple[int, int]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise CdpError(
                f"{self.path}: no published copy yet; the nightly run writes it at its end"
                " (or run: python -c 'from cdp.ui.publish import publish; publish(\"<warehouse>\")')"
            ) from None
        return stat.st_ino, stat.st_mtime_ns

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None


class ViewLog:
    """Who looked at which profile, and when: the app's own small store."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as log:
            log.execute(
                "create table if not exists profile_views (view_id integer primary key autoincrement,"
                " viewed_at text not null, viewer text not null, customer_id text not null, path text)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

    def record(self, viewer: str, customer_id: str, path: str) -> None:
        viewed_at = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        with self._connect() as log:
            log.execute(
                "insert into profile_views (viewed_at, viewer, customer_id, path) values (?, ?, ?, ?)",
                (viewed_at, viewer, customer_id, path),
            )

    def recent(self, limit: int = 50) -> list[tuple]:
        with self._connect() as log:
            return log.execute(
                "select viewed_at, viewer, customer_id, path from profile_views order by view_id desc limit ?",
                (limit,),
            ).fetchall()
