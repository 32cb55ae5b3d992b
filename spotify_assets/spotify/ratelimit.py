"""Client-side pacing shared by all worker threads.

Spotify (and the emulator) count requests over a rolling 30-second window. A token bucket with a burst
would allow ``burst + limit`` requests in some 30 s window, so this is a strict *pacer*: request slots
are handed out at a fixed interval of ``30 / (limit * headroom)`` seconds. Any 30 s window then holds at
most ``limit * headroom + 1`` sends, which leaves room for network jitter and gives a steady rate of
``headroom`` x the limit (95 % by default). ``pause_until()`` makes every thread wait after a 429.
"""

from __future__ import annotations

import threading
import time


class RateLimiter:
    def __init__(self, limit_per_30s: int | None, headroom: float = 0.95, window_s: float = 30.0,
                 clock=time.monotonic, sleep=time.sleep):
        self.limit_per_30s = limit_per_30s
        self._interval = 0.0 if not limit_per_30s else window_s / max(1.0, limit_per_30s * headroom)
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._clock = clock
        self._sleep = sleep
        self.waited_s = 0.0

    @property
    def interval_s(self) -> float:
        return self._interval

    def acquire(self) -> None:
        """Block until this thread may send one request."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self._interval
        delay = slot - now
        if delay > 0:
            self.waited_s += delay
            self._sleep(delay)

    def pause_until(self, monotonic_deadline: float) -> None:
        """After a 429: no thread sends before ``monotonic_deadline`` (a ``time.monotonic()`` value)."""
        with self._lock:
            self._paused_until = max(self._paused_until, monotonic_deadline)
            self._next_slot = max(self._next_slot, monotonic_deadline)
