"""Pacing against local servers (issue 14, finding 4): no window holds more than the declared
rate, a 429 pauses every worker of the destination, and HubSpot's rate-limit headers are
read. The busiest window is counted from when the server received each request."""

from __future__ import annotations

import threading

from bench.pacing_bench import busiest_window
from cdp.activate import run_sync
from cdp.activate.delivery import DeliveryPolicy
from tests.activate import fake_apis
from tests.activate.conftest import make_spec, person
from tests.activate.test_destinations import BY_NAME, _sync


class ThreadSleeps:
    """A sleep that records who was told to wait how long, and waits only a moment."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self.lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self.lock:
            self.calls.append((threading.current_thread().name, seconds))


def test_the_webhook_never_exceeds_its_declared_rate_in_any_second(warehouse):
    warehouse.write([person(number) for number in range(45)])
    contract = fake_apis.WebhookContract("s3cret")
    with fake_apis.FakeApi(contract) as api:
        config = {"url": f"{api.url}/hook", "batch_size": 1, "rate_per_s": 15, "concurrency": 4}
        spec = make_spec(destination="webhook", config=config)
        result = run_sync(warehouse.path, spec, env={"CDP_WEBHOOK_SECRET": "s3cret"})
        arrivals = [request["at"] for request in api.requests]
    assert (result.status, result.added, len(arrivals)) == ("success", 45, 45)
    assert busiest_window(arrivals, 1.0) <= 15  # the token bucket let 2x through in the first second


def test_a_429_pauses_every_worker_of_the_destination(warehouse):
    warehouse.write([person(number) for number in range(40)])
    sleeps = ThreadSleeps()
    policy = DeliveryPolicy(max_attempts=4, backoff_initial_s=0.01, timeout_s=5, sleep=sleeps)
    contract = fake_apis.WebhookContract("s3cret")
    with fake_apis.FakeApi(contract) as api:
        api.fail_next(("429", "30"))
        config = {"url": f"{api.url}/hook", "batch_size": 2, "rate_per_s": 1000, "concurrency": 4}
        spec = make_spec(destination="webhook", config=config)
        result = run_sync(warehouse.path, spec, env={"CDP_WEBHOOK_SECRET": "s3cret"}, policy=policy)
    assert (result.status, result.added) == ("success", 40)
    paused = {thread for thread, seconds in sleeps.calls if 25 < seconds <= 30}
    assert len(paused) >= 2  # not only the worker that got the 429


def test_hubspot_pauses_on_its_rate_limit_headers_before_a_429(warehouse):
    people = [person(number) for number in range(30)]
    warehouse.write(people)
    case = BY_NAME["hubspot"]
    policy = DeliveryPolicy(max_attempts=6, backoff_initial_s=0.05, backoff_max_s=0.2, timeout_s=5)
    contract = fake_apis.HubspotContract("pat-SECRET-hubspot", max_per_10s=8, window_s=0.5)
    with fake_apis.FakeApi(contract) as api:
        overrides = {"config": {"object_type": "contacts", "batch_size": 1}}
        result = _sync(case, api.url, warehouse, policy, spec_overrides=overrides)
        assert (result.status, result.added) == ("success", 30)
        assert contract.rate_limited == 0  # paused on X-HubSpot-RateLimit-Remaining, never refused
        assert len(contract.snapshot()) == 30
