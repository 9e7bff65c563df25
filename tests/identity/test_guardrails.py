"""Guardrails: blocked values, shared household identifiers, the cluster-size cap."""

from __future__ import annotations

import json

from cdp.identity.prepare import default_config
from tests.identity.conftest import customer_of, match_fields, records, rule_of, sha256, strong_ids

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


def test_a_first_name_given_as_an_initial_is_the_same_person_to_the_household_guard(resolve):
    inputs = records(
        dict(source="shop", source_record_id="S1", email="jj.smith@mail.com", first_name="john", **HOME),
        dict(source="crm", source_record_id="C1", email="jj.smith@mail.com", first_name="j.", **HOME),
        dict(source="pos", source_record_id="T1", phone="+31612345678", first_name="j"),
        dict(source="shop", source_record_id="S2", phone="+31612345678", first_name="john"),
    )
    result = resolve(inputs)
    assert customer_of(result, "S1") == customer_of(result, "C1")
    assert customer_of(result, "T1") == customer_of(result, "S2")


def test_father_and_son_of_one_name_at_one_address_stay_apart(resolve):
    family = dict(first_name="peter", phone="+31201234567", **HOME)
    inputs = records(
        dict(source="shop", source_record_id="S1", date_of_birth="1961-05-03", email="peter.sr@mail.nl", **family),
        dict(source="crm", source_record_id="C1", date_of_birth="1989-10-17", email="peter.jr@mail.nl", **family),
    )
    result = resolve(inputs)
    assert customer_of(result, "S1") != customer_of(result, "C1")


def test_a_birth_date_with_day_and_month_swapped_is_the_same_person(resolve):
    person = dict(first_name="marta", last_name="nowak", postcode="00-950", city="warszawa")
    inputs = records(
        dict(source="shop", source_record_id="S1", date_of_birth="1984-03-11", **person),
        dict(source="crm", source_record_id="C1", date_of_birth="1984-11-03", **person),
    )
    result = resolve(inputs)
    assert customer_of(result, "S1") == customer_of(result, "C1")


def test_clearly_different_first_names_yield_only_to_strong_other_evidence(resolve):
    person = dict(last_name="hughes", date_of_birth="1978-02-14", address="12 giblin street", postcode="2612")
    inputs = records(
        # one person, the first name mistyped beyond a typo; the same id number
        dict(source="febrl", source_record_id="A", first_name="katherine", **person),
        dict(source="febrl", source_record_id="B", first_name="kathrynne", **person),
    )
    ids = match_fields(
        ("febrl", "A", "soc_sec_id", "id_number", "4216170"), ("febrl", "B", "soc_sec_id", "id_number", "4216170")
    )
    config = default_config().with_match_fields({"soc_sec_id": "id_number"})
    result = resolve(inputs, match_fields=ids, config=config)
    assert customer_of(result, "A") == customer_of(result, "B")
    explanation = json.loads(result.record_customers.set_index("source_record_id").explanation["B"])
    assert explanation["rule"] == "probabilistic"
    assert {part["comparison"] for part in explanation["comparisons"]} >= {"first_name", "soc_sec_id"}
    # a shared home and last name alone are weak (a household's): the names decide, two people
    household = records(*({k: v for k, v in row.items() if k != "date_of_birth"} for row in inputs.to_dict("records")))
    alone = resolve(household)
    assert customer_of(alone, "A") != customer_of(alone, "B")


def test_each_guardrail_can_be_switched_off_in_the_configuration(resolve):
    twin = dict(date_of_birth="1990-04-02", phone="+31612345678", **HOME)
    inputs = records(
        dict(source="shop", source_record_id="S1", first_name="anna", **twin),
        dict(source="crm", source_record_id="C1", first_name="lotte", **twin),
    )
    config = default_config()
    guardrails = config.guardrails.model_copy(
        update={"shared_contacts": config.guardrails.shared_contacts.model_copy(update={"enabled": False})}
    )
    result = resolve(inputs, config=config.model_copy(update={"guardrails": guardrails}))
    assert customer_of(result, "S1") == customer_of(result, "C1")  # the shared phone links them now
    assert rule_of(result, "C1") == "phone"
