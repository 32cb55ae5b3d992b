"""Thread-safe request accounting and a progress logger."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from .ids import is_spotify_id


def endpoint_template(method: str, request_path: str) -> str:
    """``GET /v1/playlists/3cEY.../tracks?limit=100`` -> ``GET /v1/playlists/{id}/tracks``."""
    path = request_path.split("?", 1)[0]
    segments = ["{id}" if is_spotify_id(s) else s for s in path.split("/")]
    return f"{method} {'/'.join(segments)}"


class RequestStats:
    """Counters updated by every worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests_by_endpoint: Counter[str] = Counter()
        self.status_counts: Counter[int] = Counter()
        self.retries = 0
        self.rate_limited = 0
        self.server_errors = 0
        self.dropped_connections = 0
        self.token_refreshes = 0
        self.bytes = 0
        self.retry_after_slept_s = 0.0
        self.started = time.monotonic()
        # (monotonic completion time, status or None for a dropped connection) of every attempt, in order
        self.timeline: list[tuple[float, int | None]] = []

    def record_attempt(self, template: str, status: int | None, nbytes: int = 0) -> None:
        now = time.monotonic()
        with self._lock:
            self.timeline.append((now, status))
            self.requests_by_endpoint[template] += 1
            if status is not None:
                self.status_counts[status] += 1
                if status == 429:
                    self.rate_limited += 1
                elif 500 <= status < 600:
                    self.server_errors += 1
            else:
                self.dropped_connections += 1
            self.bytes += nbytes

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_token_refresh(self) -> None:
        with self._lock:
            self.token_refreshes += 1

    def record_retry_after(self, seconds: float) -> None:
        with self._lock:
            self.retry_after_slept_s += seconds

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests_by_endpoint.values())

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "requests_by_endpoint": dict(sorted(self.requests_by_endpoint.items())),
                "total_requests": sum(self.requests_by_endpoint.values()),
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "server_errors": self.server_errors,
                "dropped_connections": self.dropped_connections,
                "token_refreshes": self.token_refreshes,
                "bytes": self.bytes,
                "seconds": round(time.monotonic() - self.started, 3),
            }


def steady_state(timeline: list[tuple[float, int | None]], trim: float = 0.1) -> dict:
    """Request rate over the middle of a crawl: the attempts between the ``trim`` and ``1 - trim``
    quantiles of completion order (ramp-up and tail excluded), and over the whole run.

    ``timeline`` is :attr:`RequestStats.timeline`. Returns ``{"rps", "requests", "seconds", "rate_limited",
    "whole_rps", "whole_requests", "whole_seconds"}`` (whole run: first to last completion)."""
    n = len(timeline)
    out = {"rps": 0.0, "requests": 0, "seconds": 0.0, "rate_limited": 0,
           "whole_rps": 0.0, "whole_requests": n, "whole_seconds": 0.0}
    if n < 2:
        return out
    lo, hi = int(n * trim), max(int(n * trim) + 1, int(n * (1 - trim)) - 1)
    hi = min(hi, n - 1)
    span = timeline[hi][0] - timeline[lo][0]
    whole = timeline[-1][0] - timeline[0][0]
    out.update(requests=hi - lo, seconds=span, rps=(hi - lo) / span if span > 0 else 0.0,
               rate_limited=sum(1 for _, s in timeline[lo:hi + 1] if s == 429),
               whole_seconds=whole, whole_rps=(n - 1) / whole if whole > 0 else 0.0)
    return out


class ProgressLogger:
    """Logs ``done/total, rate, ETA`` every ``every_s`` seconds or each ``every_fraction`` of the total.

    ``total`` may grow while the crawl discovers work (item pages, look-up batches).
    """

    def __init__(self, logger: logging.Logger, label: str = "crawl", every_s: float = 5.0,
                 every_fraction: float = 0.1) -> None:
        self.logger = logger
        self.label = label
        self.every_s = every_s
        self.every_fraction = every_fraction
        self._lock = threading.Lock()
        self.done = 0
        self.total = 0
        self._start = time.monotonic()
        self._last_log = self._start
        self._last_fraction_step = 0

    def add_total(self, n: int) -> None:
        with self._lock:
            self.total += n

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            now = time.monotonic()
            step = int((self.done / self.total) / self.every_fraction) if self.total else 0
            if now - self._last_log >= self.every_s or step > self._last_fraction_step:
                self._last_log = now
                self._last_fraction_step = step
                self._emit(now)

    def _emit(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        remaining = max(self.total - self.done, 0)
        eta = remaining / rate if rate > 0 else float("inf")
        pct = 100.0 * self.done / self.total if self.total else 0.0
        self.logger.info("%s progress: %d/%d requests planned done (%.0f%%), %.1f req/s, ETA %.0f s",
                         self.label, self.done, self.total, pct, rate, eta)

    def finish(self) -> None:
        with self._lock:
            self._emit(time.monotonic())
