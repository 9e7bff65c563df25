"""Getting batches to a destination: pacing, retries, and batch sizing.

- Pacing: a sliding window per declared rate limit (requests per period), shared by the
  worker threads of one sync: a request goes only when fewer than the declared number were
  answered (or are in flight) within the last period, so no window of the period ever
  holds more than the declared rate at the destination, from the first request on.
- Pauses: a 429 pauses every worker of the destination, not only the one that got it,
  for its Retry-After (or the backoff); a destination may read its documented rate-limit
  headers (HubSpot's X-HubSpot-RateLimit-*) and pause everyone before the limit is hit.
- Retries (tenacity): 429 honours Retry-After; 5xx, timeouts and connection errors back
  off exponentially with jitter. Other 4xx answers are not retried: the batch is rejected
  and the engine splits it to find the bad rows.
- Batching: rows up to the destination's row limit and payload byte limit.
"""

from __future__ import annotations

import email.utils
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` requests in any `per_seconds` window (two limits: a burst and a steady rate)."""

    requests: int
    per_seconds: float


@dataclass
class DeliveryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    max_attempts: int = 6
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 300.0
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)  # what pacing measures windows by


class TransientError(Exception):
    """Worth retrying: 429, 5xx, timeout, connection trouble."""

    def __init__(self, message: str, retry_after_s: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.rate_limited = rate_limited


class BatchRejected(Exception):
    """The destination refused the whole request (4xx): some row in it is bad, or all are."""


class DeliveryFailed(Exception):
    """Retries ran out; nothing in the batch counts as acknowledged."""


class Unconfirmed(str):
    """An acknowledgement that cannot vouch for the row: the destination took the batch but
    reported some of its rows invalid without saying which (Meta's num_invalid_entries).

    A destination's `send` returns it, instead of an error, for every row of such a batch;
    the row is recorded as sent but `unconfirmed`, and the run as partial.
    """


class SlidingWindow:
    """One declared limit as a sliding window over the last `requests` requests.

    A request counts from the moment it leaves until a window after its answer came back
    (while it is in flight it counts as now). Its arrival at the destination lies between
    the two, so when the oldest of the last `requests` has been answered a window ago, a
    new one may go and still no window of arrivals holds more than the declared number,
    whatever the network's jitter. Unlike a token bucket that starts full, that holds from
    the first request on. Not thread-safe on its own: a `Pacer` holds the lock.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.requests = max(1, int(limit.requests))
        self.window = float(limit.per_seconds)
        self.counted: list[list[float]] = []  # [answered at]; infinity while in flight

    def wait_needed(self, now: float) -> float:
        self.counted = [entry for entry in self.counted if entry[0] + self.window > now]
        if len(self.counted) < self.requests:
            return 0.0
        return min(entry[0] for entry in self.counted) + self.window - now

    def record(self) -> list[float]:
        entry = [math.inf]
        self.counted.append(entry)
        return entry


class Pacer:
    """Every declared limit of a destination, shared by its workers: `acquire()` blocks until
    a request fits in all of them and counts it in all at once (a request counted in one
    window while it still waits for another would be counted too early); `done(ticket)`
    when its answer is back."""

    def __init__(self, limits: Iterable[RateLimit], clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = [SlidingWindow(limit) for limit in limits]
        self.clock = clock
        self.answered = threading.Condition()

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> list[list[float]]:
        while True:
            with self.answered:
                wait = max((window.wait_needed(self.clock()) for window in self.windows), default=0.0)
                if wait <= 0:
                    return [window.record() for window in self.windows]
                if math.isinf(wait):  # the window is full of requests in flight: wait for an answer
                    self.answered.wait(timeout=1.0)
                    continue
            sleep(wait)

    def done(self, ticket: list[list[float]]) -> None:
        with self.answered:
            now = self.clock()
            for entry in ticket:
                entry[0] = now
            self.answered.notify_all()


class Pause:
    """A pause shared by the workers of one destination: after a 429 (or a rate-limit header
    saying the quota is spent) nobody sends until it is over."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.until = 0.0
        self.clock = clock
        self.lock = threading.Lock()

    def extend(self, seconds: float) -> None:
        with self.lock:
            self.until = max(self.until, self.clock() + seconds)

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        # One wait, not a loop: a pause extended meanwhile is met by the next 429.
        with self.lock:
            remaining = self.until - self.clock()
        if remaining > 0:
            sleep(remaining)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


PacingHint = Callable[[httpx.Response], float | None]


class Sender:
    """An httpx client that paces, retries, and classifies answers for one sync run.

    `pacing_hint(response)` (a destination's reading of its documented rate-limit headers)
    returns seconds for every worker to pause before the next request, or None.
    """

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        rate_limits: Iterable[RateLimit],
        policy: DeliveryPolicy,
        concurrency: int = 1,
        pacing_hint: PacingHint | None = None,
    ) -> None:
        self.policy = policy
        self.pacer = Pacer(rate_limits, policy.clock)
        self.pause = Pause(policy.clock)
        self.pacing_hint = pacing_hint
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=policy.timeout_s, limits=limits)
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def _backoff(self, retry_state) -> float:
        initial = self.policy.backoff_initial_s
        backoff = wait_exponential_jitter(multiplier=initial, max=self.policy.backoff_max_s, jitter=initial)
        return backoff(retry_state)

    def _wait(self, retry_state) -> float:
        error = retry_state.outcome.exception()
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            wait = min(error.retry_after_s, self.policy.max_retry_after_s)
        else:
            wait = self._backoff(retry_state)
        if isinstance(error, TransientError) and error.rate_limited:
            self.pause.extend(wait)  # everyone waits, not only the worker that was told
        return wait

    def _attempt(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.pause.wait(self.policy.sleep)
        ticket = self.pacer.acquire(self.policy.sleep)
        with self._count_lock:
            self.requests_sent += 1
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {_path(url)}: timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise TransientError(f"{method} {_path(url)}: {type(error).__name__}") from None
        finally:
            self.pacer.done(ticket)
        hint = self.pacing_hint(response) if self.pacing_hint else None
        if hint:
            self.pause.extend(min(hint, self.policy.max_retry_after_s))
        if response.status_code == 429:
            raise TransientError(
                f"{method} {_path(url)}: 429 rate limited",
                retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
                rate_limited=True,
            )
        if response.status_code >= 500:
            raise TransientError(f"{method} {_path(url)}: {response.status_code} {_snippet(response)}")
        if response.status_code in (401, 403):
            # Credentials, not rows: splitting the batch would not help.
            raise DeliveryFailed(f"{method} {_path(url)}: {response.status_code} not authorised; check the credentials")
        if response.status_code >= 400:
            raise BatchRejected(f"{response.status_code} {_snippet(response)}")
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request, paced and retried; returns a 2xx/3xx response or raises."""
        retrying = Retrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientError),
            sleep=self.policy.sleep,
            reraise=True,
        )
        try:
            return retrying(self._attempt, method, url, **kwargs)
        except TransientError as error:
            raise DeliveryFailed(f"gave up after {self.policy.max_attempts} attempts: {error}") from None


def _path(url: str) -> str:
    # Only the path: query strings may carry tokens on some APIs.
    return httpx.URL(url).path


def _snippet(response: httpx.Response) -> str:
    return response.text[:300].replace("\n", " ")


def json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str).encode("utf-8"))


def batched(
    items: Iterable[Any], max_rows: int, max_bytes: int | None, size_of: Callable[[Any], int]
) -> Iterator[list[Any]]:
    """Cut `items` into batches no longer than `max_rows` and (roughly) `max_bytes`."""
    batch: list[Any] = []
    batch_bytes = 0
    # Leave room for the envelope around the rows.
    budget = int(max_bytes * 0.95) if max_bytes else None
    for item in items:
        item_bytes = size_of(item) + 1 if budget else 0
        if batch and (len(batch) >= max_rows or (budget and batch_bytes + item_bytes > budget)):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(item)
        batch_bytes += item_bytes
    if batch:
        yield batch
