"""Customer ids survive runs; merges, splits and new ids are recorded."""

from __future__ import annotations

import pandas as pd

from tests.identity.conftest import customer_of, records, strong_ids


def anna(record_id: str, **extra) -> dict:
    return dict(source="crm", source_record_id=record_id, first_name="anna", **extra)


def test_ids_are_text_ids_and_an_unchanged_rerun_changes_nothing(resolve):
    inputs = records(anna("C1", email="anna@mail.nl"), anna("C2", email="anna@mail.nl"), anna("C3", email="x@mail.nl"))
    first = resolve(inputs, at="2026-01-01")
    assert first.record_customers.customer_id.str.fullmatch(r"C[0-9a-f]{12}").all()
    assert sorted(first.changelog.change) == ["new", "new"]
    second = resolve(inputs, previous=first.record_customers, at="2026-01-02")
    merged = first.record_customers.merge(second.record_customers, on=["source", "source_record_id"])
    assert (merged.customer_id_x == merged.customer_id_y).all()
    assert second.changelog.empty


def test_the_same_data_gives_the_same_ids_from_scratch(resolve):
    inputs = records(anna("C1", email="anna@mail.nl"), anna("C2", email="anna@mail.nl"))
    assert (
        resolve(inputs).record_customers.customer_id.tolist() == resolve(inputs).record_customers.customer_id.tolist()
    )


def test_merge_keeps_the_oldest_id_and_is_recorded(resolve):
    day1 = resolve(records(anna("C1", email="anna@mail.nl")), at="2026-01-01")
    day2_inputs = records(
        anna("C1", email="anna@mail.nl"), dict(source="shop", source_record_id="S1", first_name="anna")
    )
    day2 = resolve(day2_inputs, previous=day1.record_customers, at="2026-01-02")
    oldest, younger = customer_of(day2, "C1"), customer_of(day2, "S1")
    assert oldest != younger
    # day 3: the shop record gives the same email: one person now
    day3_inputs = records(
        anna("C1", email="anna@mail.nl"),
        dict(source="shop", source_record_id="S1", first_name="anna", email="anna@mail.nl"),
    )
    day3 = resolve(day3_inputs, previous=day2.record_customers, at="2026-01-03")
    assert customer_of(day3, "S1") == customer_of(day3, "C1") == oldest
    log = day3.changelog
    assert log[["change", "customer_id", "other_customer_id"]].values.tolist() == [["merge", oldest, younger]]
    assert log.run_id.tolist() == ["run-2026-01-03"]


def test_split_biggest_part_keeps_the_id_new_part_gets_a_new_one(resolve):
    inputs = records(
        anna("C1", email="anna@mail.nl"),
        anna("C2", email="anna@mail.nl"),
        dict(source="shop", source_record_id="S1", first_name="bea", email="bea@mail.nl"),
    )
    # last run had all three under one id (say, a link since corrected)
    previous = pd.DataFrame(
        {
            "source": ["crm", "crm", "shop"],
            "source_record_id": ["C1", "C2", "S1"],
            "customer_id": ["Caaaaaaaaaaaa"] * 3,
            "customer_since": [pd.Timestamp("2025-01-01")] * 3,
        }
    )
    result = resolve(inputs, previous=previous, at="2026-01-02")
    assert customer_of(result, "C1") == customer_of(result, "C2") == "Caaaaaaaaaaaa"
    new_id = customer_of(result, "S1")
    assert new_id != "Caaaaaaaaaaaa"
    assert result.changelog[["change", "customer_id", "other_customer_id"]].values.tolist() == [
        ["split", new_id, "Caaaaaaaaaaaa"]
    ]


def test_anonymous_visitor_identifying_later_merges_into_the_customer(resolve):
    visitor = dict(source="web", source_record_id="anon-1")
    shop = dict(source="shop", source_record_id="S1", first_name="anna", email="anna@mail.nl")
    day1 = resolve(records(visitor, shop), strong_ids(("shop", "S1", "user_id", "S1")), at="2026-01-01")
    assert customer_of(day1, "anon-1") != customer_of(day1, "S1")
    ids = strong_ids(("shop", "S1", "user_id", "S1"), ("web", "anon-1", "user_id", "S1"))
    day2 = resolve(records(visitor, shop), ids, previous=day1.record_customers, at="2026-01-02")
    assert customer_of(day2, "anon-1") == customer_of(day2, "S1")
    assert day2.changelog.change.tolist() == ["merge"]
