"""Each destination against a local server that implements its documented API contract."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from cdp.activate import run_sync
from cdp.activate.destinations import available, destination_class
from tests.activate import fake_apis
from tests.activate.conftest import make_spec, person

PEOPLE = 80  # more than one batch for Braze (75) and the webhook (batch_size 30)


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass
class Case:
    """How to point one destination at its fake: contract, environment, sync spec."""

    destination: str
    contract: Callable[[], fake_apis.Contract]
    env: Callable[[str], dict[str, str]]
    spec: dict[str, Any]
    refused_key: Callable[[dict], str] | None  # what the fake sees of a person, to refuse them
    members: Callable[[Any], int]  # how many people the destination holds
    bad_env: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "webhook",
        lambda: fake_apis.WebhookContract("whsec-SECRET-webhook", max_rows=30),
        lambda url: {"CDP_WEBHOOK_SECRET": "whsec-SECRET-webhook", "CDP_WEBHOOK_URL": f"{url}/hook"},
        {"mode": "mirror", "config": {"batch_size": 30}},
        lambda p: p["customer_id"],
        len,
        {"CDP_WEBHOOK_SECRET": "wrong"},
    ),
    Case(
        "mailchimp",
        lambda: fake_apis.MailchimpContract("SECRET-mailchimp-us6", "L1"),
        lambda url: {"MAILCHIMP_API_KEY": "SECRET-mailchimp-us6", "MAILCHIMP_BASE_URL": url},
        {
            "mode": "mirror",
            "identifiers": {"email": "email"},
            "fields": {"fname": "first_name"},
            "config": {"list_id": "L1"},
        },
        lambda p: p["email"],
        len,
        {"MAILCHIMP_API_KEY": "wrong-us6"},
    ),
    Case(
        "klaviyo",
        lambda: fake_apis.KlaviyoContract("pk_SECRET_klaviyo"),
        lambda url: {"KLAVIYO_API_KEY": "pk_SECRET_klaviyo", "KLAVIYO_BASE_URL": url},
        {"mode": "upsert", "config": {"list_id": "KL1"}},
        None,  # Klaviyo reports row errors asynchronously
        lambda snap: len(snap["lists"].get("KL1", ())),
        {"KLAVIYO_API_KEY": "wrong"},
    ),
    Case(
        "hubspot",
        lambda: fake_apis.HubspotContract("pat-SECRET-hubspot"),
        lambda url: {"HUBSPOT_ACCESS_TOKEN": "pat-SECRET-hubspot", "HUBSPOT_BASE_URL": url},
        {
            "mode": "mirror",
            "on_leave": "clear_fields",
            "identifiers": {"email": "email"},
            "fields": {"firstname": "first_name", "product": "product_name"},
            "config": {"object_type": "contacts"},  # upserted by cdp_customer_id
        },
        lambda p: p["customer_id"],
        len,
        {"HUBSPOT_ACCESS_TOKEN": "wrong"},
    ),
    Case(
        "meta_custom_audiences",
        lambda: fake_apis.MetaContract("EAAB-SECRET-meta", "A1"),
        lambda url: {"META_ACCESS_TOKEN": "EAAB-SECRET-meta", "META_BASE_URL": url},
        {
            "mode": "add_remove",
            "identifiers": {"email": "email", "phone": "phone", "country": "country"},
            "fields": {},
            "config": {"audience_id": "A1"},
        },
        None,  # Meta only counts invalid entries
        len,
        {"META_ACCESS_TOKEN": "wrong"},
    ),
    Case(
        "google_ads_customer_match",
        lambda: fake_apis.GoogleAdsContract("ya29-SECRET-google", "dev-SECRET", "1234567890", "UL1"),
        lambda url: {
            "GOOGLE_ADS_ACCESS_TOKEN": "ya29-SECRET-google",
            "GOOGLE_ADS_DEVELOPER_TOKEN": "dev-SECRET",
            "GOOGLE_ADS_CUSTOMER_ID": "123-456-7890",
            "GOOGLE_ADS_BASE_URL": url,
        },
        {
            "mode": "add_remove",
            "identifiers": {"email": "email", "phone": "phone", "country_code": "country"},
            "fields": {},
            "config": {"user_list_id": "UL1"},
        },
        lambda p: sha(p["email"]),
        len,
        {"GOOGLE_ADS_ACCESS_TOKEN": "wrong"},
    ),
    Case(
        "braze",
        lambda: fake_apis.BrazeContract("SECRET-braze"),
        lambda url: {"BRAZE_API_KEY": "SECRET-braze", "BRAZE_REST_ENDPOINT": url},
        {
            "mode": "mirror",
            "on_leave": "clear_fields",
            "identifiers": {"external_id": "customer_id", "email": "email", "phone": "phone"},
        },
        lambda p: p["customer_id"],
        len,
        {"BRAZE_API_KEY": "wrong"},
    ),
]
BY_NAME = {case.destination: case for case in CASES}
HTTP_DESTINATIONS = [name for name in available() if name != "file"]


def test_every_destination_module_has_a_contract_test():
    assert sorted(BY_NAME) == sorted(HTTP_DESTINATIONS)


@pytest.fixture(params=[case.destination for case in CASES])
def case(request) -> Case:
    return BY_NAME[request.param]


@pytest.fixture
def people() -> list[dict]:
    return [person(number) for number in range(PEOPLE)]


def _sync(case: Case, url: str, warehouse, policy, env_overrides=None, spec_overrides=None, **run):
    declared = {**case.spec, **(spec_overrides or {})}
    spec = make_spec(name=f"{case.destination}_test", destination=case.destination, **declared)
    env = {**case.env(url), **(env_overrides or {})}
    return run_sync(warehouse.path, spec, env=env, policy=policy, **run)


def test_delivers_every_row_within_the_contract(case, warehouse, people, fast_policy):
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        result = _sync(case, api.url, warehouse, fast_policy)
        assert api.violations == []
        assert (result.status, result.added, result.failed) == ("success", PEOPLE, 0)
        assert case.members(api.contract.snapshot()) == PEOPLE
        declared = destination_class(case.destination)
        assert api.max_in_flight <= declared.concurrency
        # A second run with no change sends nothing.
        requests_before = len(api.requests)
        again = _sync(case, api.url, warehouse, fast_policy)
        assert (again.status, again.added, again.updated, again.removed) == ("success", 0, 0, 0)
        assert len(api.requests) == requests_before


def test_retries_429_with_retry_after_5xx_and_timeouts(case, warehouse, people, fast_policy):
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        api.fail_next(("429", "7"), ("500",), ("timeout", 1.0))
        result = _sync(case, api.url, warehouse, fast_policy)
        assert api.violations == []
        assert (result.status, result.added, result.failed) == ("success", PEOPLE, 0)
        assert case.members(api.contract.snapshot()) == PEOPLE
        assert 7.0 in fast_policy.sleep.calls  # Retry-After was honoured


@pytest.mark.parametrize(
    "name",
    [case.destination for case in CASES if case.refused_key is not None],  # Klaviyo, Meta: not per row
)
def test_refused_rows_are_recorded_and_retried_next_run(name, warehouse, people, fast_policy):
    case = BY_NAME[name]
    warehouse.write(people)
    refused = people[3]
    with fake_apis.FakeApi(case.contract()) as api:
        api.contract.refuse = {case.refused_key(refused)}
        first = _sync(case, api.url, warehouse, fast_policy)
        assert (first.status, first.added, first.failed) == ("partial", PEOPLE - 1, 1)
        assert warehouse.query(
            "select status, last_error is not null from reverse_etl.sync_state where primary_key = ?",
            [refused["customer_id"]],
        ) == [("failed", True)]
        assert warehouse.query(
            "select operation, status from reverse_etl.sync_log where run_id = ? and status = 'failed'", [first.run_id]
        ) == [("add", "failed")]
        api.contract.refuse = set()
        second = _sync(case, api.url, warehouse, fast_policy)
        assert (second.status, second.added, second.failed) == ("success", 1, 0)
        assert case.members(api.contract.snapshot()) == PEOPLE


def test_rows_that_leave_are_removed_or_cleared(case, warehouse, people, fast_policy):
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        _sync(case, api.url, warehouse, fast_policy)
        people[0]["in_segment"] = False
        warehouse.write(people)
        result = _sync(case, api.url, warehouse, fast_policy)
        assert api.violations == []
        snapshot = api.contract.snapshot()
        on_leave = make_spec(**case.spec).on_leave
        if on_leave == "remove":
            assert (result.removed, case.members(snapshot)) == (1, PEOPLE - 1)
        elif on_leave == "clear_fields":
            assert result.removed == 1
            key = case.refused_key(people[0])
            cleared = snapshot[key]
            assert all(not cleared.get(name) for name in case.spec.get("fields", {"first_name": 1}))
        else:
            assert (result.removed, case.members(snapshot)) == (0, PEOPLE)


def test_wrong_credentials_mark_nothing_sent(case, warehouse, people, fast_policy):
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        result = _sync(case, api.url, warehouse, fast_policy, env_overrides=case.bad_env)
        assert result.status == "failed"
        assert result.added == 0
        assert warehouse.query("select count(*) from reverse_etl.sync_state where in_destination") == [(0,)]


def test_missing_credentials_skip_the_sync(case, warehouse, people, fast_policy):
    warehouse.write(people)
    spec = make_spec(name="unconfigured", destination=case.destination, **case.spec)
    result = run_sync(warehouse.path, spec, env={}, policy=fast_policy)
    assert result.status == "skipped"
    assert "not configured" in result.message
    assert warehouse.query("select status from reverse_etl.sync_runs where sync_name = 'unconfigured'") == [
        ("skipped",)
    ]


def test_mailchimp_never_resubscribes_an_unsubscribed_member(warehouse, fast_policy):
    case = BY_NAME["mailchimp"]
    people = [person(1), person(2)]
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        # Person 1 unsubscribed in Mailchimp itself, after an earlier sync.
        api.contract.members["person1@example.com"] = {"status": "unsubscribed", "merge_fields": {}}
        result = _sync(case, api.url, warehouse, fast_policy)
        assert api.violations == []  # no member carried `status`
        assert result.added == 2
        assert api.contract.members["person1@example.com"]["status"] == "unsubscribed"
        assert api.contract.members["person2@example.com"]["status"] == "subscribed"


def test_meta_receives_hashed_identifiers_in_schema_order(warehouse, fast_policy):
    case = BY_NAME["meta_custom_audiences"]
    warehouse.write([person(1, email="  Person1@Example.COM ", phone="+31 6 1234 0001")])
    with fake_apis.FakeApi(case.contract()) as api:
        _sync(case, api.url, warehouse, fast_policy)
        assert api.contract.schema == ["EMAIL", "PHONE", "COUNTRY"]
        assert api.contract.snapshot() == {(sha("person1@example.com"), sha("31612340001"), sha("nl"))}


def test_google_receives_normalised_hashed_identifiers(warehouse, fast_policy):
    case = BY_NAME["google_ads_customer_match"]
    warehouse.write([person(1, email="Jane.Doe+boots@gmail.com", phone="06 12340001")])
    with fake_apis.FakeApi(case.contract()) as api:
        _sync(case, api.url, warehouse, fast_policy)
        assert api.contract.snapshot() == {tuple(sorted([sha("janedoe@gmail.com"), sha("+31612340001")]))}


@pytest.mark.parametrize("name", ["meta_custom_audiences", "google_ads_customer_match", "mailchimp"])
def test_a_changed_identifier_replaces_the_old_member(name, warehouse, fast_policy):
    case = BY_NAME[name]
    people = [person(1), person(2)]
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        _sync(case, api.url, warehouse, fast_policy)
        before = api.contract.snapshot()
        people[0]["email"] = "new.address@example.com"
        warehouse.write(people)
        result = _sync(case, api.url, warehouse, fast_policy)
        after = api.contract.snapshot()
    assert (result.status, result.updated, result.removed) == ("success", 1, 0)
    assert case.members(after) == 2
    assert after != before
    assert "person1@example.com" not in after and sha("person1@example.com") not in str(after)


def test_hubspot_updates_one_contact_when_the_email_changes(warehouse, fast_policy):
    case = BY_NAME["hubspot"]
    people = [person(1), person(2)]
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        _sync(case, api.url, warehouse, fast_policy)
        people[0]["email"] = "new.address@example.com"
        people[0]["first_name"] = "Renamed"
        warehouse.write(people)
        result = _sync(case, api.url, warehouse, fast_policy)
        assert api.violations == []
        assert (result.updated, result.added, result.failed) == (1, 0, 0)
        contacts = api.contract.snapshot()
        assert len(contacts) == 2  # no second contact for the new address
        assert contacts[people[0]["customer_id"]]["email"] == "new.address@example.com"
        assert contacts[people[0]["customer_id"]]["firstname"] == "Renamed"
        assert api.contract.properties["cdp_customer_id"] == {"hasUniqueValue": True}  # created on first use


def test_hubspot_adopts_a_contact_it_already_has_by_email(warehouse, fast_policy):
    case = BY_NAME["hubspot"]
    warehouse.write([person(1), person(2)])
    with fake_apis.FakeApi(case.contract()) as api:
        api.contract.objects["900"] = {"email": "person1@example.com", "firstname": "From a form"}
        result = _sync(case, api.url, warehouse, fast_policy)
        assert (result.added, result.failed) == (2, 0)
        assert len(api.contract.objects) == 2
        assert api.contract.objects["900"]["cdp_customer_id"] == person(1)["customer_id"]
        assert api.contract.objects["900"]["firstname"] == "First1"


def test_meta_invalid_entries_make_the_run_partial_and_the_batch_unconfirmed(warehouse, fast_policy):
    case = BY_NAME["meta_custom_audiences"]
    people = [person(number) for number in range(5)]
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        api.contract.refuse = {sha(people[2]["email"])}  # Meta counts it invalid, names no row
        result = _sync(case, api.url, warehouse, fast_policy)
    assert (result.status, result.added, result.unconfirmed, result.invalid_entries) == ("partial", 0, 5, 1)
    assert "5 rows unconfirmed" in result.message
    assert warehouse.query(
        "select distinct status, in_destination from reverse_etl.sync_state where sync_name = 'meta_custom_audiences_test'"
    ) == [("unconfirmed", True)]  # kept as members, so a later removal or withdrawal reaches them
    assert warehouse.query(
        "select status, unconfirmed, invalid_entries from reverse_etl.sync_runs where run_id = ?", [result.run_id]
    ) == [("partial", 5, 1)]
    assert warehouse.query("select distinct status from reverse_etl.sync_log where run_id = ?", [result.run_id]) == [
        ("unconfirmed",)
    ]
