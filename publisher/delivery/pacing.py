"""The pace of a run: a token bucket for --rate, and a backoff that slows everyone down.

A throttle answer (421, 454, a dropped connection, an ESP's throttling error) pauses every
worker and halves the rate; successes bring it back slowly. Per-recipient retries (any 4xx)
back off exponentially with jitter, so retries never arrive in lockstep."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from datetime import datetime, timedelta

from publisher.delivery.ledger import utcnow


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): base·2^(n-1), capped, times [0.5, 1.5)."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.5))


def retry_time(attempt: int, base: float, cap: float) -> datetime:
    return utcnow() + timedelta(seconds=backoff(attempt, base, cap))


class Pace:
    """Await `take()` before each hand-off."""

    def __init__(self, rate: float | None, base: float, cap: float) -> None:
        self.target = rate  # None: no limit but the concurrency
        self.rate = rate
        self.base, self.cap = base, cap
        self.tokens = 1.0
        self.stamp = time.monotonic()
        self.paused_until = 0.0
        self.throttles = 0
        self.lock = asyncio.Lock()

    async def take(self, stop: asyncio.Event) -> bool:
        """Wait for the pause and a token; False if the run is stopping."""
        async with self.lock:
            while not stop.is_set():
                wait = max(self.paused_until - time.monotonic(), self._token_wait())
                if wait <= 0:
                    self.tokens -= 1
                    return True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
            return False

    def _token_wait(self) -> float:
        if self.rate is None:
            return 0.0
        now = time.monotonic()
        self.tokens = min(max(1.0, self.rate), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def throttled(self) -> float:
        """Everyone waits; the rate halves. Returns the pause in seconds."""
        self.throttles += 1
        pause = backoff(self.throttles, self.base, self.cap)
        self.paused_until = max(self.paused_until, time.monotonic() + pause)
        if self.rate is not None:
            self.rate = max(self.rate / 2, 0.1)
        return pause

    def accepted(self) -> None:
        self.throttles = 0
        if self.rate is not None and self.target is not None and self.rate < self.target:
            self.rate = min(self.target, self.rate * 1.05)
