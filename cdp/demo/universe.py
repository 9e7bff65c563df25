"""The demo universe: one hidden population written into every source (docs/architecture.md §1).

    from cdp.demo.universe import generate, advance
    manifest = generate(Path("data/demo"), persons=5000, seed=42)
    manifest = advance(Path("data/demo"))          # one more day

Persons are replayed batch by batch (cdp.demo.people, cdp.demo.life); each batch's
rows are appended to the day files and the shop database before the next batch
is made, so memory stays bounded at any population size. Output is a pure
function of (seed, persons, days): no wall clock, fixed row order, fixed
Parquet and SQLite settings.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cdp.demo import people, world
from cdp.demo.layout import SHOP_PATH, SHOP_TABLES, DayFiles, connect_shop, parquet_options, upsert
from cdp.demo.life import live
from cdp.demo.rates import RATES, Rates
from cdp.errors import CdpError

MAX_PERSONS = 5_000_000  # ids stay unique well beyond this (7-digit email numbers: 10M persons)

TRUTH_SCHEMA = pa.schema([("source", pa.string()), ("source_record_id", pa.string()), ("person_id", pa.string())])
CASH_SALES_PER_STORE_DAY = 0.002  # anonymous cash sales (not person-bearing), per initial person


class BatchRows:
    """Collects one batch of persons' rows, keeping those whose file day is in [lo, hi]."""

    def __init__(self, lo: int, hi: int):
        self.lo, self.hi = lo, hi
        self.rows: dict[tuple[str, str, int], list[dict]] = defaultdict(list)
        self.shop_rows: dict[str, list[dict]] = defaultdict(list)
        self.truth: list[tuple[str, str, str]] = []
        self._first_seen: dict[tuple[str, str], int] = {}

    def row(self, stream: str, day: int, row: dict, key: str = "") -> None:
        if self.lo <= day <= self.hi:
            self.rows[(stream, key, day)].append(row)

    def shop(self, table: str, row: dict) -> None:
        self.shop_rows[table].append(row)

    def seen(self, source: str, record_id: str, day: int) -> None:
        known = self._first_seen.get((source, record_id))
        if known is None or day < known:
            self._first_seen[(source, record_id)] = day

    def end_person(self, person_id: str) -> None:
        """Records first written inside the window go into the truth."""
        for (source, record_id), day in self._first_seen.items():
            if self.lo <= day <= self.hi:
                self.truth.append((source, record_id, person_id))
        self._first_seen.clear()


class Writer:
    """Appends batches to the universe's files in a folder; one per generate/advance run."""

    def __init__(self, folder: Path, truth_path: Path):
        self.folder = folder
        self.counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.truth_counts: dict[str, int] = defaultdict(int)
        self.files = DayFiles(folder)
        self._truth = pq.ParquetWriter(truth_path, TRUTH_SCHEMA, **parquet_options())
        self.shop = connect_shop(folder)

    def append_truth(self, table: pa.Table) -> None:
        self._truth.write_table(table)

    def write(self, batch: BatchRows) -> None:
        for stream, key, day in sorted(batch.rows):
            rows = batch.rows[(stream, key, day)]
            self.files.append(stream, world.day_date(day), rows, key)
            self.counts[stream][world.day_date(day).isoformat()] += len(rows)
        for table, rows in batch.shop_rows.items():
            upsert(self.shop, table, rows)
        self.shop.commit()
        if batch.truth:
            sources, ids, persons = zip(*batch.truth, strict=True)
            self.append_truth(pa.table([list(sources), list(ids), list(persons)], schema=TRUTH_SCHEMA))
            for source in sources:
                self.truth_counts[source] += 1

    def close(self) -> None:
        self.files.close()
        self._truth.close()
        self.shop.close()


def _products(first_day: int) -> list[dict]:
    stamp = world.timestamp(first_day, 0)
    return [
        {
            "product_id": p.product_id,
            "name": p.name,
            "category": p.category,
            "price": p.price,
            "currency": "EUR",
            "updated_at": stamp,
        }
        for p in world.PRODUCTS
    ]


