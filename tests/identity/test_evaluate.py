"""Evaluation figures on a hand-made truth, computed by hand."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cdp.identity.evaluate import score


def test_pairwise_and_cluster_figures():
    # persons: p1 = {a, b, c}, p2 = {d, e}, p3 = {f}
    truth = pd.DataFrame({"source": ["s"] * 6, "source_record_id": list("abcdef"),
                          "person_id": ["p1", "p1", "p1", "p2", "p2", "p3"]})
    # resolution splits p1 (c alone) and puts p3's f with p2
    resolution = pd.DataFrame({"source": ["s"] * 6, "source_record_id": list("abcdef"),
                               "customer_id": ["X", "X", "Y", "Z", "Z", "Z"]})
    con = duckdb.connect()
    con.register("resolution", resolution)
    con.register("truth", truth)
    figures = score(con, "resolution", "truth")
    # predicted pairs: ab, de, df, ef = 4; true pairs: ab, ac, bc, de = 4; both: ab, de = 2
    assert figures["predicted_pairs"] == 4 and figures["actual_pairs"] == 4 and figures["true_positive_pairs"] == 2
    assert figures["pairwise_precision"] == pytest.approx(0.5)
    assert figures["pairwise_recall"] == pytest.approx(0.5)
    assert figures["pairwise_f1"] == pytest.approx(0.5)
    assert figures["share_persons_split"] == pytest.approx(1 / 3)  # p1
    assert figures["share_customers_mixed"] == pytest.approx(1 / 3)  # Z
    assert figures["truth_records_unresolved"] == 0
