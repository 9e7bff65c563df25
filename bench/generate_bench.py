"""Benchmark `cdp generate`: wall time, CPU time and peak memory at 5,000 and 1,000,000 persons.

    python -m bench.generate_bench                      # both sizes (1,000,000 takes a while)
    python -m bench.generate_bench --persons 5000       # one size

Each size runs `cdp generate` (then `cdp generate --advance`, up to --advance-max persons:
advancing replays every person, so at 1,000,000 it costs about as much as generating) as a child process,
measured by bench.measure (os.wait4 rusage plus a psutil process-tree sampler).
Figures are merged by size into bench/results/generate.json and rendered into
bench/results/generate.md together with the exact command. The universe itself
goes to a scratch folder and is deleted afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.measure import run_measured

RESULTS = Path(__file__).parent / "results"
DEFAULT_SIZES = (5_000, 1_000_000)


def folder_size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def bench_size(persons: int, seed: int, scratch: Path, advance_max: int) -> dict:
    out = scratch / f"universe-{persons}"
    command = [
        sys.executable,
        "-m",
        "cdp.cli",
        "generate",
        "--persons",
        str(persons),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--force",
    ]
    generated = run_measured(f"generate {persons}", command, log_path=scratch / f"generate-{persons}.log")
    if generated.returncode != 0:
        raise SystemExit(f"cdp generate failed, see {scratch / f'generate-{persons}.log'}")
    manifest = json.loads((out / "manifest.json").read_text())
    advanced = None
    if persons <= advance_max:
        advanced = run_measured(
            f"advance {persons}",
            [*command[:4], "--out", str(out), "--advance"],
            log_path=scratch / f"advance-{persons}.log",
        ).as_dict()
    figures = {
        "persons": persons,
        "seed": seed,
        "command": " ".join(["cdp", *command[3:]]).replace(str(out), "DIR"),
        "generate": generated.as_dict(),
        "advance_one_day": advanced,
        "output_mb": round(folder_size_mb(out), 1),
        "files": sum(1 for p in out.rglob("*") if p.is_file()),
        "person_records": sum(manifest["counts"]["truth"].values()),
        "rows_written": sum(stream["rows"] for stream in manifest["counts"]["files"].values()),
    }
    shutil.rmtree(out)
    return figures


def git_commit() -> str:
    """The code measured (a dirty tree is marked: its figures may not match any commit)."""
    root = Path(__file__).parent.parent
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "cdp/demo"], cwd=root, capture_output=True, text=True)
    return head.stdout.strip() + (" (cdp/demo modified)" if dirty.stdout.strip() else "")


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_results(runs: dict[str, dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generate.json").write_text(json.dumps(runs, indent=2) + "\n")
    lines = [
        "# `cdp generate` benchmark",
        "",
        "Measured by `python -m bench.generate_bench` (bench/generate_bench.py): each row is one child",
        "process; peak RSS is the larger of os.wait4's ru_maxrss and a psutil process-tree sample.",
        "The machine is shared with other work, so wall time is an upper bound; CPU time is steadier.",
        "",
        "| persons | command | wall s | CPU s | peak RSS MB | advance 1 day: wall s / peak MB | person records | rows written | output MB | measured |",
        "|---:|---|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for run in sorted(runs.values(), key=lambda r: r["persons"]):
        g, a = run["generate"], run["advance_one_day"]
        advanced = f"{a['wall_s']:.1f} / {a['peak_rss_mb']:.0f}" if a else "not measured"
        lines.append(
            f"| {run['persons']:,} | `{run['command']}` | {g['wall_s']:.1f} | {g['cpu_s']:.1f} | {g['peak_rss_mb']:.0f} "
            f"| {advanced} | {run['person_records']:,} | {run['rows_written']:,} "
            f"| {run['output_mb']:,} | {run['measured_at']} on {run['machine']['cpus']} CPUs, {run['machine']['memory_gb']} GB |"
        )
    notes = [f"- {run['persons']:,} persons: {run['note']}" for run in runs.values() if run.get("note")]
    if notes:
        lines += ["", *notes]
    (RESULTS / "generate.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--advance-max", type=int, default=100_000, help="Measure --advance up to this size.")
    parser.add_argument("--scratch", type=Path, default=None, help="Where the universes are written (deleted after).")
    args = parser.parse_args()
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="cdp-generate-bench-"))
    scratch.mkdir(parents=True, exist_ok=True)
    for persons in args.persons:
        figures = bench_size(persons, args.seed, scratch, args.advance_max)
        figures["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        figures["machine"] = machine()
        figures["commit"] = git_commit()
        # merged into what is on file now (another size may have been measured meanwhile)
        previous = RESULTS / "generate.json"
        runs = json.loads(previous.read_text()) if previous.exists() else {}
        runs[str(persons)] = figures
        write_results(runs)  # after each size, so a long run keeps what it measured
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
