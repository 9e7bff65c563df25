"""Small demo universes, made once per test session, and readers for their files."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import ClassVar

import duckdb
import pandas
import pytest

from cdp.demo import people
from cdp.demo.rates import RATES
from cdp.demo.universe import generate

RATES_PERSONS = 3000  # enough records to measure a 2% rate to within about half a percent


@pytest.fixture(scope="session")
def small_universe(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small") / "universe"
    generate(out, persons=300, seed=7)
    return out


@pytest.fixture(scope="session")
def rates_universe(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("rates") / "universe"
    generate(out, persons=RATES_PERSONS, seed=11)
    return out


@pytest.fixture(scope="session")
def population() -> dict[str, people.Person]:
    """The hidden persons of `rates_universe`, re-made from the seed: the population truth."""
    persons = {}
    for batch in people.iter_batches(11, 0, RATES_PERSONS, RATES_PERSONS, RATES):
        persons.update((person.person_id, person) for person in batch)
    return persons


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


class Files:
    """SQL over one universe's files with DuckDB (every column read as text)."""

    GLOBS: ClassVar[dict[str, str]] = {
        "web": "web/events_*.jsonl",
        "app": "app/events_*.jsonl",
        "crm": "crm/contacts_*.jsonl",
        "email_events": "email/events_*.jsonl",
        "pos": "pos/store_*/*.csv",
        "email_subscribers": "email/subscribers_*.csv",
        "erp": "erp/invoices_*.csv",
        "partner": "partner/responses_*.csv",
        "broker": "broker/enrichment_*.parquet",
    }

    def __init__(self, folder: Path):
        self.folder = folder
        self.con = duckdb.connect()
        for name, pattern in self.GLOBS.items():
            path = f"{folder}/{pattern}"
            if not list(folder.glob(pattern)):
                continue
            if pattern.endswith(".jsonl"):
                reader = f"read_json('{path}', format='newline_delimited', filename=true, union_by_name=true)"
            elif pattern.endswith(".csv"):
                reader = f"read_csv('{path}', all_varchar=true, filename=true, union_by_name=true)"
            else:
                reader = f"read_parquet('{path}', filename=true)"
            self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {reader}")  # read the files once
        self._copy_shop(folder / "shop" / "shop.sqlite")
        self.con.execute(f"CREATE VIEW truth AS SELECT * FROM read_parquet('{folder}/truth.parquet')")

    def _copy_shop(self, path: Path) -> None:
        """The shop database as tables in schema `shop` (DuckDB's sqlite extension needs a download)."""
        self.con.execute("CREATE SCHEMA shop")
        with sqlite3.connect(path) as source:
            for (table,) in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                frame = pandas.read_sql_query(f"SELECT * FROM {table}", source)  # noqa: F841 (read by DuckDB)
                self.con.execute(f"CREATE TABLE shop.{table} AS SELECT * FROM frame")
        source.close()

    def rows(self, sql: str, *params) -> list[tuple]:
        return self.con.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params):
        return self.con.execute(sql, params).fetchone()[0]

    def ids(self, sql: str) -> set[str]:
        return {str(row[0]) for row in self.rows(sql)}


@pytest.fixture(scope="session")
def rates_files(rates_universe) -> Files:
    return Files(rates_universe)
