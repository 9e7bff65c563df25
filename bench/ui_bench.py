"""Benchmark the marketer workspace: median answer time of every page and API call on a built warehouse.

    python -m bench.ui_bench --warehouse /tmp/w/cdp.duckdb          # a warehouse a nightly run built
    python -m bench.ui_bench --persons 100000 --work bench/work/ui  # build one first (generate + cdp run)
    python -m bench.ui_bench --warehouse FILE --screenshots docs/ui  # and a PNG of each page

The warehouse is published first (cdp/ui/publish.py, as the nightly run does), then the app
runs under uvicorn on a local port and each path is asked `--repeat` times over HTTP after one
warm-up; the figure is the median wall time from request to the last byte. Profile views go
to a scratch log, not the warehouse's. Figures go to bench/results/ui.md (and ui.json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import duckdb
import httpx

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 300


def build(persons: int, work: Path) -> Path:
    """`cdp run` on a demo universe of `persons` (generated if missing) into work/warehouse/cdp.duckdb."""
    from dagster_project.nightly import run_pipeline

    warehouse = work / "warehouse" / "cdp.duckdb"
    run_pipeline(
        persons=persons,
        seed=42,
        data_dir=work / "data",
        warehouse=warehouse,
        dagster_home=work / "dagster_home",
        demo=True,
    )
    return warehouse


def paths(published: Path) -> dict[str, str]:
    """What a marketer opens: every page and API call, with real names and people from the warehouse."""
    with duckdb.connect(str(published), read_only=True) as con:
        segment = con.execute(
            "select segment from ui.segment_size_history qualify row_number() over (partition by segment order by run_at desc) = 1 order by size desc limit 1"
        ).fetchone()[0]
        customer, email = con.execute(
            "select customer_id, email from marts.customer_360 where email is not null order by source_record_count desc limit 1"
        ).fetchone()
        sync = con.execute("select sync_name from reverse_etl.sync_runs order by started_at desc limit 1").fetchone()[0]
    return {
        "segments": "/segments",
        "segment (largest)": f"/segments/{segment}",
        "segment members, searched": f"/segments/{segment}?search=a&page=2",
        "profile search by email": f"/profiles?q={quote(email)}",
        "profile search by name": "/profiles?by=name&q=anna",
        "profile (largest cluster)": f"/profiles/{customer}",
        "syncs": "/syncs",
        "one sync": f"/syncs/{sync}",
        "identity": "/identity",
        "api segments": "/api/segments",
        "api segment": f"/api/segments/{segment}",
        "api members": f"/api/segments/{segment}/members?per_page=100",
        "api profiles by email": f"/api/profiles?email={quote(email)}",
        "api profile": f"/api/profiles/{customer}",
        "api sync runs": "/api/syncs/runs",
        "api identity": "/api/identity",
    }


def serve(warehouse: Path, views_file: Path):
    import uvicorn

    from cdp.ui.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(warehouse, views_file=views_file), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def measure(base: str, named: dict[str, str], repeat: int) -> list[dict]:
    rows = []
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, path in named.items():
            assert client.get(path).status_code == 200, path  # warm-up: the first open of the copy, caches
            times = []
            for _ in range(repeat):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            rows.append(
                {
                    "page": name,
                    "path": path,
                    "median_ms": statistics.median(times),
                    "max_ms": max(times),
                    "bytes": len(response.content),
                }
            )
    return rows


SCREENSHOTS = {  # file name -> page name in paths()
    "segments": "segments",
    "segment": "segment (largest)",
    "profiles": "profile search by email",
    "profile": "profile (largest cluster)",
    "syncs": "syncs",
    "sync": "one sync",
    "identity": "identity",
}


def screenshots(base: str, named: dict[str, str], folder: Path) -> None:
    """A PNG of each page in headless Chromium (Debian's, as the browser tests use), for the README."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for file_name, page_name in SCREENSHOTS.items():
            page.goto(base + named[page_name])
            page.screenshot(path=str(folder / f"{file_name}.png"))
        browser.close()


def scale(published: Path) -> dict:
    with duckdb.connect(str(published), read_only=True) as con:
        return {
            "customers": con.execute("select count(*) from marts.customer_360").fetchone()[0],
            "records": con.execute("select count(*) from identity.record_customers").fetchone()[0],
            "events": con.execute("select count(*) from marts.customer_events").fetchone()[0],
        }


def report(rows: list[dict], figures: dict, command: str, publish_s: float) -> str:
    lines = [
        "# `cdp ui` benchmark",
        "",
        f"Measured by `{command}` (bench/ui_bench.py): the warehouse published (as the nightly run does at its end),",
        "then every page and API call asked over HTTP from a local uvicorn server, one warm-up and then",
        f"{figures['repeat']} times each; the median and the slowest wall time from request to last byte. Target: median ≤ {TARGET_MS} ms.",
        "",
        f"Scale: {figures['persons'] or 'the given warehouse'} persons → {figures['customers']:,} customers, {figures['records']:,} source records, "
        f"{figures['events']:,} events. Publish step: {f'{publish_s:.1f} s' if publish_s else 'not run'}. Measured {figures['measured']} on {figures['machine']}.",
        "",
        f"Load average when measured: {figures['load']} (other jobs share the CPUs). A warehouse built by `--persons N`"
        " is `cdp run --persons N --seed 42` on a fresh demo universe: one night, so each segment has one history row.",
        "",
        "| page | path | median ms | max ms | KB | ≤ target |",
        "|---|---|---:|---:|---:|:-:|",
    ]
    for row in rows:
        ok = "yes" if row["median_ms"] <= TARGET_MS else "**no**"
        lines.append(
            f"| {row['page']} | `{row['path'][:60]}` | {row['median_ms']:.0f} | {row['max_ms']:.0f} | {row['bytes'] / 1024:.0f} | {ok} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", type=Path, help="a built warehouse (default: build one with --persons)")
    parser.add_argument(
        "--persons",
        type=int,
        default=0,
        help="build a demo warehouse of this many persons first (with --warehouse: its scale, for the report)",
    )
    parser.add_argument("--work", type=Path, default=Path("bench/work/ui"), help="where --persons builds")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--screenshots", type=Path, help="also write a PNG of each page into this folder")
    parser.add_argument("--no-publish", action="store_true", help="use the published copy already there")
    args = parser.parse_args()
    from cdp.ui.publish import publish, published_path

    warehouse = args.warehouse or build(args.persons, args.work.resolve())
    started = time.perf_counter()
    published = published_path(warehouse) if args.no_publish else publish(warehouse)
    publish_s = 0.0 if args.no_publish else time.perf_counter() - started
    with tempfile.TemporaryDirectory() as scratch:
        server, base = serve(warehouse, Path(scratch) / "views.sqlite")
        try:
            named = paths(published)
            rows = measure(base, named, args.repeat)
            if args.screenshots:
                screenshots(base, named, args.screenshots)
        finally:
            server.should_exit = True
    figures = {
        **scale(published),
        "persons": args.persons,
        "repeat": args.repeat,
        "measured": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()}",
        "load": " / ".join(f"{value:.1f}" for value in os.getloadavg()),
    }
    command = "python -m bench.ui_bench " + " ".join(sys.argv[1:])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ui.json").write_text(json.dumps({"figures": figures, "publish_s": publish_s, "pages": rows}, indent=2))
    (RESULTS / "ui.md").write_text(report(rows, figures, command, publish_s))
    print((RESULTS / "ui.md").read_text())


if __name__ == "__main__":
    main()
