"""bench.suite_times: a JUnit report summed per budget line (the figures, never asserted)."""

from __future__ import annotations

from bench.suite_times import CORE, core_arguments, line_of, summarise, to_markdown

REPORT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4" time="12.5">
<testcase classname="tests.ingest.test_corpus" name="test_nothing_is_lost[a]" time="2.0"/>
<testcase classname="tests.ingest.test_config" name="test_cli" time="1.5"/>
<testcase classname="tests.ui.test_browser" name="test_each_page_opens" time="3.25"><failure message="x"/></testcase>
<testcase classname="tests.test_settings" name="test_bad_engine" time="0.25"/>
</testsuite></testsuites>
"""


def test_each_test_counts_on_its_budget_line(tmp_path):
    report = tmp_path / "junit.xml"
    report.write_text(REPORT)
    result = summarise(report)
    assert result["wall_s"] == 12.5
    assert result["lines"]["bad-input corpus"] == {"tests": 1, "failed": 0, "test_s": 2.0, "budget_test_s": 180}
    assert result["lines"]["marketer workspace (browser)"]["failed"] == 1
    assert result["lines"][CORE] == {"tests": 2, "failed": 0, "test_s": 1.8, "budget_test_s": None}
    table = to_markdown(
        {
            **result,
            "core_only": False,
            "budget_wall_s": 1410,
            "machine": {"cpu_count": 2},
            "measured_at": "t",
            "command": "c",
        }
    )
    assert "| bad-input corpus | 1 | 0 | 2.0 | 180 |" in table and table.startswith("### pytest, whole suite: 12 s")


def test_the_core_run_leaves_out_every_slower_suite():
    assert line_of("tests/ingest/test_config.py") == CORE and line_of("tests/uix/test_a.py") == CORE
    assert "--ignore=tests/spark" in core_arguments() and "--ignore=tests/ingest/test_corpus.py" in core_arguments()
