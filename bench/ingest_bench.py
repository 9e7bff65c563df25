"""Benchmark `cdp ingest` per source against DuckDB's own readers on the same files.

    python -m bench.ingest_bench --persons 100000            # generate (or reuse) and measure
    python -m bench.ingest_bench --data-dir DIR              # measure an existing universe

For each source, in the same run and one after the other: our loader (`run_ingest`
for that source into a fresh warehouse: parse, validate, quarantine, manifest, dlt
extract / normalize / load) and the baseline (bench.native_read: DuckDB's
read_json / read_csv / read_parquet of exactly the same files into a DuckDB file,
no validation; the shop's SQLite tables copied through sqlite3 because DuckDB's
sqlite extension is a download). Each side runs as its own child process measured
by bench.measure (wall, CPU, peak RSS). The figure that matters is the ratio of wall
times. Then a second ingest of every source with nothing new (skips only).

Writes bench/results/ingest.json and bench/results/ingest.md, with the command.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import time
from pathlib import Path

import psutil

from bench.measure import run_measured

RESULTS = Path(__file__).parent / "results"
WORK = Path(__file__).parent / "work"
TARGET_RATIO = 3.0


def measure_source(name: str, data_dir: Path, scratch: Path) -> dict:
    ours_warehouse, native_warehouse = scratch / f"ours-{name}.duckdb", scratch / f"native-{name}.duckdb"
    child = [sys.executable, "-m", "bench.ingest_bench", "--data-dir", str(data_dir)]
    ours = run_measured(
        f"ingest {name}",
        [*child, "--child", "ingest", name, str(ours_warehouse)],
        log_path=scratch / f"ingest-{name}.log",
    )
    native = run_measured(
        f"native {name}",
        [*child, "--child", "native", name, str(native_warehouse)],
        log_path=scratch / f"native-{name}.log",
    )
    again = run_measured(
        f"re-ingest {name}",
        [*child, "--child", "ingest", name, str(ours_warehouse)],
        log_path=scratch / f"reingest-{name}.log",
    )
    for measured in (ours, native, again):
        if measured.returncode != 0:
            raise SystemExit(f"{measured.stage} failed; see the logs in {scratch}")
    rows = json.loads(ours_warehouse.with_suffix(".rows.json").read_text())
    return {
        "source": name,
        "rows_loaded": rows["loaded"],
        "rows_quarantined": rows["quarantined"],
        "ingest": ours.as_dict(),
        "native_duckdb": native.as_dict(),
        "ratio_wall": round(ours.wall_s / native.wall_s, 2),
        "ratio_cpu": round(ours.cpu_s / native.cpu_s, 2),
        "re_ingest_nothing_new": again.as_dict(),
    }


def run_child(kind: str, name: str, warehouse: Path, data_dir: Path) -> None:
    """One side of one comparison, in its own process so its peak memory is its own."""
    if kind == "ingest":
        from ingest.runner import run_ingest

        summary = run_ingest([name], warehouse=warehouse, data_dir=data_dir)
        if summary.failed:
            raise SystemExit(f"{name} failed: {summary.failed[name]}")
        stats = summary.sources[name]
        counts = {"loaded": stats.loaded, "quarantined": stats.quarantined}
        if stats.loaded:  # the first run's figures (a re-run loads nothing)
            warehouse.with_suffix(".rows.json").write_text(json.dumps(counts))
        return
    import duckdb

    from bench.native_read import read_files_source, read_sqlite_source
    from ingest.config import FilesSource, load_config

    spec = load_config().sources[name]
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(f"create schema if not exists native_{name}")
        reader = read_files_source if isinstance(spec, FilesSource) else read_sqlite_source
        print(json.dumps(reader(connection, name, spec, data_dir)))


def ensure_universe(persons: int, seed: int) -> Path:
    data_dir = WORK / f"ingest_{persons}" / "data"
    if not (data_dir / "manifest.json").exists():
        from cdp.demo.universe import generate

        print(f"generating {persons:,} persons into {data_dir} ...", flush=True)
        generate(data_dir, persons, seed, force=True)
    return data_dir


def to_markdown(result: dict) -> str:
    lines = [
        "# `cdp ingest` benchmark",
        "",
        f"Command: `{result['command']}`  ",
        f"Universe: {result['universe']}  ",
        f"Machine: {result['machine']} (shared with other work while measured: wall times are upper bounds)  ",
        f"Measured: {result['measured_at']}",
        "",
        "Each cell is one child process (bench.measure: os.wait4 rusage + psutil tree sampling). "
        "`native` = DuckDB's own read_json / read_csv / read_parquet of the same files into a DuckDB "
        "file (bench/native_read.py), no validation. ratio = ingest / native (target <= 3); on a shared machine the CPU ratio is the steadier figure.",
        "",
        "| source | rows loaded | quarantined | ingest wall s | ingest CPU s | ingest peak MB "
        "| native wall s | native CPU s | native peak MB | ratio wall | ratio CPU | re-run (nothing new) wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in result["sources"]:
        lines.append(
            f"| {s['source']} | {s['rows_loaded']:,} | {s['rows_quarantined']:,} | {s['ingest']['wall_s']:.1f} "
            f"| {s['ingest']['cpu_s']:.1f} | {s['ingest']['peak_rss_mb']:.0f} | {s['native_duckdb']['wall_s']:.1f} "
            f"| {s['native_duckdb']['cpu_s']:.1f} | {s['native_duckdb']['peak_rss_mb']:.0f} | {s['ratio_wall']:.2f} "
            f"| {s['ratio_cpu']:.2f} | {s['re_ingest_nothing_new']['wall_s']:.1f} |"
        )
    total = result["total"]
    lines.append(
        f"| **all** | {total['rows_loaded']:,} | | **{total['ingest_wall_s']:.1f}** | **{total['ingest_cpu_s']:.1f}** | | "
        f"**{total['native_wall_s']:.1f}** | **{total['native_cpu_s']:.1f}** | | **{total['ratio_wall']:.2f}** "
        f"| **{total['ratio_cpu']:.2f}** | |"
    )
    lines += [
        "",
        "Fixed cost: every child process pays Python start-up and imports (dlt, duckdb, pyarrow) of "
        f"about {result['import_baseline']['wall_s']:.1f} s wall / "
        f"{result['import_baseline']['peak_rss_mb']:.0f} MB (measured alone: `{result['import_baseline']['command']}`); "
        "it is inside both columns and dominates small sources.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--data-dir", type=Path, help="an existing universe (skips generation)")
    parser.add_argument("--source", action="append", help="only these sources (default: all enabled)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "SOURCE", "WAREHOUSE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, name, warehouse = args.child
        return run_child(kind, name, Path(warehouse), args.data_dir.resolve())

    data_dir = (args.data_dir or ensure_universe(args.persons, args.seed)).resolve()
    manifest = json.loads((data_dir / "manifest.json").read_text())
    from ingest.config import load_config

    names = args.source or list(load_config().enabled())
    scratch = WORK / "ingest_scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    imports = [sys.executable, "-c", "import dlt, duckdb, pyarrow, ingest.runner, ingest.files"]
    import_baseline = {
        **run_measured("imports", imports).as_dict(),
        "command": "python -c 'import dlt, duckdb, pyarrow, ingest.runner, ingest.files'",
    }
    sources = []
    for name in names:
        print(f"{name} ...", flush=True)
        sources.append(measure_source(name, data_dir, scratch))
        print(json.dumps(sources[-1]), flush=True)
    ingest_wall = sum(s["ingest"]["wall_s"] for s in sources)
    native_wall = sum(s["native_duckdb"]["wall_s"] for s in sources)
    ingest_cpu = sum(s["ingest"]["cpu_s"] for s in sources)
    native_cpu = sum(s["native_duckdb"]["cpu_s"] for s in sources)
    command = "python -m bench.ingest_bench " + " ".join(sys.argv[1:])
    result = {
        "command": command.strip(),
        "universe": f"{manifest['persons']:,} persons, seed {manifest['seed']}, {manifest['history_days']} days "
        f"(generated by cdp.demo.universe.generate)",
        "machine": f"{platform.machine()}, {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GB",
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "import_baseline": import_baseline,
        "sources": sources,
        "total": {
            "rows_loaded": sum(s["rows_loaded"] for s in sources),
            "ingest_wall_s": round(ingest_wall, 1),
            "native_wall_s": round(native_wall, 1),
            "ratio_wall": round(ingest_wall / native_wall, 2),
            "ingest_cpu_s": round(ingest_cpu, 1),
            "native_cpu_s": round(native_cpu, 1),
            "ratio_cpu": round(ingest_cpu / native_cpu, 2),
        },
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=1) + "\n")
    (RESULTS / "ingest.md").write_text(to_markdown(result))
    print(to_markdown(result))
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
