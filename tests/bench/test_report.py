"""bench.run.comparison and bench.report: ratios against targets and the table a reader sees."""

from __future__ import annotations

from bench.report import to_markdown
from bench.run import comparison


def stage(name: str, wall: float) -> dict:
    return {"stage": name, "wall_s": wall, "cpu_s": wall / 2, "peak_rss_mb": 100.0, "returncode": 0}


def test_comparison_says_whether_the_target_is_met():
    slow = comparison("identity vs splink", {"wall_s": 30.0, "cpu_s": 20.0}, {"wall_s": 20.0, "cpu_s": 20.0}, 1.25)
    fast = comparison("ingest vs native", {"wall_s": 5.0, "cpu_s": 4.0}, {"wall_s": 2.0, "cpu_s": 1.0}, 3.0)
    assert (slow["ratio"], slow["cpu_ratio"], slow["target_met"]) == (1.5, 1.0, False)
    assert (fast["ratio"], fast["cpu_ratio"], fast["target_met"]) == (2.5, 4.0, True)


def test_markdown_lists_each_stage_of_both_runs_and_each_comparison():
    full = [stage("ingest", 10.0), stage("identity", 20.0)]
    next_day = [stage("ingest", 1.0), stage("identity", 2.0)]
    result = {
        "persons": 1000,
        "command": "cdp bench --persons 1000",
        "finished_at": "2026-11-24T12:00:00+00:00",
        "machine": {"cpu_count": 2, "cpu_model": "test cpu", "memory_gb": 24, "platform": "Linux"},
        "universe": {
            "source_records": 5000,
            "history_days": 180,
            "raw_rows_full": 40000,
            "raw_rows_next_day": 400,
            "generate": {"wall_s": 3.0, "peak_rss_mb": 200.0, "reused": True},
        },
        "full_run": {"stages": full, "total": {"wall_s": 30.0, "cpu_s": 15.0, "peak_rss_mb": 100.0}},
        "next_day_run": {"stages": next_day, "total": {"wall_s": 3.0, "cpu_s": 1.5, "peak_rss_mb": 100.0}},
        "side_by_side": {
            "next_day_vs_full": comparison(
                "next-day run vs full run", {"wall_s": 3.0, "cpu_s": 1.5}, {"wall_s": 30.0, "cpu_s": 15.0}, 0.15
            )
        },
        "identity_accuracy": {"pairwise_f1": 0.99},
    }
    table = to_markdown(result)
    assert "| ingest | 10.0 | 5.0 | 100 | 1.0 | 0.5 | 100 |" in table
    assert "| **pipeline total** | **30.0** | **15.0** | **100** | **3.0** | **1.5** | **100** |" in table
    assert "| next-day run vs full run | 3.0 | 30.0 | 0.10 | 0.10 | ≤ 0.15× | yes |" in table
    assert "| pairwise_f1 | 0.9900 |" in table
    assert "reused" in table
