"""The look-ups: tracks, albums and artists by id, batched or one by one as the quota mode allows.

Extended mode looks ids up in ``?ids=`` batches (tracks and artists 50, albums 20); development mode has no
batch endpoints, so one id is one request. The crawl feeds :class:`Lookups` the refs of every full track it
meets, in canonical order (see :mod:`.feed`); each album and artist id is asked for once, carried over
from the previous partition when :mod:`.carry` allows, else looked up.

Determinism: batches are cut from the canonical order, only full ones until the feed ends, then the
remainders: the same requests (and records) in every run, and ``ceil(n / batch)`` look-ups per kind.
Artists referenced by album objects join the artist stream at the point where their album batch was cut
(the stream waits for that batch's answer), so the artist batches are deterministic too.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ..client import Response
from ..ids import artist_ids, chunks
from ..shapes import lookup_objects
from .carry import Carrier, Carrying, FullCopy
from .refs import TrackRefs, tracks_refs
from .scheduling import RequestQueue

BATCH_SIZE = {"tracks": 50, "albums": 20, "artists": 50}


@dataclass
class Discovered:
    """The ids the crawl has met, and how many objects its look-ups answered with (for the report)."""

    tracks: set[str] = field(default_factory=set)  # full tracks known (from items or look-ups)
    albums: set[str] = field(default_factory=set)
    artists: set[str] = field(default_factory=set)
    albums_fetched: int = 0
    artists_fetched: int = 0
    tracks_looked_up: int = 0


def lookup_request(mode: str, kind: str, ids: list[str]) -> tuple[str, dict | None]:
    """Path and parameters of one look-up: ``kind?ids=a,b`` (extended) or ``kind/a`` (development)."""
    if mode == "extended":
        return kind, {"ids": ",".join(ids)}
    return f"{kind}/{ids[0]}", None


class Batcher:
    """Ids in a deterministic discovery order -> look-up requests: a batch is sent as soon as it is full
    (extended ``?ids=`` batches of 20 / 50; development: one id = one request), the remainder at ``flush``.

    ``on_sent(token)`` is told of each batch when it is cut, ``on_body(token, body)`` of its answer (``None``
    for anything but a 200); the token identifies the batch (e.g. its place in the artist stream)."""

    def __init__(self, requests: RequestQueue, mode: str, kind: str, logger: logging.Logger, *,
                 on_body: Callable[[object, Any], None], on_sent: Callable[[object], None] | None = None) -> None:
        self.requests, self.mode, self.kind, self.logger = requests, mode, kind, logger
        self.on_body, self.on_sent = on_body, on_sent
        self.size = BATCH_SIZE[kind] if mode == "extended" else 1
        self.queue: list[str] = []

    def add(self, ident: str) -> None:
        self.queue.append(ident)
        if len(self.queue) >= self.size:
            self._send(self.queue[:self.size])
            del self.queue[:self.size]

    def flush(self) -> None:
        if self.queue:
            self._send(self.queue)
            self.queue = []

    def _send(self, ids: list[str]) -> None:
        ids = sorted(ids)
        token = object()
        if self.on_sent is not None:
            self.on_sent(token)
        path, params = lookup_request(self.mode, self.kind, ids)
        self.requests.submit(self.kind, self.kind, path, params, partial(self._answered, token))

    def _answered(self, token: object, resp: Response) -> None:
        if resp.status != 200:
            self.logger.warning("%s answered %d (recorded)", resp.request, resp.status)
        self.on_body(token, resp.body if resp.status == 200 else None)


class Lookups:
    """Album and artist ids in canonical order -> carried copies or look-ups; and the seed tracks' look-ups.

    The artist stream holds artist ids and album-batch placeholders in canonical order; it is consumed up to
    the first album batch that has not answered yet."""

    def __init__(self, mode: str, requests: RequestQueue, carrying: Carrying, found: Discovered,
                 logger: logging.Logger) -> None:
        self.mode, self.requests, self.carrying, self.found, self.logger = mode, requests, carrying, found, logger
        self.albums = Batcher(requests, mode, "albums", logger, on_body=self._on_albums,
                              on_sent=self._album_batch_sent)
        self.artists = Batcher(requests, mode, "artists", logger, on_body=self._on_artists)
        self._artist_stream: deque[Any] = deque()
        self._album_batch_artists: dict[object, list[str] | None] = {}
        self._albums_in_flight = 0
        self._feed_done = False
        self.artists_flushed = False  # the last artist batch is sent: nothing more to look up

    # -------------------------------------------------------------------------- the feed's side
    def seed_artists(self, ids: Iterable[str]) -> None:
        """Seed artists open the artist stream."""
        self._artist_stream.extend(ids)

    def consume(self, refs: TrackRefs) -> None:
        """The next full track in canonical order: want its album and artists."""
        track_id, album_id, track_artists = refs
        self.found.tracks.add(track_id)
        if album_id is not None and album_id not in self.found.albums:
            self.found.albums.add(album_id)
            self._want_album(album_id)
        for a in track_artists:
            if a not in self.found.artists:
                self._artist_stream.append(a)
        self._pump_artists()

    def unknown_tracks(self, ids: Iterable[str]) -> list[str]:
        return [t for t in ids if t not in self.found.tracks]

    def track_batches(self, ids: Iterable[str]) -> list[list[str]]:
        """Seed tracks not seen in full, cut into look-ups (sorted ids, so the requests are deterministic)."""
        return chunks(sorted(ids), BATCH_SIZE["tracks"] if self.mode == "extended" else 1)

    def look_up_tracks(self, ids: list[str], on_refs: Callable[[list[TrackRefs]], None]) -> None:
        """Look one batch of tracks up; ``on_refs`` gets the refs of the full tracks it answered with."""
        path, params = lookup_request(self.mode, "tracks", ids)
        self.requests.submit("tracks", "tracks", path, params, partial(self._on_tracks, on_refs))

    def feed_ended(self) -> None:
        """Every track is consumed: send the remainders (albums now, artists once the albums answered)."""
        self._feed_done = True
        for a in self.carrying.albums.leftovers():  # albums of batches that could not be carried whole
            self.albums.add(a)
        self.albums.flush()
        self._pump_artists()

    # -------------------------------------------------------------------------- answers
    def _on_tracks(self, on_refs: Callable[[list[TrackRefs]], None], resp: Response) -> None:
        if resp.status != 200:
            self.logger.warning("%s answered %d (recorded)", resp.request, resp.status)
        objs = lookup_objects(resp.body, "tracks") if resp.status == 200 else []
        self.found.tracks_looked_up += len(objs)
        on_refs(tracks_refs(objs))

    def _album_batch_sent(self, token: object) -> None:
        self._album_batch_artists[token] = None
        self._artist_stream.append(token)
        self._albums_in_flight += 1

    def _on_albums(self, token: object, body: Any) -> None:
        artists: list[str] = []
        for a in lookup_objects(body, "albums"):
            self.found.albums_fetched += 1
            artists += artist_ids(a.get("artists"))
        self._album_batch_artists[token] = artists
        self._albums_in_flight -= 1
        self._pump_artists()

    def _on_artists(self, token: object, body: Any) -> None:
        self.found.artists_fetched += len(lookup_objects(body, "artists"))

    # -------------------------------------------------------------------------- carried or looked up
    def _want_album(self, album_id: str) -> None:
        copy = self._carry_or_queue(self.carrying.albums, self.albums, album_id)
        if copy is not None:
            self.carrying.copy(copy)
            # like an album batch that answered at once: its artists join the stream here
            self._artist_stream.extend(copy.artist_ids)

    def _want_artist(self, artist_id: str) -> None:
        copy = self._carry_or_queue(self.carrying.artists, self.artists, artist_id)
        if copy is not None:
            self.carrying.copy(copy)

    @staticmethod
    def _carry_or_queue(carrier: Carrier, batcher: Batcher, ident: str) -> FullCopy | None:
        """The previous copy to carry now, if one answers for ``ident`` and every id of it is wanted by now;
        without a copy, ``ident`` is queued for a look-up (which may cut a batch: an album batch's placeholder
        then joins the artist stream)."""
        if not carrier.covers(ident):
            batcher.add(ident)
            return None
        return carrier.take(ident)

    def _pump_artists(self) -> None:
        stream = self._artist_stream
        while stream:
            head = stream[0]
            if isinstance(head, str):
                stream.popleft()
                self._artist(head)
                continue
            found = self._album_batch_artists[head]
            if found is None:
                return  # that album batch has not answered yet
            stream.popleft()
            del self._album_batch_artists[head]
            for a in found:
                self._artist(a)
        if self._feed_done and not self._albums_in_flight and not self.artists_flushed:
            self.artists_flushed = True
            for a in self.carrying.artists.leftovers():
                self.artists.add(a)
            self.artists.flush()

    def _artist(self, artist_id: str) -> None:
        if artist_id not in self.found.artists:
            self.found.artists.add(artist_id)
            self._want_artist(artist_id)
