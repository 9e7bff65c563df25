"""The sync engine on the file and webhook destinations: diff, modes, consent, dry run, runs and log."""

from __future__ import annotations

import csv
import json
import threading

import pytest

from bench.pacing_bench import busiest_window
from cdp.activate import run_sync
from cdp.activate.delivery import Pacer, RateLimit, batched, parse_retry_after
from cdp.errors import CdpError
from tests.activate import fake_apis
from tests.activate.conftest import make_spec, person


def exported(warehouse, result) -> list[dict]:
    files = sorted((warehouse.path.parent / "exports" / result.sync_name).glob(f"*_{result.run_id[:8]}.csv"))
    if not files:
        return []
    with files[0].open() as handle:
        return list(csv.DictReader(handle))


def test_diff_over_three_runs_add_change_leave(warehouse):
    people = [person(number) for number in range(5)]
    warehouse.write(people)
    spec = make_spec()

    first = run_sync(warehouse.path, spec)
    assert (first.added, first.updated, first.removed) == (5, 0, 0)
    assert {row["_operation"] for row in exported(warehouse, first)} == {"add"}

    people[1]["product_name"] = "Tent"
    people[4]["in_segment"] = False
    people.append(person(7))
    warehouse.write(people)
    second = run_sync(warehouse.path, spec)
    assert (second.added, second.updated, second.removed) == (1, 1, 1)
    changes = {row["customer_id"]: row for row in exported(warehouse, second)}
    assert changes[people[1]["customer_id"]]["_operation"] == "update"
    assert changes[people[1]["customer_id"]]["product_name"] == "Tent"
    assert changes[people[4]["customer_id"]]["_operation"] == "remove"
    assert changes[people[5]["customer_id"]]["_operation"] == "add"

    third = run_sync(warehouse.path, spec)
    assert (third.added, third.updated, third.removed, third.status) == (0, 0, 0, "success")
    assert exported(warehouse, third) == []

    state = dict(warehouse.query("select primary_key, status from reverse_etl.sync_state"))
    assert state[people[4]["customer_id"]] == "removed"
    assert sum(status == "sent" for status in state.values()) == 5
    runs = warehouse.query("select added, updated, removed, status from reverse_etl.sync_runs order by started_at")
    assert runs == [(5, 0, 0, "success"), (1, 1, 1, "success"), (0, 0, 0, "success")]
    log = warehouse.query("select operation, count(*) from reverse_etl.sync_log group by all order by 1")
    assert log == [("add", 6), ("remove", 1), ("update", 1)]


def test_a_row_that_comes_back_is_added_again(warehouse):
    people = [person(1), person(2)]
    warehouse.write(people)
    spec = make_spec()
    run_sync(warehouse.path, spec)
    people[0]["in_segment"] = False
    warehouse.write(people)
    run_sync(warehouse.path, spec)
    people[0]["in_segment"] = True
    warehouse.write(people)
    assert run_sync(warehouse.path, spec).added == 1


def test_full_resync_sends_everything_and_fires_no_deletes(warehouse):
    people = [person(number) for number in range(4)]
    warehouse.write(people)
    spec = make_spec()
    run_sync(warehouse.path, spec)
    people[0]["in_segment"] = False
    warehouse.write(people)
    result = run_sync(warehouse.path, spec, full_resync=True)
    assert (result.added, result.updated, result.removed) == (0, 3, 0)
    assert {row["_operation"] for row in exported(warehouse, result)} == {"update"}
    # The leaver is still to be removed on the next ordinary run.
    assert run_sync(warehouse.path, spec).removed == 1


def test_upsert_mode_ignores_rows_that_leave(warehouse):
    people = [person(1), person(2)]
    warehouse.write(people)
    spec = make_spec(mode="upsert")
    run_sync(warehouse.path, spec)
    people[0]["in_segment"] = False
    warehouse.write(people)
    assert run_sync(warehouse.path, spec).removed == 0


def test_consent_is_enforced_and_withdrawn_consent_is_sent_as_a_withdrawal(warehouse):
    people = [
        person(1),
        person(2, consent_email_marketing=False),
        person(3, consent_email_marketing=None),  # unknown = no
        person(4, email_unsubscribed=True),
        person(5, consent_ads=False),
    ]
    warehouse.write(people)
    email_spec = make_spec(name="email_sync", purpose="email_marketing")
    ads_spec = make_spec(name="ads_sync", purpose="ads")
    email = run_sync(warehouse.path, email_spec)
    ads = run_sync(warehouse.path, ads_spec)
    assert {row["customer_id"] for row in exported(warehouse, email)} == {
        people[0]["customer_id"],
        people[4]["customer_id"],
    }
    assert (email.added, email.skipped_consent) == (2, 3)
    assert (ads.added, ads.skipped_consent) == (4, 1)

    people[0]["consent_email_marketing"] = False
    warehouse.write(people)
    later = run_sync(warehouse.path, email_spec)
    # Still in the segment, consent gone: the destination's opt-out, not a removal or an update.
    assert (later.withdrawn, later.removed, later.updated, later.skipped_consent) == (1, 0, 0, 4)
    [row] = exported(warehouse, later)
    assert (row["customer_id"], row["_operation"], row["first_name"]) == (people[0]["customer_id"], "withdraw", "")
    assert warehouse.query(
        "select skipped_consent, withdrawn from reverse_etl.sync_runs where run_id = ?", [later.run_id]
    ) == [(4, 1)]
    assert warehouse.query(
        "select status, in_destination from reverse_etl.sync_state where sync_name = 'email_sync' and primary_key = ?",
        [people[0]["customer_id"]],
    ) == [("withdrawn", False)]


