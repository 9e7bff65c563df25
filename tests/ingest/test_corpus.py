"""The bad-input corpus (tests/ingest/corpus.py): rows in = rows loaded + rows quarantined, case by case."""

from __future__ import annotations

import pytest

from tests.ingest.corpus import CASES, run_case


@pytest.mark.parametrize("name", list(CASES))
def test_nothing_is_lost(name, tmp_path):
    figures = run_case(name, tmp_path)

    assert figures.lost == 0, figures
