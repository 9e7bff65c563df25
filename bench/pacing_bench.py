"""Benchmark pacing: the busiest window of requests a destination receives, against its declared limit.

    python -m bench.pacing_bench                 # HubSpot, Mailchimp, webhook, Klaviyo (about 100 s)
    python -m bench.pacing_bench --only mailchimp

For each destination, the engine's own Sender (the declared rate limits and concurrency of
the destination's class, as a sync uses them) sends requests from as many threads as the
destination allows to a local server that records when each request arrives. The figure is
the most requests that arrived in any window of each declared period (a window starting at
every arrival), next to the declared limit; enough requests are sent to fill more than one
window. Figures go to bench/results/pacing.json and bench/results/pacing.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import platform
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cdp.activate.delivery import DeliveryPolicy, Sender
from cdp.activate.destinations import destination_class

RESULTS = Path(__file__).resolve().parent / "results"
# destination -> requests to send: a little over two windows of its longest period
REQUESTS = {"hubspot": 400, "mailchimp": 35, "webhook": 120, "klaviyo": 175}


class ArrivalRecorder:
    """A local HTTP server answering 200 at once and recording when each request arrived."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                with recorder.lock:
                    recorder.arrivals.append(time.monotonic())
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


def busiest_window(arrivals: list[float], per_seconds: float) -> int:
    ordered = sorted(arrivals)
    return max(bisect.bisect_left(ordered, start + per_seconds) - index for index, start in enumerate(ordered))


def measure(name: str, requests: int) -> dict:
    declared = destination_class(name)
    recorder = ArrivalRecorder()
    sender = Sender(recorder.url, {}, declared.rate_limits, DeliveryPolicy(), concurrency=declared.concurrency)
    remaining = iter(range(requests))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            sender.request("POST", "/", json={})

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(declared.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sender.close()
    recorder.server.shutdown()
    return {
        "destination": name,
        "concurrency": declared.concurrency,
        "requests": len(recorder.arrivals),
        "seconds": round(time.monotonic() - started, 2),
        "windows": [
            {
                "declared": f"{limit.requests} per {limit.per_seconds:g} s",
                "busiest_window": busiest_window(recorder.arrivals, limit.per_seconds),
                "limit": limit.requests,
            }
            for limit in declared.rate_limits
        ],
    }


def write(results: list[dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    figures = {"machine": platform.machine(), "python": platform.python_version(), "results": results}
    (RESULTS / "pacing.json").write_text(json.dumps(figures, indent=2) + "\n")
    lines = [
        "# Pacing: busiest window received against the declared limit",
        "",
        "`python -m bench.pacing_bench` (the engine's Sender with each destination's declared limits and",
        "concurrency, against a local server recording arrivals).",
        "",
        "| destination | workers | requests | seconds | declared | busiest window | within |",
        "|---|---:|---:|---:|---|---:|:-:|",
    ]
    for result in results:
        for window in result["windows"]:
            within = "yes" if window["busiest_window"] <= window["limit"] else "NO"
            lines.append(
                f"| {result['destination']} | {result['concurrency']} | {result['requests']} | {result['seconds']} "
                f"| {window['declared']} | {window['busiest_window']} | {within} |"
            )
    (RESULTS / "pacing.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(REQUESTS), action="append", help="destination (repeatable)")
    args = parser.parse_args()
    results = [measure(name, REQUESTS[name]) for name in args.only or REQUESTS]
    write(results)
    print((RESULTS / "pacing.md").read_text())


if __name__ == "__main__":
    main()