def _cash_sales(batch: BatchRows, seed: int, initial_persons: int, day: int) -> None:
    """Anonymous cash sales: real store traffic that names nobody (so it is not in the truth)."""
    for store, country in sorted(world.STORE_COUNTRY.items()):
        rng = random.Random(f"{seed}:cash:{store}:{day}")
        currency = world.COUNTRY_BY_CODE[country].currency
        for _ in range(round(initial_persons * CASH_SALES_PER_STORE_DAY * (0.5 + rng.random()))):
            transaction_id, second = f"T{rng.getrandbits(64):016x}", rng.randint(9 * 3600, 20 * 3600)
            for line_no in range(1, 2 + (rng.random() < 0.3)):
                product = rng.choice(world.PRODUCTS)
                batch.row(
                    "pos",
                    day,
                    {
                        "transaction_id": transaction_id,
                        "line_no": line_no,
                        "store_id": store,
                        "occurred_at": world.timestamp(day, second),
                        "loyalty_card": None,
                        "email": None,
                        "phone": None,
                        "product_id": product.product_id,
                        "quantity": 1,
                        "unit_price": product.price,
                        "currency": currency,
                    },
                    key=store,
                )


def _simulate(
    folder: Path,
    truth_path: Path,
    *,
    seed: int,
    initial_persons: int,
    total_persons: int,
    first_index: int,
    lo: int,
    hi: int,
    rates: Rates,
    on_batch=None,
) -> Writer:
    """Replay persons [0, total_persons) up to day `hi`, writing what lands in [lo, hi]."""
    writer = Writer(folder, truth_path)
    try:
        if lo == 0:
            upsert(writer.shop, "products", _products(lo))
        for day in range(lo, hi + 1):  # one day at a time: bounded memory at any size
            cash = BatchRows(lo, hi)
            _cash_sales(cash, seed, initial_persons, day)
            writer.write(cash)
        for persons in people.iter_batches(seed, first_index, total_persons, initial_persons, rates):
            batch = BatchRows(lo, hi)
            for person in persons:
                live(person, rates, batch, seed)
                batch.end_person(person.person_id)
            writer.write(batch)
            if on_batch:
                on_batch(len(persons))
    finally:
        writer.close()
    return writer


