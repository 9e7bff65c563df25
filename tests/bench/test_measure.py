"""bench.measure: the OS's accounting of a child process (no timing assertions)."""

from __future__ import annotations

import sys

from bench.measure import run_measured

ALLOCATE_200_MB = "block = bytearray(200 * 2**20); block[::4096] = b'x' * len(block[::4096])"


def test_peak_memory_covers_what_the_child_allocated(tmp_path):
    measured = run_measured("allocate", [sys.executable, "-c", ALLOCATE_200_MB], log_path=tmp_path / "log")
    assert measured.returncode == 0
    assert measured.peak_rss_mb >= 200
    assert measured.cpu_s > 0 and measured.wall_s > 0


def test_memory_of_grandchildren_alive_together_is_summed(tmp_path):
    two_at_once = (
        "import subprocess, sys; "
        f"children = [subprocess.Popen([sys.executable, '-c', {ALLOCATE_200_MB + '; import time; time.sleep(1.5)'!r}]) for _ in range(2)]; "
        "[child.wait() for child in children]"
    )
    measured = run_measured("two children", [sys.executable, "-c", two_at_once], log_path=tmp_path / "log")
    assert measured.returncode == 0
    assert measured.peak_rss_mb >= 400


def test_a_failing_command_reports_its_exit_code_and_keeps_its_output(tmp_path):
    log = tmp_path / "stage.log"
    measured = run_measured(
        "fails", [sys.executable, "-c", "print('what went wrong'); raise SystemExit(3)"], log_path=log
    )
    assert measured.returncode == 3
    assert "what went wrong" in log.read_text()
    assert set(measured.as_dict()) == {"stage", "wall_s", "cpu_s", "peak_rss_mb", "returncode"}
