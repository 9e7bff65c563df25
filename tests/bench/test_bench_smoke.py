"""`cdp bench` end to end at a tiny scale: the result file's shape, never its timings."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PIPELINE = ["ingest", "dbt: seeds + staging", "identity", "dbt: marts", "dbt: segments", "syncs"]
MEASURES = {"stage", "wall_s", "cpu_s", "peak_rss_mb", "returncode"}


@pytest.fixture(scope="module")
def bench_result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "cdp.cli",
            "bench",
            "--persons",
            "60",
            "--work-dir",
            str(folder / "work"),
            "--results-dir",
            str(folder / "results"),
        ],
        capture_output=True,
        text=True,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return folder / "results"


@pytest.mark.slow
def test_every_stage_of_every_run_is_measured(bench_result):
    result = json.loads((bench_result / "bench_60.json").read_text())
    for run in ("full_run", "next_day_run", "unchanged_run"):
        stages = result[run]["stages"]
        assert [stage["stage"] for stage in stages] == PIPELINE
        for stage in stages:
            assert set(stage) == MEASURES and stage["returncode"] == 0
            assert stage["wall_s"] > 0 and stage["cpu_s"] > 0 and stage["peak_rss_mb"] > 0
        assert result[run]["total"]["peak_rss_mb"] == max(stage["peak_rss_mb"] for stage in stages)


@pytest.mark.slow
def test_baselines_ratios_and_accuracy_are_recorded(bench_result):
    result = json.loads((bench_result / "bench_60.json").read_text())
    assert set(result["side_by_side"]) == {
        "ingest_vs_native_read",
        "identity_vs_plain_splink",
        "identity_next_day_vs_plain_splink",
        "identity_stage_vs_plain_splink",
        "next_day_vs_full",
    }
    for comparison in result["side_by_side"].values():
        assert comparison["ratio"] == pytest.approx(comparison["ours_s"] / comparison["baseline_s"], rel=0.01)
    assert result["universe"]["raw_rows_full"] > result["universe"]["raw_rows_next_day"] > 0
    accuracy = result["identity_accuracy"]
    for measure in ("pairwise_precision", "pairwise_recall", "pairwise_f1"):
        assert 0 <= accuracy[measure] <= 1
    assert result["machine"]["cpu_count"] >= 1


@pytest.mark.slow
def test_the_markdown_table_is_written_beside_the_json(bench_result):
    table = (bench_result / "bench_60.md").read_text()
    assert table.startswith("### 60 persons")
    for stage in PIPELINE:
        assert f"| {stage} |" in table
    assert "| next-day run vs full run |" in table
