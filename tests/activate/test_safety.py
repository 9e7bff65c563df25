"""What keeps unattended syncs safe (issue 14): the mass-removal guard, the row log's
retention and hashing, and deletion requests to destinations (the right to be forgotten)."""

from __future__ import annotations

import duckdb
import pytest

from cdp.activate import run_sync
from cdp.activate.engine import process_pending_erasures
from cdp.activate.erasure import queue_erasures
from tests.activate import fake_apis
from tests.activate.conftest import make_spec, person
from tests.activate.test_consent import PURPOSE, opted_out, reachable, spec_overrides
from tests.activate.test_destinations import BY_NAME, _sync


def exports(warehouse) -> list:
    return sorted((warehouse.path.parent / "exports" / "test_sync").glob("*.csv"))


def test_a_sync_removing_more_than_the_share_sends_nothing_until_confirmed(warehouse, monkeypatch):
    people = [person(number) for number in range(40)]
    warehouse.write(people)
    assert run_sync(warehouse.path, make_spec()).added == 40
    for who in people[:12]:  # a source failed: 30 % of the members are gone
        who["in_segment"] = False
    warehouse.write(people)
    blocked = run_sync(warehouse.path, make_spec())
    assert blocked.status == "blocked"
    assert "would remove 12 of its 40 members (30%, more than 20%); nothing was sent" in blocked.message
    assert (blocked.removed, len(exports(warehouse))) == (0, 1)
    assert warehouse.query("select count(*) from reverse_etl.sync_state where in_destination") == [(40,)]
    monkeypatch.setenv("CDP_CONFIRM_REMOVALS", "1")
    confirmed = run_sync(warehouse.path, make_spec())
    assert (confirmed.status, confirmed.removed) == ("success", 12)


def test_the_guard_counts_withdrawals_and_leaves_small_changes_alone(warehouse):
    people = [person(number) for number in range(40)]
    warehouse.write(people)
    spec = make_spec(purpose="email_marketing", max_removal_share=0.5)
    run_sync(warehouse.path, spec)
    for who in people[:9]:  # fewer than ten removals: a normal night
        who["in_segment"] = False
    warehouse.write(people)
    assert run_sync(warehouse.path, spec).removed == 9
    for who in people:  # the consent source was switched off: nobody's consent is stated
        who["consent_email_marketing"] = None
    warehouse.write(people)
    blocked = run_sync(warehouse.path, spec)
    assert (blocked.status, blocked.withdrawn) == ("blocked", 0)
    assert "would remove 31 of its 31 members" in blocked.message
    dry = run_sync(warehouse.path, spec, dry_run=True)
    assert dry.planned["withdraw"] == 31 and "would stop: would remove 31" in dry.message


def test_the_row_log_keeps_its_retention_and_only_hashes_when_asked(warehouse, monkeypatch):
    people = [person(number) for number in range(3)]
    warehouse.write(people)
    first = run_sync(warehouse.path, make_spec())
    with duckdb.connect(str(warehouse.path)) as con:
        con.execute(
            "update reverse_etl.sync_log set logged_at = logged_at - interval 31 days where run_id = ?", [first.run_id]
        )
    people[0]["first_name"] = "Changed"
    warehouse.write(people)
    monkeypatch.setenv("CDP_SYNC_LOG_RECORDS", "hashes")
    second = run_sync(warehouse.path, make_spec())
    assert warehouse.query("select distinct run_id from reverse_etl.sync_log") == [(second.run_id,)]
    [(record,)] = warehouse.query("select record from reverse_etl.sync_log")
    assert record.startswith("sha256:") and "person0" not in record
    assert run_sync(warehouse.path, make_spec()).planned["update"] == 0  # the state kept what it needs
    monkeypatch.setenv("CDP_SYNC_LOG_RETENTION_DAYS", "0")
    with pytest.raises(Exception, match="CDP_SYNC_LOG_RETENTION_DAYS: '0' is not a whole number of days"):
        run_sync(warehouse.path, make_spec())


def deleted(destination: str, contract, who: dict) -> bool:
    email = who["email"]
    if destination == "webhook":
        return any(row.get("email") == email for row in contract.erased)
    if destination in ("mailchimp", "klaviyo", "hubspot"):
        return email in contract.deleted
    if destination == "braze":
        return who["customer_id"] in contract.deleted and who["customer_id"] not in contract.users
    return opted_out(destination, contract, who)  # audiences: removed


@pytest.mark.parametrize("destination", sorted(PURPOSE))
def test_forgotten_people_are_deleted_in_each_destination_and_a_destination_down_is_asked_again(
    destination, warehouse, fast_policy
):
    case = BY_NAME[destination]
    people = [person(1), person(2)]
    warehouse.write(people)
    overrides = spec_overrides(case.destination)
    with fake_apis.FakeApi(case.contract()) as api:
        _sync(case, api.url, warehouse, fast_policy, spec_overrides=overrides)
        spec = make_spec(name=f"{case.destination}_test", destination=case.destination, **{**case.spec, **overrides})
        env = case.env(api.url)
        with duckdb.connect(str(warehouse.path)) as con:
            assert queue_erasures(con, "forget-1", [people[0]["customer_id"]]) == 1
        api.fail_next(*[("500",)] * 4)  # down for the whole first attempt
        [down] = process_pending_erasures(warehouse.path, [spec], env=env, policy=fast_policy)
        assert down.status == "pending" and "500" in down.error
        assert not deleted(case.destination, api.contract, people[0])
        later = _sync(case, api.url, warehouse, fast_policy, spec_overrides=overrides)  # the next nightly sync
        assert later.status == "success"
        assert api.violations == []
        assert deleted(case.destination, api.contract, people[0])
        assert reachable(case.destination, api.contract, people[1])
    assert warehouse.query(
        "select status, attempts, people is null, finished_at is not null from privacy.erasure_requests"
    ) == [("deleted", 2, True, True)]
