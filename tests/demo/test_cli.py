"""`cdp generate` from the command line: success, and every bad input as one clear line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.demo.conftest import file_hashes


def cdp(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cdp.cli", *args], capture_output=True, text=True, timeout=300, env=env
    )


def assert_clean_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1, result.stderr
    for word in words:
        assert word in error_lines[0]


def no_leftovers(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if p.name.startswith(".")]


def test_generate_and_advance(tmp_path):
    out = tmp_path / "u"
    result = cdp("generate", "--persons", "50", "--seed", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "50 persons" in result.stdout
    assert json.loads((out / "manifest.json").read_text())["persons"] == 50

    result = cdp("generate", "--out", str(out), "--advance")
    assert result.returncode == 0, result.stderr
    assert json.loads((out / "manifest.json").read_text())["current_date"] == "2026-11-21"


def test_force_replaces_an_existing_universe(tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    result = cdp("generate", "--persons", "20", "--out", str(out), "--force")
    assert result.returncode == 0, result.stderr
    assert not (out / "stale.txt").exists() and (out / "truth.parquet").exists()
    assert no_leftovers(tmp_path)


def test_zero_persons_is_refused(tmp_path):
    out = tmp_path / "u"
    assert_clean_failure(cdp("generate", "--persons", "0", "--out", str(out)), "--persons")
    assert not out.exists() and no_leftovers(tmp_path)


def test_negative_seed_is_refused(tmp_path):
    assert_clean_failure(cdp("generate", "--persons", "5", "--seed", "-1", "--out", str(tmp_path / "u")), "--seed")


def test_non_empty_folder_needs_force(tmp_path):
    out = tmp_path / "u"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert_clean_failure(cdp("generate", "--persons", "5", "--out", str(out)), str(out), "--force")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert no_leftovers(tmp_path)


def test_unwritable_path_is_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert_clean_failure(cdp("generate", "--persons", "5", "--out", str(blocker / "u")), str(blocker))
    assert_clean_failure(cdp("generate", "--persons", "5", "--out", "/proc/cdp-demo-universe"), "/proc")


def test_advance_needs_a_universe(tmp_path):
    assert_clean_failure(cdp("generate", "--out", str(tmp_path), "--advance"), "manifest.json")


def test_same_bytes_from_another_process_with_other_hash_seeds(tmp_path, small_universe):
    """No dependence on set or dict hashing: a fresh interpreter with another PYTHONHASHSEED agrees."""
    out = tmp_path / "u"
    result = cdp(
        "generate", "--persons", "300", "--seed", "7", "--out", str(out), env={**os.environ, "PYTHONHASHSEED": "4242"}
    )
    assert result.returncode == 0, result.stderr
    assert file_hashes(out) == file_hashes(small_universe)
