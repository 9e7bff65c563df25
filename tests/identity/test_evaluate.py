"""Evaluation figures on a hand-made truth, computed by hand."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cdp.identity.evaluate import score, split_off_breakdown


def test_pairwise_and_cluster_figures():
    # persons: p1 = {a, b, c}, p2 = {d, e}, p3 = {f}
    truth = pd.DataFrame(
        {"source": ["s"] * 6, "source_record_id": list("abcdef"), "person_id": ["p1", "p1", "p1", "p2", "p2", "p3"]}
    )
    # resolution splits p1 (c alone) and puts p3's f with p2
    resolution = pd.DataFrame(
        {"source": ["s"] * 6, "source_record_id": list("abcdef"), "customer_id": ["X", "X", "Y", "Z", "Z", "Z"]}
    )
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


def test_split_off_groups_are_told_apart_by_what_they_carry():
    # p1's main id is X; each other id of p1 shows one kind. p2 shares p1's household email.
    rows = [
        ("a", "X", "p1", dict(email="ann@mail.nl", first_name="ann", postcode="1011AB")),
        ("b", "X", "p1", dict(email="ann@mail.nl", phone="+31600000001")),
        ("c", "X", "p1", dict(first_name="ann", postcode="1011AB")),
        ("d", "H", "p1", dict(email="home@mail.nl")),  # household_email
        ("e", "H2", "p2", dict(email="home@mail.nl", first_name="piet")),
        ("f", "N", "p1", dict()),  # nothing_to_link_by (a cookie)
        ("g", "M", "p1", dict(first_name="ann", postcode="9999ZZ")),  # name_elsewhere (she moved)
        ("h", "P", "p1", dict(first_name="anne", postcode="1011AB")),  # name_and_place
        ("i", "E", "p1", dict(email="ann.other@mail.nl")),  # other_email_or_phone
    ]
    columns = ("email", "email_sha256", "phone", "first_name", "last_name", "address", "postcode")
    inputs = pd.DataFrame(
        [{"source": "s", "source_record_id": r, **{c: v.get(c) for c in columns}} for r, _, _, v in rows]
    )
    con = duckdb.connect()
    con.register("identity_inputs", inputs.astype(dict.fromkeys(columns, "string")))
    con.register(
        "resolution",
        pd.DataFrame({"source": "s", "source_record_id": [r[0] for r in rows], "customer_id": [r[1] for r in rows]}),
    )
    con.register(
        "truth",
        pd.DataFrame({"source": "s", "source_record_id": [r[0] for r in rows], "person_id": [r[2] for r in rows]}),
    )

    breakdown = split_off_breakdown(con, "resolution", "truth")

    kinds = {kind: figures["records"] for kind, figures in breakdown["split_off"].items()}
    assert kinds == {
        "household_email": 1,
        "nothing_to_link_by": 1,
        "name_elsewhere": 1,
        "name_and_place": 1,
        "other_email_or_phone": 1,
    }
    # p1 is split by linkable groups too (h, i): only p2 counts as whole
    assert breakdown["share_persons_under_one_id_unless_unlinkable"] == pytest.approx(1 / 2)