def test_withdrawn_consent_outside_the_segment_is_a_withdrawal_even_with_on_leave_ignore(warehouse):
    people = [person(1), person(2), person(3)]
    warehouse.write(people)
    spec = make_spec(name="upserts", mode="upsert", purpose="email_marketing")  # on_leave: ignore
    assert run_sync(warehouse.path, spec).added == 3
    people[0].update(in_segment=False, email_unsubscribed=True)  # left, and unsubscribed
    people[1].update(in_segment=False)  # left only: ignored
    warehouse.write(people)
    later = run_sync(warehouse.path, spec)
    assert (later.withdrawn, later.removed) == (1, 0)
    assert [row["customer_id"] for row in exported(warehouse, later)] == [people[0]["customer_id"]]
    again = run_sync(warehouse.path, spec)  # nothing is sent twice
    assert (again.withdrawn, again.added, again.removed) == (0, 0, 0)


def test_an_email_tool_cannot_be_given_another_purpose(warehouse):
    warehouse.write([person(1, consent_email_marketing=False)])
    for purpose in ("ads", "service"):
        with pytest.raises(CdpError, match=f"purpose: '{purpose}' is not allowed for braze"):
            run_sync(warehouse.path, make_spec(destination="braze", mode="upsert", purpose=purpose), env={})


def test_dry_run_sends_nothing_and_shows_a_sample(warehouse, fast_policy):
    warehouse.write([person(number) for number in range(3)])
    contract = fake_apis.WebhookContract("s3cret")
    with fake_apis.FakeApi(contract) as api:
        spec = make_spec(destination="webhook", config={"url": f"{api.url}/hook"})
        result = run_sync(warehouse.path, spec, dry_run=True, env={"CDP_WEBHOOK_SECRET": "s3cret"}, policy=fast_policy)
        assert api.requests == []
    assert result.status == "dry_run"
    assert result.planned["add"] == 3
    assert len(result.sample["add"]) == 3
    assert json.loads(result.sample["add"][0][1])["identifiers"]["email"] == "person0@example.com"
    assert warehouse.query("select count(*) from reverse_etl.sync_state") == [(0,)]


def test_a_rejected_batch_is_split_to_isolate_the_bad_row(warehouse, fast_policy):
    people = [person(number) for number in range(10)]
    warehouse.write(people)

    class RejectingWebhook(fake_apis.WebhookContract):
        def handle(self, method, path, headers, body):
            if people[6]["customer_id"].encode() in body:
                return 422, {"error": "one row is invalid"}
            return super().handle(method, path, headers, body)

    with fake_apis.FakeApi(RejectingWebhook("s3cret")) as api:
        spec = make_spec(destination="webhook", config={"url": f"{api.url}/hook", "batch_size": 10})
        result = run_sync(warehouse.path, spec, env={"CDP_WEBHOOK_SECRET": "s3cret"}, policy=fast_policy)
        assert (result.status, result.added, result.failed) == ("partial", 9, 1)
        assert set(api.contract.rows) == {p["customer_id"] for p in people} - {people[6]["customer_id"]}
    error = warehouse.query(
        "select last_error from reverse_etl.sync_state where primary_key = ?", [people[6]["customer_id"]]
    )
    assert "422" in error[0][0]


def test_unusable_identifiers_are_failures_not_sends(warehouse, fast_policy):
    warehouse.write([person(1), person(2, email="not-an-email")])
    with fake_apis.FakeApi(fake_apis.BrazeContract("k")) as api:
        spec = make_spec(destination="braze", mode="upsert", identifiers={"email": "email"})
        result = run_sync(
            warehouse.path, spec, env={"BRAZE_API_KEY": "k", "BRAZE_REST_ENDPOINT": api.url}, policy=fast_policy
        )
        assert (result.added, result.failed) == (1, 1)
    assert warehouse.query("select error from reverse_etl.sync_log where status = 'failed'") == [
        ("identifier: not an email address: 'not-an-email'",)
    ]


