"""Measure one command the way the operating system accounts for it.

Each benchmark stage runs as its own process. We wait for it with `os.wait4`, which
returns the kernel's resource usage for exactly that child (and the children it waited
for): CPU time (user + system) and its peak resident set size. Because a stage may
start helper processes that live at the same time (dbt threads are one process, but a
Dagster run or a subprocess pool is not), we also sample the whole process tree's
resident memory with psutil and report the larger of the two peaks.

Keep the measuring process small: Linux starts a forked child's ru_maxrss from its
parent's resident size, so a big parent would put a floor under every figure.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

SAMPLE_EVERY_S = 0.1


@dataclass(frozen=True)
class Measurement:
    """What one stage cost."""

    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int

    def as_dict(self) -> dict:
        return {key: round(value, 3) if isinstance(value, float) else value for key, value in asdict(self).items()}


class _TreeMemorySampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self._root = psutil.Process(pid)
        self._done = threading.Event()
        self.peak_bytes = 0

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_bytes = max(self.peak_bytes, self._tree_rss())
            self._done.wait(SAMPLE_EVERY_S)

    def _tree_rss(self) -> int:
        total = 0
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return 0
        for process in processes:
            with contextlib.suppress(psutil.Error):  # ended between listing and reading: its peak is in wait4's figure
                total += process.memory_info().rss
        return total

    def stop(self) -> None:
        self._done.set()
        self.join()


def _maxrss_bytes(rusage) -> int:
    # Linux reports ru_maxrss in kilobytes, macOS in bytes.
    return rusage.ru_maxrss if sys.platform == "darwin" else rusage.ru_maxrss * 1024


def run_measured(
    stage: str,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
) -> Measurement:
    """Run `command` to completion and return its wall time, CPU time and peak memory.

    Output goes to `log_path` (so a failed stage can be read afterwards), not to the terminal.
    """
    with open(log_path, "w") if log_path else contextlib.nullcontext(subprocess.DEVNULL) as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        sampler = _TreeMemorySampler(process.pid)
        sampler.start()
        _, status, rusage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)  # so Popen does not wait again
    return Measurement(
        stage=stage,
        wall_s=wall_s,
        cpu_s=rusage.ru_utime + rusage.ru_stime,
        peak_rss_mb=max(_maxrss_bytes(rusage), sampler.peak_bytes) / 2**20,
        returncode=process.returncode,
    )