def _manifest(
    seed: int,
    initial_persons: int,
    total_persons: int,
    hi: int,
    writer: Writer,
    folder: Path,
    rates: Rates,
    previous: dict | None = None,
) -> dict:
    old_files = (previous or {}).get("counts", {}).get("files", {})
    files = {stream: dict(counted["per_day"]) for stream, counted in old_files.items()}
    for stream, per_day in writer.counts.items():
        files.setdefault(stream, {}).update(per_day)
    files = {
        stream: {"rows": sum(d.values()), "per_day": dict(sorted(d.items()))} for stream, d in sorted(files.items())
    }
    truth = dict((previous or {}).get("counts", {}).get("truth", {}))
    for source, count in writer.truth_counts.items():
        truth[source] = truth.get(source, 0) + count
    with sqlite3.connect(folder / SHOP_PATH) as connection:
        shop = {table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in SHOP_TABLES}
    connection.close()
    return {
        "seed": seed,
        "persons": initial_persons,
        "persons_total": total_persons,
        "current_date": world.day_date(hi).isoformat(),
        "first_date": world.FIRST_DAY.isoformat(),
        "history_days": world.HISTORY_DAYS,
        "days_advanced": hi - (world.HISTORY_DAYS - 1),
        "rates": rates.as_dict(),
        "counts": {"files": files, "shop": shop, "truth": dict(sorted(truth.items()))},
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise CdpError(f"{out}: output path exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise CdpError(f"{out}: output folder is not empty (use --force to replace it, or --advance to add a day)")
    parent = out.parent
    if parent.exists() and not os.access(parent, os.W_OK):
        raise CdpError(f"{parent}: cannot write here (permission denied)")


def _partial_folder(out: Path, what: str) -> Path:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.parent / f".{out.name}.{what}-{os.getpid()}"
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir()
    except OSError as error:
        raise CdpError(f"{out}: cannot create the output folder: {error.strerror or error}") from None
    return partial


def generate(out: Path, persons: int = 5000, seed: int = 42, force: bool = False, on_batch=None) -> dict:
    """Write a fresh universe of `persons` persons with `history_days` of history into `out`.

    Everything is written into a hidden folder beside `out` and renamed into place at
    the end, so a failure leaves nothing half-written. Returns the manifest.
    """
    out = Path(out)
    if not isinstance(persons, int) or not 1 <= persons <= MAX_PERSONS:
        raise CdpError(f"--persons: must be a whole number from 1 to {MAX_PERSONS:,}, got {persons!r}")
    if not isinstance(seed, int) or seed < 0:
        raise CdpError(f"--seed: must be a whole number >= 0, got {seed!r}")
    _check_target(out, force)
    partial = _partial_folder(out, "partial")
    try:
        hi = world.HISTORY_DAYS - 1
        writer = _simulate(
            partial,
            partial / "truth.parquet",
            seed=seed,
            initial_persons=persons,
            total_persons=persons,
            first_index=0,
            lo=0,
            hi=hi,
            rates=RATES,
            on_batch=on_batch,
        )
        manifest = _manifest(seed, persons, persons, hi, writer, partial, RATES)
        _write_json(partial / "manifest.json", manifest)
        _swap_into_place(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _swap_into_place(partial: Path, out: Path) -> None:
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        out.rename(old)
    partial.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_manifest(out: Path) -> dict:
    path = Path(out) / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CdpError(f"{path}: no demo universe here (run `cdp generate` first)") from None
    except json.JSONDecodeError as error:
        raise CdpError(f"{path}:{error.lineno}: not valid JSON: {error.msg}") from None


def advance(out: Path, on_batch=None) -> dict:
    """Write the next day into an existing universe: new persons, updates, events; truth grows.

    Day files of earlier days are left untouched; shop.sqlite, truth.parquet and
    manifest.json are replaced by their updated versions.
    """
    out = Path(out)
    manifest = read_manifest(out)
    if manifest.get("rates") != RATES.as_dict():
        raise CdpError(f"{out / 'manifest.json'}: rates: made with other rates than this version of cdp; regenerate")
    seed, initial = manifest["seed"], manifest["persons"]
    day = world.day_of(world.date.fromisoformat(manifest["current_date"])) + 1
    total = manifest["persons_total"] + people.new_persons_per_day(initial)
    partial = _partial_folder(out, "advance")
    try:
        (partial / SHOP_PATH).parent.mkdir()
        shutil.copyfile(out / SHOP_PATH, partial / SHOP_PATH)
        new_truth = partial / "truth.parquet"
        writer = _simulate(
            partial,
            new_truth.with_suffix(".new"),
            seed=seed,
            initial_persons=initial,
            total_persons=total,
            first_index=0,
            lo=day,
            hi=day,
            rates=RATES,
            on_batch=on_batch,
        )
        _concat_parquet([out / "truth.parquet", new_truth.with_suffix(".new")], new_truth)
        new_truth.with_suffix(".new").unlink()
        updated = _manifest(seed, initial, total, day, writer, partial, RATES, previous=manifest)
        _write_json(partial / "manifest.json", updated)
        _move_in(partial, out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return updated


def _concat_parquet(parts: list[Path], target: Path) -> None:
    with pq.ParquetWriter(target, TRUTH_SCHEMA, **parquet_options()) as writer:
        for part in parts:
            for batch in pq.ParquetFile(part).iter_batches(batch_size=200_000):
                writer.write_table(pa.Table.from_batches([batch], schema=TRUTH_SCHEMA))


def _move_in(partial: Path, out: Path) -> None:
    """New day files first (they must not exist yet), then the database, truth and manifest."""
    mutable = {SHOP_PATH, Path("truth.parquet"), Path("manifest.json")}
    new_files = sorted(p.relative_to(partial) for p in partial.rglob("*") if p.is_file())
    clashes = [str(p) for p in new_files if p not in mutable and (out / p).exists()]
    if clashes:
        raise CdpError(f"{out / clashes[0]}: already exists; this day was written before")
    for relative in [p for p in new_files if p not in mutable] + sorted(mutable):
        (out / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial / relative, out / relative)
