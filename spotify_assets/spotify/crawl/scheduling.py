"""The crawl's request queue: requests go to a pool of workers, their answers come back to the main thread.

A worker only fetches and writes the final response to the sink (so a crash keeps what was fetched); every
callback that decides what to fetch next runs on the main thread, in :meth:`RequestQueue.drain`, one at a
time. No locks are needed outside this module. The queue also keeps the request accounting the report
needs: the minimum (one per request planned, by kind) and the records written per source.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol

from ..accounting import ProgressLogger
from ..client import Response, SpotifyClient

OnResponse = Callable[[Response], None]


class RawSink(Protocol):
    def write(self, source: str, envelope: dict) -> None: ...


class ListSink:
    """In-memory sink (tests, benchmarks)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: list[tuple[str, dict]] = []

    def write(self, source: str, envelope: dict) -> None:
        with self._lock:
            self.records.append((source, envelope))

    def by_source(self, source: str) -> list[dict]:
        return [e for s, e in self.records if s == source]


class RequestQueue:
    """Submit a request with the callback its answer goes to; :meth:`drain` runs the callbacks until no
    request is left (a callback may submit more)."""

    def __init__(self, client: SpotifyClient, sink: RawSink, logger: logging.Logger) -> None:
        self.client = client
        self.sink = sink
        self.minimum: Counter[str] = Counter()  # requests planned, by kind (each is the least the crawl needs)
        self.records: Counter[str] = Counter()  # envelopes written, by source
        self.progress = ProgressLogger(logger, "spotify crawl")
        self._records_lock = threading.Lock()
        self._pending: dict[Future, OnResponse] = {}
        self._done: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self.executor = ThreadPoolExecutor(max_workers=client.settings.max_workers,
                                           thread_name_prefix="spotify-crawl")

    @property
    def idle(self) -> bool:
        return not self._pending

    def write(self, source: str, envelope: dict) -> None:
        """Write one envelope to the sink (any thread) and count it."""
        self.sink.write(source, envelope)
        with self._records_lock:
            self.records[source] += 1

    def submit(self, kind: str, source: str | None, path: str, params: dict | None, on_done: OnResponse) -> None:
        """Fetch ``path`` on a worker (its answer written to ``source``, unless None) and hand it to
        ``on_done`` on the main thread; ``kind`` names the request in the minimum's breakdown."""
        self.minimum[kind] += 1
        self.progress.add_total(1)
        fut = self.executor.submit(self._fetch, source, path, params)
        self._pending[fut] = on_done
        fut.add_done_callback(self._done.put)

    def drain(self) -> None:
        """Run callbacks as responses complete (O(1) each: a completion queue, not ``wait`` on all)."""
        while self._pending:
            fut = self._done.get()
            on_done = self._pending.pop(fut)
            resp = fut.result()  # re-raises RateLimitedError & co. in the main thread
            self.progress.advance()
            on_done(resp)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def _fetch(self, source: str | None, path: str, params: dict | None) -> Response:
        resp = self.client.get(path, params)
        if source is not None:
            self.write(source, resp.envelope())
        return resp
