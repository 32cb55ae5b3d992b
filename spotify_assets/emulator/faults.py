"""Request accounting and fault injection: the rolling-window rate limit, random faults, latency."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter, deque

FAULTS = ("429", "500", "502", "503", "drop")


class RateLimiter:
    """At most ``limit`` admitted requests in any rolling 30-second window (None = unlimited)."""

    WINDOW_S = 30.0

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> int | None:
        """None if admitted, else the Retry-After seconds until the oldest slot frees."""
        if self.limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._times and self._times[0] <= now - self.WINDOW_S:
                self._times.popleft()
            if len(self._times) < self.limit:
                self._times.append(now)
                return None
            return max(1, math.ceil(self._times[0] + self.WINDOW_S - now))


class FaultInjector:
    """Each call independently yields a fault with probability ``rate`` (seeded, thread-safe)."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self._rng = random.Random(seed ^ 0xFA17)
        self._lock = threading.Lock()

    def draw(self) -> str | None:
        if self.rate <= 0:
            return None
        with self._lock:
            if self._rng.random() >= self.rate:
                return None
            return self._rng.choice(FAULTS)

    def rate_limit_body_variant(self) -> int:
        """Which of Spotify's three observed 429 bodies to send (empty, plain, QUOTA_EXCEEDED)."""
        with self._lock:
            return self._rng.randrange(3)


class Stats:
    """Thread-safe counters served by /_admin/stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[str] = Counter()
            self.statuses: Counter[int] = Counter()
            self.rate_limited = 0
            self.faults: Counter[str] = Counter()
            self.bytes_sent = 0
            self.started = time.time()

    def record(self, template: str, status: int, nbytes: int) -> None:
        with self._lock:
            self.requests[template] += 1
            self.statuses[status] += 1
            self.bytes_sent += nbytes

    def record_429(self) -> None:
        with self._lock:
            self.rate_limited += 1

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {"requests": dict(self.requests), "total_requests": sum(self.requests.values()),
                    "statuses": {str(k): v for k, v in self.statuses.items()},
                    "rate_limited_429": self.rate_limited, "faults_injected": sum(self.faults.values()),
                    "faults_by_kind": dict(self.faults), "bytes_sent": self.bytes_sent,
                    "since": self.started}
