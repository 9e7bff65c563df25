"""The command line itself: help text and the error contract."""

import subprocess
import sys


def run_cdp(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cdp.cli", *args], capture_output=True, text=True)


def test_help_lists_the_pipeline():
    result = run_cdp("--help")
    assert result.returncode == 0
    assert "customer data platform" in result.stdout.lower()


def test_unknown_command_is_a_clear_error_without_traceback():
    result = run_cdp("no-such-command")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
