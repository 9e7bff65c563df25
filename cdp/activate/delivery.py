"""Getting batches to a destination: pacing, retries, and batch sizing.

- Pacing: a token bucket per declared rate limit (requests per period), shared by the
  worker threads of one sync, so bursts stay inside the limit and the steady rate uses it.
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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter


@dataclass(frozen=True)
class RateLimit:
    """At most `requests` requests per `per_seconds`, with bursts up to `burst` (default: all of them)."""

    requests: float
    per_seconds: float
    burst: float | None = None


@dataclass
class DeliveryPolicy:
    """How hard to try. Tests shrink the waits; production keeps the defaults."""

    max_attempts: int = 6
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    max_retry_after_s: float = 300.0
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)


class TransientError(Exception):
    """Worth retrying: 429, 5xx, timeout, connection trouble."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BatchRejected(Exception):
    """The destination refused the whole request (4xx): some row in it is bad, or all are."""


class DeliveryFailed(Exception):
    """Retries ran out; nothing in the batch counts as acknowledged."""


class TokenBucket:
    """Thread-safe token bucket: `acquire()` blocks until a request may go."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = limit.requests / limit.per_seconds
        self.capacity = max(1.0, limit.burst if limit.burst is not None else limit.requests)
        self.tokens = self.capacity
        self.clock = clock
        self.updated = clock()
        self.lock = threading.Lock()

    def _wait_needed(self) -> float:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1 - 1e-9:  # tolerate float rounding after an exact wait
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def acquire(self, sleep: Callable[[float], None] = time.sleep) -> None:
        while True:
            with self.lock:
                wait = self._wait_needed()
            if wait <= 0:
                return
            sleep(wait)


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


class Sender:
    """An httpx client that paces, retries, and classifies answers for one sync run."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        rate_limits: Iterable[RateLimit],
        policy: DeliveryPolicy,
        concurrency: int = 1,
    ) -> None:
        self.policy = policy
        self.buckets = [TokenBucket(limit) for limit in rate_limits]
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=policy.timeout_s, limits=limits)
        self.requests_sent = 0
        self._count_lock = threading.Lock()

    def close(self) -> None:
        self.client.close()

    def _wait(self, retry_state) -> float:
        error = retry_state.outcome.exception()
        if isinstance(error, TransientError) and error.retry_after_s is not None:
            return min(error.retry_after_s, self.policy.max_retry_after_s)
        initial = self.policy.backoff_initial_s
        backoff = wait_exponential_jitter(multiplier=initial, max=self.policy.backoff_max_s, jitter=initial)
        return backoff(retry_state)

    def _attempt(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for bucket in self.buckets:
            bucket.acquire(self.policy.sleep)
        with self._count_lock:
            self.requests_sent += 1
        try:
            response = self.client.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            raise TransientError(f"{method} {_path(url)}: timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise TransientError(f"{method} {_path(url)}: {type(error).__name__}") from None
        if response.status_code == 429:
            raise TransientError(
                f"{method} {_path(url)}: 429 rate limited",
                retry_after_s=parse_retry_after(response.headers.get("Retry-After")),
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
