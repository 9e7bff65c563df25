"""The test suite's time against its budget (docs/testing.md, "Time budget"), written to a file.

    python -m bench.suite_times          # the whole suite: bench/results/suite.json and suite.md
    python -m bench.suite_times --core   # only the core suites: bench/results/suite_core.*

Runs pytest as `.ci/run` does (every core, the project's pytest options) with a JUnit report,
then sums each budget line's test time (setup + call + teardown of its tests, as if on one
worker) and records the session's wall time. The lines are the slower suites later issues
added, each with its own budget, and the core: everything else. Figures only: no test asserts a
time, and a suite over its line says so in its issue's closing note.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "bench" / "results"

# budget line -> (test paths, budget in seconds of test time). The core is the rest of tests/.
SLOWER_SUITES: dict[str, tuple[tuple[str, ...], int]] = {
    "bad-input corpus": (("tests/ingest/test_corpus.py",), 180),
    "marketer workspace (browser)": (("tests/ui",), 240),
    "incremental equivalence": (("tests/incremental",), 180),
    "Spark": (("tests/spark",), 480),
    "privacy (forget, export)": (("tests/privacy",), 120),
    "own data": (("tests/own_data",), 90),
    "FEBRL through the user path": (("tests/identity/test_febrl.py",), 90),
}
CORE = "core (every other test)"
CORE_BUDGET_WALL_S = 360  # the core alone, wall time on 2 cores
WHOLE_BUDGET_WALL_S = 30 * 60 - 5 * 60 - 90  # .ci/run's 30 minutes less install and lint


def line_of(path: str) -> str:
    for line, (paths, _) in SLOWER_SUITES.items():
        if any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in paths):
            return line
    return CORE


def core_arguments() -> list[str]:
    """pytest arguments that leave the slower suites out."""
    return [f"--ignore={path}" for paths, _ in SLOWER_SUITES.values() for path in paths]


def run_pytest(report: Path, core: bool) -> int:
    command = [sys.executable, "-m", "pytest", "-q", f"--junitxml={report}", *(core_arguments() if core else [])]
    return subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}).returncode


def summarise(report: Path) -> dict:
    """Per budget line: tests, failures and test seconds; the session's wall time."""
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    lines: dict[str, dict] = {}
    for case in suite.iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        path = next(
            (candidate for candidate in (path.rpartition("/")[0] + ".py", path + ".py") if (ROOT / candidate).exists()),
            path,
        )
        line = lines.setdefault(line_of(path), {"tests": 0, "failed": 0, "test_s": 0.0})
        line["tests"] += 1
        line["failed"] += int(case.find("failure") is not None or case.find("error") is not None)
        line["test_s"] += float(case.get("time", 0))
    for name, line in lines.items():
        line["test_s"] = round(line["test_s"], 1)
        line["budget_test_s"] = SLOWER_SUITES[name][1] if name in SLOWER_SUITES else None
    return {"wall_s": round(float(suite.get("time", 0)), 1), "lines": dict(sorted(lines.items()))}


def to_markdown(result: dict) -> str:
    run = "core suites only" if result["core_only"] else "whole suite"
    rows = [
        f"### pytest, {run}: {result['wall_s']:.0f} s wall on {result['machine']['cpu_count']} cores"
        f" (budget {result['budget_wall_s']} s)",
        "",
        "| budget line | tests | failed | test time (s) | budget (s) |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, line in result["lines"].items():
        budget = line["budget_test_s"] if line["budget_test_s"] is not None else "-"
        rows.append(f"| {name} | {line['tests']} | {line['failed']} | {line['test_s']} | {budget} |")
    rows += ["", f"Measured {result['measured_at']} by `{result['command']}`."]
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", action="store_true", help="Run only the core suites (leave the slower ones out).")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    arguments = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "junit.xml"
        returncode = run_pytest(report, arguments.core)
        if not report.exists():
            print(f"{report}: pytest wrote no report (exit code {returncode})", file=sys.stderr)
            return returncode or 1
        result = {
            **summarise(report),
            "core_only": arguments.core,
            "budget_wall_s": CORE_BUDGET_WALL_S if arguments.core else WHOLE_BUDGET_WALL_S,
            "pytest_exit_code": returncode,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": "python -m bench.suite_times" + (" --core" if arguments.core else ""),
            "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        }
    name = "suite_core" if arguments.core else "suite"
    arguments.results_dir.mkdir(parents=True, exist_ok=True)
    (arguments.results_dir / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    (arguments.results_dir / f"{name}.md").write_text(to_markdown(result))
    print(to_markdown(result))
    return returncode


if __name__ == "__main__":
    raise SystemExit(main())
