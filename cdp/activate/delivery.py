"""Getting batches to a destination: pacing, retries, and batch sizing.

- Pacing: a sliding window per declared rate limit (requests per period), shared by the
  worker threads of one sync: a request goes only when fewer than the declared number were
  sent in the last period (less a small margin for network jitter), so no window of the
  period ever holds more than the declared rate, from the first request on.
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
import threading
import time
from collections import deque
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


# How far under the declared limit pacing stays: a request's arrival at the destination
# lags its departure by a jittery few milliseconds, which must not push a window over.
JITTER_MARGIN_SHARE = 0.05
JITTER_MARGIN_MIN_S = 0.1


class SlidingWindow:
    """One declared limit as a sliding window: when each of the last `requests` requests went.

    A new request may go once the oldest of them is more than a window (plus the jitter
    margin) old. Unlike a token bucket that starts full, no window ever holds more than the
    declared number. Not thread-safe on its own: a `Pacer` holds the lock.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.requests = max(1, int(limit.requests))
        self.window = limit.per_seconds + max(limit.per_seconds * JITTER_MARGIN_SHARE, JITTER_MARGIN_MIN_S)
        self.sent: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        # One expression for "out of the window" and for the wait, so float rounding cannot
        # let a request through while the oldest still counts.
        while self.sent and self.sent[0] + self.window - now <= 0:
            self.sent.popleft()
        return 0.0 if len(self.sent) < self.requests else self.sent[0] + self.window - now

    def record(self, now: float) -> None:
        self.sent.append(now)


class Pacer:
    """Every declared limit of a destination, shared by its workers: `acquire()` blocks until
    a request fits in all of them, and records it in all at the same moment (a request
    counted in one window while it still waits for another would be counted too early)."""

    def __init__(self, limits: Iterable[RateLimit], clock: Callable[[], float] = time.monotonic) -> None:
        self.windows = [SlidingWindow(limit) for limit in limits]
        self.clock = clock
        self.lock = threading.Lock()

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            with self.lock:
                now = self.clock()
                wait = max((window.wait_needed(now) for window in self.windows), default=0.0)
                if wait <= 0:
                    for window in self.windows:
                        window.record(now)
                    return
            sleep(wait)


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
        self.pacer.acquire(self.policy.sleep)
        with self._count_lock:
            self.requests_sent += 1
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {_path(url)}: timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise TransientError(f"{method} {_path(url)}: {type(error).__name__}") from None
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
