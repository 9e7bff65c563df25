"""Consent against each destination's local API: a withdrawal is the destination's own
opt-out, a sync only reaches people who consented to its purpose, and no request can
subscribe anyone (issue 14, findings 1, 2 and 5)."""

from __future__ import annotations

import pytest

from tests.activate import fake_apis
from tests.activate.conftest import person
from tests.activate.test_destinations import BY_NAME, CASES, PEOPLE, Case, _sync

# Every destination synced for email marketing, except the ad audiences (ads).
PURPOSE = {each.destination: "email_marketing" for each in CASES} | {
    "meta_custom_audiences": "ads",
    "google_ads_customer_match": "ads",
}
CONSENT_FIELD = {"email_marketing": "consent_email_marketing", "ads": "consent_ads"}
SUBSCRIPTION = "sub-123"  # the HubSpot email subscription type


@pytest.fixture(params=sorted(PURPOSE))
def case(request) -> Case:
    return BY_NAME[request.param]


def spec_overrides(destination: str) -> dict:
    overrides = {"purpose": PURPOSE[destination]}
    if destination == "hubspot":
        overrides["config"] = {**BY_NAME["hubspot"].spec["config"], "subscription_id": SUBSCRIPTION}
    return overrides


def opted_out(destination: str, contract, who: dict) -> bool:
    """Whether the destination holds this person as opted out (or not at all, for audiences)."""
    email = who["email"]
    if destination == "webhook":
        return who["customer_id"] in contract.withdrawn and who["customer_id"] not in contract.rows
    if destination == "mailchimp":
        return contract.members[email]["status"] == "unsubscribed"
    if destination == "klaviyo":
        return email in contract.suppressed
    if destination == "hubspot":
        return (email, SUBSCRIPTION) in contract.unsubscribed
    if destination == "braze":
        return contract.users[who["customer_id"]].get("email_subscribe") == "unsubscribed"
    hashed = fake_apis.hashlib.sha256(email.encode()).hexdigest()
    return not any(hashed in member for member in contract.snapshot())  # audiences: removed


def reachable(destination: str, contract, who: dict) -> bool:
    """Whether the destination would message (or target) this person."""
    email = who["email"]
    if destination == "webhook":
        return who["customer_id"] in contract.rows
    if destination == "mailchimp":
        return contract.members.get(email, {}).get("status") == "subscribed"
    if destination == "klaviyo":
        return email in contract.profiles and email not in contract.suppressed
    if destination == "hubspot":
        return who["customer_id"] in contract.snapshot() and (email, SUBSCRIPTION) not in contract.unsubscribed
    if destination == "braze":
        user = contract.users.get(who["customer_id"])
        return user is not None and user.get("email_subscribe") != "unsubscribed"
    return not opted_out(destination, contract, who)


