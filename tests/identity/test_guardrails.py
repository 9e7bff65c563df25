"""Guardrails: blocked values, shared household identifiers, the cluster-size cap."""

from __future__ import annotations

from tests.identity.conftest import customer_of, records, sha256, strong_ids

HOME = dict(last_name="jansen", address="kerkstraat 1", postcode="1011AB", city="amsterdam")


def test_blocked_email_and_loyalty_card_never_link(resolve):
    inputs = records(
        dict(source="shop", source_record_id="S1", email="test@test.com", first_name="qa"),
        dict(source="shop", source_record_id="S2", email="TEST@test.com ", first_name="qa"),
        dict(source="partner", source_record_id="R1", email_sha256=sha256("test@test.com")),
        dict(source="pos", source_record_id="T1"),
        dict(source="pos", source_record_id="T2"),
    )
    ids = strong_ids(("pos", "T1", "loyalty_card", "000000"), ("pos", "T2", "loyalty_card", "000000"))
    result = resolve(inputs, ids)
    assert result.record_customers.customer_id.nunique() == 5


def test_household_email_with_different_first_names_is_not_a_link(resolve):
    inputs = records(
        dict(
            source="shop",
            source_record_id="S1",
            email="jansen@home.nl",
            first_name="anna",
            date_of_birth="1990-04-02",
            **HOME,
        ),
        dict(
            source="crm",
            source_record_id="C1",
            email="jansen@home.nl",
            first_name="pieter",
            date_of_birth="1988-11-30",
            **HOME,
        ),
    )
    result = resolve(inputs)
    assert customer_of(result, "S1") != customer_of(result, "C1")


def test_household_landline_with_different_first_names_is_not_a_link(resolve):
    inputs = records(
        dict(source="shop", source_record_id="S1", phone="+31201234567", first_name="anna", **HOME),
        dict(source="crm", source_record_id="C1", phone="+31201234567", first_name="pieter", **HOME),
        dict(source="pos", source_record_id="T1", phone="+31201234567"),
    )
    result = resolve(inputs)
    assert len({customer_of(result, r) for r in ("S1", "C1", "T1")}) == 3


def test_twins_sharing_birthday_address_and_last_name_stay_apart(resolve):
    twin = dict(date_of_birth="1990-04-02", phone="+31612345678", **HOME)
    inputs = records(
        dict(source="shop", source_record_id="S1", first_name="anna", **twin),
        dict(source="crm", source_record_id="C1", first_name="lotte", **twin),
    )
    result = resolve(inputs)
    assert customer_of(result, "S1") != customer_of(result, "C1")


def test_same_email_with_a_nickname_is_one_person(resolve):
    inputs = records(
        dict(source="shop", source_record_id="S1", email="rj@home.nl", first_name="robert", **HOME),
        dict(source="crm", source_record_id="C1", email="rj@home.nl", first_name="bob", **HOME),
    )
    result = resolve(inputs)
    assert customer_of(result, "S1") == customer_of(result, "C1")


def test_oversized_cluster_is_broken_up_and_reported(resolve):
    # five records chained by one (unblocked) email; the cap is three
    inputs = records(
        *(dict(source="email", source_record_id=f"E{n}", email="shared@office.nl") for n in range(5)),
        dict(source="web", source_record_id="W1"),
        dict(source="shop", source_record_id="S1"),
    )
    ids = strong_ids(("web", "W1", "user_id", "S1"), ("shop", "S1", "user_id", "S1"))
    result = resolve(inputs, ids, max_cluster_size=3)
    assert result.oversized_clusters.records.tolist() == [5]
    capped = result.record_customers[result.record_customers.cluster_capped]
    assert capped.customer_id.nunique() == 5
    assert customer_of(result, "W1") == customer_of(result, "S1")  # untouched cluster