def test_rows_without_any_usable_identifier_are_skipped_not_failed(warehouse, fast_policy):
    warehouse.write([person(1), person(2, email=None)])
    with fake_apis.FakeApi(fake_apis.BrazeContract("k")) as api:
        spec = make_spec(destination="braze", mode="upsert", identifiers={"email": "email"})
        result = run_sync(
            warehouse.path, spec, env={"BRAZE_API_KEY": "k", "BRAZE_REST_ENDPOINT": api.url}, policy=fast_policy
        )
    assert (result.status, result.added, result.failed, result.skipped_identifier) == ("success", 1, 0, 1)
    assert warehouse.query("select skipped_identifier from reverse_etl.sync_runs") == [(1,)]


def test_parquet_export(warehouse, tmp_path):
    import pyarrow.parquet as pq

    warehouse.write([person(1), person(2)])
    spec = make_spec(config={"format": "parquet", "folder": str(tmp_path / "out")})
    result = run_sync(warehouse.path, spec)
    [file] = (tmp_path / "out" / spec.name).glob("*.parquet")
    assert pq.read_table(file).num_rows == 2 == result.added


def test_unsupported_leave_behaviour_is_skipped_with_a_reason(warehouse):
    warehouse.write([person(1)])
    result = run_sync(warehouse.path, make_spec(destination="klaviyo", mode="mirror", on_leave="remove"), env={})
    assert result.status == "skipped"
    assert "cannot remove" in result.message


def test_bad_segments_raise_clear_errors(warehouse):
    warehouse.write([person(1), person(1)])
    with pytest.raises(CdpError, match="primary_key 'customer_id' must be unique"):
        run_sync(warehouse.path, make_spec())
    with pytest.raises(CdpError, match=r"fields\.x: column 'nope' is not in"):
        run_sync(warehouse.path, make_spec(fields={"x": "nope"}))
    with pytest.raises(CdpError, match="not found in the warehouse"):
        run_sync(warehouse.path, make_spec(relation='"segments"."missing"'))
    statuses = warehouse.query("select distinct status from reverse_etl.sync_runs")
    assert statuses == [("failed",)]


def test_batches_respect_row_and_byte_limits():
    items = [{"v": "x" * 90} for _ in range(25)]
    by_rows = list(batched(items, 10, None, lambda item: 100))
    assert [len(batch) for batch in by_rows] == [10, 10, 5]
    by_bytes = list(batched(items, 100, 1000, lambda item: 100))
    assert all(sum(100 + 1 for _ in batch) <= 1000 for batch in by_bytes)
    assert sum(len(batch) for batch in by_bytes) == 25


class VirtualClock:
    """A clock that only moves when someone sleeps: pacing measured without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += max(seconds, 0.0)


@pytest.mark.parametrize(
    "limits",
    [(RateLimit(190, 10),), (RateLimit(10, 1),), (RateLimit(50, 1),), (RateLimit(10, 1), RateLimit(150, 60))],
    ids=["hubspot", "mailchimp", "webhook", "klaviyo"],
)
def test_no_window_holds_more_than_the_declared_rate_from_the_first_request_on(limits):
    clock = VirtualClock()
    pacer = Pacer(limits, clock)
    sent: list[float] = []
    lock = threading.Lock()

    def worker(requests: int) -> None:
        for _ in range(requests):
            with lock:  # one sleeper at a time, so the time recorded is the time the pacer saw
                ticket = pacer.acquire(clock.sleep)
                sent.append(clock())
                pacer.done(ticket)

    threads = [threading.Thread(target=worker, args=(limits[-1].requests,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 4 * limits[-1].requests
    for limit in limits:
        assert busiest_window(sent, limit.per_seconds) <= limit.requests
    # and the limit is used: a window holds the declared number at its busiest
    assert busiest_window(sent, limits[0].per_seconds) == limits[0].requests


def test_retry_after_parses_seconds_and_dates():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after(None) is None


def test_google_members_are_uploaded_again_before_the_540_day_expiry(warehouse):
    import duckdb

    warehouse.write([person(1), person(2)])
    spec = make_spec(
        destination="google_ads_customer_match", mode="add_remove", identifiers={"email": "email"}, fields={}
    )
    with duckdb.connect(str(warehouse.path)) as con:
        from cdp.activate.state import ensure_schema

        ensure_schema(con)
        # Both were uploaded before with the same data; one of them 530 days ago.
        con.execute(
            """
            insert into reverse_etl.sync_state
            select 'test_sync', customer_id, md5(json_object('identifiers', json_object('email', email), 'fields', json_object())::varchar),
                   null, true, 'sent', null,
                   case when customer_id = ? then now() - interval 530 days else now() end, now()
            from segments.test_segment
            """,
            [person(1)["customer_id"]],
        )
    result = run_sync(warehouse.path, spec, dry_run=True, env={})
    assert result.planned == {"add": 0, "update": 1, "remove": 0, "clear": 0, "withdraw": 0}
    assert result.sample["update"][0][0] == person(1)["customer_id"]