def test_no_destination_reaches_anyone_without_consent(case, warehouse, fast_policy):
    purpose = PURPOSE[case.destination]
    people = [person(number) for number in range(PEOPLE)]
    for number in range(0, PEOPLE, 4):  # a quarter never consented, unknown or unsubscribed
        people[number][CONSENT_FIELD[purpose]] = [False, None][number % 8 // 4]
    if purpose == "email_marketing":
        people[1]["email_unsubscribed"] = True
    warehouse.write(people)
    with fake_apis.FakeApi(case.contract()) as api:
        result = _sync(case, api.url, warehouse, fast_policy, spec_overrides=spec_overrides(case.destination))
        assert api.violations == []
        violations = [p for p in people if not _consents(p, purpose) and reachable(case.destination, api.contract, p)]
        assert violations == []
        assert result.skipped_consent == sum(not _consents(p, purpose) for p in people)


def _consents(who: dict, purpose: str) -> bool:
    consented = bool(who[CONSENT_FIELD[purpose]])
    return consented and not (purpose == "email_marketing" and who["email_unsubscribed"])


def test_withdrawn_consent_is_the_destinations_own_opt_out(case, warehouse, fast_policy):
    purpose = PURPOSE[case.destination]
    people = [person(number) for number in range(PEOPLE)]
    warehouse.write(people)
    overrides = {"spec_overrides": spec_overrides(case.destination)}
    with fake_apis.FakeApi(case.contract()) as api:
        assert _sync(case, api.url, warehouse, fast_policy, **overrides).added == PEOPLE
        people[0][CONSENT_FIELD[purpose]] = False  # still in the segment
        people[1].update(in_segment=False, **{CONSENT_FIELD[purpose]: False})  # left too
        if purpose == "email_marketing":
            people[2]["email_unsubscribed"] = True
        withdrawn = people[:3] if purpose == "email_marketing" else people[:2]
        warehouse.write(people)
        result = _sync(case, api.url, warehouse, fast_policy, **overrides)
        assert api.violations == []
        assert (result.status, result.withdrawn, result.failed) == ("success", len(withdrawn), 0)
        assert all(opted_out(case.destination, api.contract, who) for who in withdrawn)
        assert not any(reachable(case.destination, api.contract, who) for who in withdrawn)
        assert all(reachable(case.destination, api.contract, who) for who in people[3:])
        # Nothing is sent twice, and a later run does not bring them back.
        requests = len(api.requests)
        again = _sync(case, api.url, warehouse, fast_policy, **overrides)
        assert (again.withdrawn, again.added, again.updated) == (0, 0, 0)
        assert len(api.requests) == requests


def test_mailchimp_member_archived_meanwhile_is_not_re_added_as_subscribed(warehouse, fast_policy):
    mailchimp = BY_NAME["mailchimp"]
    people = [person(1), person(2), person(3)]
    warehouse.write(people)
    with fake_apis.FakeApi(mailchimp.contract()) as api:
        _sync(mailchimp, api.url, warehouse, fast_policy)
        api.contract.members["person1@example.com"]["status"] = "archived"  # archived in Mailchimp
        people[0]["consent_email_marketing"] = False
        people[1]["email_unsubscribed"] = True
        warehouse.write(people)
        result = _sync(mailchimp, api.url, warehouse, fast_policy)
        assert api.violations == []  # no withdrawal carried status_if_new or a subscribing status
        assert result.withdrawn == 2
        assert api.contract.members["person1@example.com"]["status"] == "unsubscribed"
        assert api.contract.members["person2@example.com"]["status"] == "unsubscribed"
        assert api.contract.subscribed() == {"person3@example.com"}
        withdrawals = [r for r in api.requests if b'"status":"unsubscribed"' in r["body"].replace(b" ", b"")]
        assert withdrawals and all(b"status_if_new" not in r["body"] for r in withdrawals)


def test_mailchimp_tags_are_added_to_every_member(warehouse, fast_policy):
    mailchimp = BY_NAME["mailchimp"]
    warehouse.write([person(1), person(2)])
    overrides = {"config": {"list_id": "L1", "tags": ["cross_sell", "nightly"]}}
    with fake_apis.FakeApi(mailchimp.contract()) as api:
        _sync(mailchimp, api.url, warehouse, fast_policy, spec_overrides=overrides)
        assert api.violations == []
        assert {email: m["tags"] for email, m in api.contract.members.items()} == {
            "person1@example.com": {"cross_sell", "nightly"},
            "person2@example.com": {"cross_sell", "nightly"},
        }


@pytest.mark.parametrize("purpose", ["service", "email_marketing"])
def test_a_crm_sync_reaches_only_whom_its_purpose_allows(purpose, warehouse, fast_policy):
    hubspot = BY_NAME["hubspot"]
    people = [person(1), person(2, consent_email_marketing=False), person(3, email_unsubscribed=True)]
    warehouse.write(people)
    overrides = {"purpose": purpose, "config": {"object_type": "contacts", "subscription_id": SUBSCRIPTION}}
    with fake_apis.FakeApi(hubspot.contract()) as api:
        result = _sync(hubspot, api.url, warehouse, fast_policy, spec_overrides=overrides)
        contacts = set(api.contract.snapshot())
    if purpose == "service":  # account managers see every VIP; HubSpot sends them no marketing
        assert contacts == {p["customer_id"] for p in people}
    else:
        assert (contacts, result.skipped_consent) == ({people[0]["customer_id"]}, 2)
