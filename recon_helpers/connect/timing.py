"""Time for the API clients: the clock (injectable), retry delays, Retry-After, rate windows.

Every wait goes through :class:`Clock`, so tests pass a fake one and never really sleep.

Example:
    >>> policy = RetryPolicy()
    >>> retry_after("120", Clock().now())
    120.0
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


class Clock:
    """Monotonic time, wall time and sleep; a test replaces it with a fake that only counts."""

    def monotonic(self) -> float:
        """Seconds on a monotonic clock."""
        return time.monotonic()

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        if seconds > 0:
            time.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a request is retried.

    Attributes:
        attempts: tries per request when the server fails (5xx) or the connection does.
        throttled: tries per request answered 429 (each waits as told, or backs off).
        backoff: first backoff delay in seconds; doubles per failure up to ``backoff_cap``.
        max_wait: the longest Retry-After honoured; a server asking for more is an error.
        jitter: a number in [0, 1) per delay; the delay is scaled into [1/2, 1) of itself
            ("equal jitter"), so clients that failed together do not retry together.
    """

    attempts: int = 5
    throttled: int = 8
    backoff: float = 1.0
    backoff_cap: float = 60.0
    max_wait: float = 900.0
    jitter: Callable[[], float] = field(default=random.random, compare=False)

    def delay(self, failures: int) -> float:
        """Backoff before retry number ``failures`` (1 for the first retry)."""
        base = min(self.backoff_cap, self.backoff * 2 ** max(0, failures - 1))
        return base * (0.5 + self.jitter() / 2)


_SECONDS = re.compile(r"\d+(\.\d+)?")


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.

    Returns:
        The wait (0 for a date in the past), or None when the header is absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class RateLimit:
    """At most ``requests`` calls in any ``per`` seconds (a sliding window), shared by threads.

    Huntress allows 60 requests per sliding minute; Datto RMM 600 per rolling minute. A call
    that would exceed the window waits until its oldest call leaves it.
    """

    def __init__(self, requests: int, per: float, clock: Clock) -> None:
        self.requests = requests
        self.per = per
        self.clock = clock
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait (through the clock) until one more call fits the window, then count it."""
        while True:
            with self._lock:
                now = self.clock.monotonic()
                while self._stamps and now - self._stamps[0] >= self.per:
                    self._stamps.popleft()
                if len(self._stamps) < self.requests:
                    self._stamps.append(now)
                    return
                wait = self.per - (now - self._stamps[0])
            self.clock.sleep(wait)
