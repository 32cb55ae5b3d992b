"""The request-minimal crawl: seeds -> playlists -> item pages -> tracks -> albums -> artists.

Plan (``M`` = quota mode, see :mod:`.mode`):

1. ``/v1/me/playlists?limit=50`` pages when the token is a user token and ``include_my_playlists``; with
   ``include_my_library`` (and a user token) the user's top artists and tracks (``/v1/me/top/{type}``, the
   top 50 of each time range) and saved tracks (``/v1/me/tracks`` pages of 50). With client credentials
   only they are skipped (a log line says so; their sources stay empty). A 403 (a token without the scope)
   is recorded and logged, naming the scope; the rest of the crawl goes on.
2. ``/v1/playlists/{id}`` for every playlist (extended: ``additional_types=track,episode``); the answer
   embeds the first item page.
3. If the playlist's ``snapshot_id`` equals the one in ``previous`` and the previous partition holds its
   complete item pages, those pages are carried over verbatim (plus ``"carried_from": "YYYY-MM-DD"``,
   the date the response was originally fetched): the playlist costs exactly one request. Otherwise the
   remaining pages are fetched at the maximum page size (extended ``/tracks`` limit 100, development
   ``/items`` limit 50).
4. Full track objects come inside the items (and inside top tracks and saved tracks); seed track ids not
   seen in full are looked up.
5. Albums then artists referenced by the tracks (simplified objects are not full), plus seed artists:
   extended ``?ids=`` batches of 20 / 50, development single look-ups. An album or artist whose last full
   copy in ``previous`` is younger than ``full_copy_max_age_days`` is not looked up: that copy is carried
   over verbatim (plus ``carried_from``) like unchanged playlists' pages; the rules are in :mod:`.carry`.

The steps are pipelined, not phased: a look-up batch is sent as soon as 20 / 50 new ids are known (only
full batches until the end, then the remainders, so the count stays minimal). Ids are taken in a canonical
order (playlists, then their pages, in plan order, whatever order the responses complete in), so the
batches (and records) are identical from one run to the next; see :class:`_Crawl`.

Every final response of a data source (200s, and 403/404 that are data: a missing playlist, a
non-owned playlist's items in development mode) is written to the sink from the worker thread as soon
as it arrives; when the crawl is aborted (``RateLimitedError``...) the sink holds what was fetched (its
owner decides whether to keep it) and the exception gets a ``report`` attribute holding the partial
:class:`CrawlReport`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs

from .accounting import ProgressLogger
from .carry import CARRIED_SOURCES, Carrier, FullCopy, PreviousCopies, max_age_days
from .client import Response, SpotifyClient
from .errors import LOGIN_HINT, SCOPE_OF, SpotifyError, error_message
from .ids import artist_ids, chunks, is_spotify_id, validate_ids
from .mode import detect_mode

log = logging.getLogger(__name__)

SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists", "top_tracks", "top_artists", "saved_tracks")
ME_PLAYLISTS_LIMIT = 50
LIBRARY_LIMIT = 50  # top items: the first page is the top 50; saved tracks: pages of 50
TIME_RANGES = ("short_term", "medium_term", "long_term")
BATCH_SIZE = {"tracks": 50, "albums": 20, "artists": 50}


@dataclass(frozen=True)
class PagePlan:
    endpoint: str  # "tracks" | "items"
    limit: int
    params: dict


def page_plan(mode: str) -> PagePlan:
    if mode == "extended":
        return PagePlan("tracks", 100, {"additional_types": "track,episode"})
    return PagePlan("items", 50, {})


@dataclass
class CrawlSeeds:
    playlist_ids: list[str]
    artist_ids: list[str] = field(default_factory=list)
    track_ids: list[str] = field(default_factory=list)
    include_my_playlists: bool = True
    include_my_library: bool = True  # the user's top items and saved tracks (needs a user token)


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


@dataclass
class CrawlReport:
    mode: str
    requests_by_endpoint: dict[str, int]
    total_requests: int
    minimum_requests: int
    minimum_breakdown: dict[str, int]
    retries: int
    rate_limited: int
    server_errors: int
    dropped_connections: int
    token_refreshes: int
    bytes: int
    seconds: float
    playlists_total: int
    playlists_unchanged: int
    playlists_changed: int
    playlists_unavailable: int
    tracks: int
    albums: int  # albums in today's partition: fetched + carried
    artists: int  # artists in today's partition: fetched + carried
    records_by_source: dict[str, int]
    records_carried: int  # envelopes carried over from the previous partition, all sources
    albums_fetched: int = 0
    albums_carried: int = 0
    artists_fetched: int = 0
    artists_carried: int = 0
    records_carried_by_source: dict[str, int] = field(default_factory=dict)
    full_copy_max_age_days: int = 0
    completed: bool = True

    @property
    def requests_per_second(self) -> float:
        return self.total_requests / self.seconds if self.seconds > 0 else 0.0

    def as_metadata(self) -> dict[str, Any]:
        """Flat, JSON-able (str/int/float/bool) dict for Dagster metadata. Contains no secrets."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if isinstance(v, dict):
                for kk, vv in v.items():
                    out[f"{k}.{kk}"] = vv
            else:
                out[k] = v
        out["requests_per_second"] = round(self.requests_per_second, 2)
        return out


# ------------------------------------------------------------------------------------------------- previous
@dataclass
class _PreviousPlaylist:
    snapshot_id: str | None = None
    pages: dict[str, dict] = field(default_factory=dict)  # request -> envelope


def _parse_playlist_request(request: str) -> tuple[str | None, str | None, dict]:
    """``/v1/playlists/ID/tracks?limit=..`` -> ("ID", "tracks", {"limit": "100", ...})."""
    path, _, query = request.partition("?")
    parts = path.strip("/").split("/")
    try:
        i = parts.index("playlists")
    except ValueError:
        return None, None, {}
    pid = parts[i + 1] if len(parts) > i + 1 else None
    kind = parts[i + 2] if len(parts) > i + 2 else None
    return pid, kind, {k: v[0] for k, v in parse_qs(query).items()}


def index_previous(previous: Iterable[tuple[str, dict]] | None) -> dict[str, _PreviousPlaylist]:
    out: dict[str, _PreviousPlaylist] = {}
    for source, env in previous or ():
        if source not in ("playlists", "playlist_items") or not isinstance(env, dict):
            continue
        pid, kind, _ = _parse_playlist_request(str(env.get("request", "")))
        if not pid:
            continue
        prev = out.setdefault(pid, _PreviousPlaylist())
        if source == "playlists" and kind is None:
            body = env.get("body")
            prev.snapshot_id = body.get("snapshot_id") if env.get("status") == 200 and isinstance(body, dict) \
                else None
        elif source == "playlist_items" and kind is not None:
            prev.pages[env["request"]] = env
    return out


def _embedded_page(body: dict) -> dict | None:
    """The item page embedded in a playlist object: ``tracks`` (extended) or ``items`` (development)."""
    for key in ("items", "tracks"):
        page = body.get(key)
        if isinstance(page, dict):
            return page
    return None


def _item_object(entry: Any) -> dict | None:
    if not isinstance(entry, dict):
        return None
    obj = entry.get("item")
    if obj is None:
        obj = entry.get("track")
    return obj if isinstance(obj, dict) else None


def _is_full_track(obj: dict | None) -> bool:
    return (isinstance(obj, dict) and obj.get("type", "track") == "track" and not obj.get("is_local")
            and is_spotify_id(obj.get("id")))


# ------------------------------------------------------------------------------------------------- crawl
_TrackRefs = tuple[str, str | None, tuple[str, ...]]  # (track id, album id, artist ids: album's then track's)


def _track_refs(obj: dict | None) -> _TrackRefs | None:
    """What the crawl needs from a full track object (the object itself is not kept)."""
    if not _is_full_track(obj):
        return None
    album = obj.get("album")
    album_id = None
    artists: list[str] = []
    if isinstance(album, dict):
        if is_spotify_id(album.get("id")):
            album_id = album["id"]
        artists += artist_ids(album.get("artists"))
    artists += artist_ids(obj.get("artists"))
    return obj["id"], album_id, tuple(artists)


def _tracks_refs(tracks: Any) -> list[_TrackRefs]:
    """The refs of a list of track objects (look-up answers, top tracks)."""
    if not isinstance(tracks, list):
        return []
    return [r for r in map(_track_refs, tracks) if r is not None]


def _items_refs(items: Any) -> list[_TrackRefs]:
    """The refs of a page of playlist items or saved tracks (``{"item"/"track": {...}}`` entries)."""
    if not isinstance(items, list):
        return []
    return [r for r in (_track_refs(_item_object(e)) for e in items) if r is not None]


class _Segment:
    """One unit of the ordered track feed (a playlist, or the seed-track look-ups): its parts (item pages /
    look-up batches) arrive in any order and are consumed in plan order."""

    __slots__ = ("n_parts", "parts", "next")

    def __init__(self) -> None:
        self.n_parts: int | None = None  # None until the plan for this segment is known
        self.parts: dict[int, list[_TrackRefs]] = {}
        self.next = 0


class _Batcher:
    """Ids in a deterministic discovery order -> look-up requests: a batch is sent as soon as it is full
    (extended ``?ids=`` batches of 20 / 50; development: one id = one request), the remainder at ``flush``."""

    def __init__(self, crawl: _Crawl, kind: str, on_body: Callable[[Any, Any], None]) -> None:
        self.crawl, self.kind, self.on_body = crawl, kind, on_body
        self.size = BATCH_SIZE[kind] if crawl.mode == "extended" else 1
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
        token = object()  # identifies the batch for on_body (e.g. its place in the artist stream)
        self.crawl.on_batch_sent(self.kind, token)

        def cb(resp: Response) -> None:
            if resp.status != 200:
                self.crawl.logger.warning("%s answered %d (recorded)", resp.request, resp.status)
            self.on_body(token, resp.body if resp.status == 200 else None)

        c = self.crawl
        if c.mode == "extended":
            c._submit(self.kind, self.kind, self.kind, {"ids": ",".join(ids)}, cb)
        else:
            c._submit(self.kind, self.kind, f"{self.kind}/{ids[0]}", None, cb)


class _Crawl:
    """The crawl as one pipeline: every request is submitted as soon as what it depends on is known, so the
    workers never idle at a phase barrier (playlists -> pages -> albums -> artists overlap).

    Determinism and minimality: album and artist ids are *consumed* in a canonical order - playlists in
    seed order then ``me/playlists`` order, each playlist's items in page order, then the seed-track
    look-ups - whatever order the responses complete in (a reorder buffer, :class:`_Segment`). Batches are
    cut from that order, only full ones until the feed ends, then the remainders: the same requests (and
    records) in every run, and ``ceil(n / batch)`` look-ups per kind. Artists referenced by album objects
    join the artist stream at the point where their album batch was cut (the stream waits for that
    batch's answer), so the artist batches are deterministic too.

    All callbacks run on the calling (main) thread; workers only fetch and write to the sink.
    """

    def __init__(self, client: SpotifyClient, sink: RawSink, logger: logging.Logger, *,
                 copies: PreviousCopies | None = None, today: date | None = None, max_age_days: int = 0):
        self.client = client
        self.sink = sink
        self.logger = logger
        self.stats = client.reset_accounting()
        self.started = time.monotonic()
        self.mode = client.mode or "auto"
        self.minimum: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.carried: Counter[str] = Counter()  # envelopes carried over, per source
        self.copies = copies or PreviousCopies()
        self.today = today or datetime.now(UTC).date()
        self.max_age_days = max_age_days
        self._rec_lock = threading.Lock()
        self.playlists_total = self.unchanged = self.changed = self.unavailable = 0
        self.tracks: set[str] = set()  # full tracks known (from items or look-ups)
        self.albums: set[str] = set()
        self.artists: set[str] = set()
        self.albums_fetched = 0
        self.artists_fetched = 0
        # until run() knows the mode: carry nothing
        self.album_carrier = self.artist_carrier = Carrier((), today=self.today, max_age_days=0)
        self.tracks_looked_up = 0
        self.progress = ProgressLogger(logger, "spotify crawl")
        self._pending: dict[Future, Callable[[Response], None]] = {}
        self._done: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self.executor = ThreadPoolExecutor(max_workers=client.settings.max_workers,
                                           thread_name_prefix="spotify-crawl")
        self.completed = False
        # the ordered feed
        self._segments: list[_Segment] = []
        self._cursor = 0
        self._feed_closed = False  # every segment is known (all me/playlists pages in)
        self._feed_done = False
        self._seed_tracks: list[str] = []
        # the artist stream: artist ids and album-batch placeholders, in canonical order
        self._artist_stream: deque[Any] = deque()
        self._album_batch_artists: dict[object, list[str] | None] = {}
        self._albums_in_flight = 0
        self._artists_flushed = False
        # the user's top tracks and saved tracks: segments of the feed once the playlists' are all known
        self._library_segments: list[_Segment] = []
        self._library_joined = False

    # -------------------------------------------------------------------------- plumbing
    def _write(self, source: str, envelope: dict) -> None:
        self.sink.write(source, envelope)
        with self._rec_lock:
            self.records[source] += 1

    def _fetch(self, source: str | None, path: str, params: dict | None) -> Response:
        resp = self.client.get(path, params)
        if source is not None:
            self._write(source, resp.envelope())
        return resp

    def _submit(self, kind: str, source: str | None, path: str, params: dict | None,
                on_done: Callable[[Response], None]) -> None:
        self.minimum[kind] += 1
        self.progress.add_total(1)
        fut = self.executor.submit(self._fetch, source, path, params)
        self._pending[fut] = on_done
        fut.add_done_callback(self._done.put)

    def _drain(self) -> None:
        """Run callbacks as responses complete (O(1) each: a completion queue, not ``wait`` on all)."""
        while self._pending:
            fut = self._done.get()
            on_done = self._pending.pop(fut)
            resp = fut.result()  # re-raises RateLimitedError & co. in the main thread
            self.progress.advance()
            on_done(resp)

    # -------------------------------------------------------------------------- the ordered feed
    def _new_segment(self) -> _Segment:
        seg = _Segment()
        self._segments.append(seg)
        return seg

    def _pump(self) -> None:
        """Consume every part that is next in canonical order; at the feed's end, flush the batchers."""
        while True:
            while self._cursor < len(self._segments):
                seg = self._segments[self._cursor]
                while seg.n_parts is not None and seg.next < seg.n_parts and seg.next in seg.parts:
                    for refs in seg.parts.pop(seg.next):
                        self._consume_track(refs)
                    seg.next += 1
                if seg.n_parts is None or seg.next < seg.n_parts:
                    return
                self._cursor += 1
            if not self._feed_closed or self._feed_done:
                return
            if self._library_joined or not self._library_segments:
                break
            # after the playlists (so their look-up batches are what they were without the library)
            self._library_joined = True
            self._segments.extend(self._library_segments)
        missing = [t for t in self._seed_tracks if t not in self.tracks]
        self._seed_tracks = []
        if missing:  # seed tracks not seen in full: one more segment, then the end
            seg = self._new_segment()
            batches = chunks(sorted(missing), BATCH_SIZE["tracks"] if self.mode == "extended" else 1)
            seg.n_parts = len(batches)
            for i, batch in enumerate(batches):
                self._submit_tracks(seg, i, batch)
            return
        self._feed_done = True
        for a in self.album_carrier.leftovers():  # albums of batches that could not be carried whole
            self.album_batcher.add(a)
        self.album_batcher.flush()
        self._pump_artists()

    def _submit_tracks(self, seg: _Segment, i: int, batch: list[str]) -> None:
        def cb(resp: Response) -> None:
            if resp.status != 200:
                self.logger.warning("%s answered %d (recorded)", resp.request, resp.status)
            objs = self._objects(resp.body, "tracks") if resp.status == 200 else []
            self.tracks_looked_up += len(objs)
            seg.parts[i] = _tracks_refs(objs)
            self._pump()

        if self.mode == "extended":
            self._submit("tracks", "tracks", "tracks", {"ids": ",".join(batch)}, cb)
        else:
            self._submit("tracks", "tracks", f"tracks/{batch[0]}", None, cb)

    def _consume_track(self, refs: _TrackRefs) -> None:
        track_id, album_id, track_artists = refs
        self.tracks.add(track_id)
        if album_id is not None and album_id not in self.albums:
            self.albums.add(album_id)
            self._want_album(album_id)
        for a in track_artists:
            if a not in self.artists:
                self._artist_stream.append(a)
        self._pump_artists()

    # -------------------------------------------------------------------------- look-ups
    def _want_album(self, album_id: str) -> None:
        if not self.album_carrier.covers(album_id):
            self.album_batcher.add(album_id)  # may cut a batch: its placeholder joins the artist stream
            return
        copy = self.album_carrier.take(album_id)
        if copy is not None:
            self._carry(copy)
            # like an album batch that answered at once: its artists join the stream here
            self._artist_stream.extend(copy.artist_ids)

    def _want_artist(self, artist_id: str) -> None:
        if not self.artist_carrier.covers(artist_id):
            self.artist_batcher.add(artist_id)
            return
        copy = self.artist_carrier.take(artist_id)
        if copy is not None:
            self._carry(copy)

    def _carry(self, copy: FullCopy) -> None:
        """Write a previous look-up response into today's partition instead of looking it up (main thread)."""
        self._write(copy.source, copy.envelope())
        self.carried[copy.source] += 1

    def on_batch_sent(self, kind: str, token: object) -> None:
        if kind == "albums":
            self._album_batch_artists[token] = None
            self._artist_stream.append(token)
            self._albums_in_flight += 1

    def _on_albums(self, token: object, body: Any) -> None:
        artists: list[str] = []
        for a in self._objects(body, "albums"):
            self.albums_fetched += 1
            artists += artist_ids(a.get("artists"))
        self._album_batch_artists[token] = artists
        self._albums_in_flight -= 1
        self._pump_artists()

    def _on_artists(self, token: object, body: Any) -> None:
        self.artists_fetched += len(self._objects(body, "artists"))

    def _pump_artists(self) -> None:
        stream = self._artist_stream
        while stream:
            head = stream[0]
            if isinstance(head, str):
                stream.popleft()
                if head not in self.artists:
                    self.artists.add(head)
                    self._want_artist(head)
                continue
            found = self._album_batch_artists[head]
            if found is None:
                return  # that album batch has not answered yet
            stream.popleft()
            del self._album_batch_artists[head]
            for a in found:
                if a not in self.artists:
                    self.artists.add(a)
                    self._want_artist(a)
        if self._feed_done and not self._albums_in_flight and not self._artists_flushed:
            self._artists_flushed = True
            for a in self.artist_carrier.leftovers():
                self.artist_batcher.add(a)
            self.artist_batcher.flush()

    # -------------------------------------------------------------------------- the user's library
    def _user_data_answered(self, source: str, resp: Response) -> bool:
        """True for a 200; otherwise log why the source stays incomplete (the response is recorded anyway)."""
        if resp.status == 200 and isinstance(resp.body, dict):
            return True
        if resp.status == 403:
            self.logger.warning("%s answered 403 (%s): the user token may lack the scope %s; %s and store the new "
                                "refresh token. Recorded; the %s table stays empty until then", resp.request,
                                error_message(resp.body) or "no error message", SCOPE_OF[source], LOGIN_HINT,
                                source)
        else:
            self.logger.warning("%s answered %d (recorded)", resp.request, resp.status)
        return False

    def _library(self) -> None:
        """Top artists and tracks (the first page of each time range) and every page of the saved tracks.

        Top tracks and saved tracks are segments of the ordered feed, consumed after the playlists', so
        their albums and artists are looked up (or carried) like those of playlist tracks."""
        for time_range in TIME_RANGES:
            params = {"time_range": time_range, "limit": LIBRARY_LIMIT, "offset": 0}
            self._submit("me_top", "top_artists", "me/top/artists", params,
                         lambda resp: self._user_data_answered("top_artists", resp))
        for time_range in TIME_RANGES:
            seg = _Segment()
            seg.n_parts = 1
            self._library_segments.append(seg)

            def on_top(resp: Response, seg: _Segment = seg) -> None:
                ok = self._user_data_answered("top_tracks", resp)
                seg.parts[0] = _tracks_refs(resp.body.get("items")) if ok else []
                self._pump()

            self._submit("me_top", "top_tracks", "me/top/tracks",
                         {"time_range": time_range, "limit": LIBRARY_LIMIT, "offset": 0}, on_top)
        saved = _Segment()
        self._library_segments.append(saved)

        def on_page(i: int) -> Callable[[Response], None]:
            def cb(resp: Response) -> None:
                ok = self._user_data_answered("saved_tracks", resp)
                saved.parts[i] = _items_refs(resp.body.get("items")) if ok else []
                if i == 0:
                    total = resp.body.get("total") if ok else 0
                    rest = range(LIBRARY_LIMIT, int(total) if isinstance(total, int | float) else 0, LIBRARY_LIMIT)
                    saved.n_parts = 1 + len(rest)
                    for j, offset in enumerate(rest, 1):
                        self._submit("me_tracks", "saved_tracks", "me/tracks",
                                     {"limit": LIBRARY_LIMIT, "offset": offset}, on_page(j))
                self._pump()
            return cb

        self._submit("me_tracks", "saved_tracks", "me/tracks", {"limit": LIBRARY_LIMIT, "offset": 0}, on_page(0))

    # -------------------------------------------------------------------------- playlists
    def _my_playlists(self, on_playlist: Callable[[str], None]) -> None:
        """``me/playlists`` pages; their playlists are started in page order as soon as the pages allow."""
        pages: dict[int, list[str]] = {}
        state = {"next": 0, "total": None}

        def advance() -> None:
            while state["next"] in pages:
                for pid in pages.pop(state["next"]):
                    on_playlist(pid)
                state["next"] += ME_PLAYLISTS_LIMIT
            total = state["total"]
            if total is not None and state["next"] >= total:
                self._feed_closed = True
                self._pump()

        def take(offset: int) -> Callable[[Response], None]:
            def cb(resp: Response) -> None:
                ids: list[str] = []
                if resp.status != 200 or not isinstance(resp.body, dict):
                    self.logger.warning("%s answered %d: not using the user's playlists", resp.request,
                                        resp.status)
                else:
                    ids = [p["id"] for p in resp.body.get("items") or []
                           if isinstance(p, dict) and is_spotify_id(p.get("id"))]
                if offset == 0:
                    ok = resp.status == 200 and isinstance(resp.body, dict)
                    state["total"] = int(resp.body.get("total") or 0) if ok else 0
                    for o in range(ME_PLAYLISTS_LIMIT, state["total"], ME_PLAYLISTS_LIMIT):
                        self._submit("me_playlists", None, "me/playlists",
                                     {"limit": ME_PLAYLISTS_LIMIT, "offset": o}, take(o))
                pages[offset] = ids
                advance()
            return cb

        self._submit("me_playlists", None, "me/playlists", {"limit": ME_PLAYLISTS_LIMIT, "offset": 0}, take(0))

    def _playlist(self, pid: str, previous: dict[str, _PreviousPlaylist]) -> None:
        plan = page_plan(self.mode)
        meta_params = {"additional_types": "track,episode"} if self.mode == "extended" else None
        seg = self._new_segment()
        self.playlists_total += 1
        path = f"playlists/{pid}/{plan.endpoint}"

        def page_params(offset: int) -> dict:
            return {"limit": plan.limit, "offset": offset, **plan.params}

        def on_page(i: int) -> Callable[[Response], None]:
            def cb(resp: Response) -> None:
                ok = resp.status == 200 and isinstance(resp.body, dict)
                seg.parts[i] = _items_refs(resp.body.get("items")) if ok else []
                self._pump()
            return cb

        def pages(offsets: list[int], first_part: int) -> None:
            seg.n_parts = first_part + len(offsets)
            for i, offset in enumerate(offsets, first_part):
                self._submit("playlist_pages", "playlist_items", path, page_params(offset), on_page(i))

        def on_probe_page(resp: Response) -> None:
            # first page fetched alone because the metadata embedded none: plan the rest from its total
            ok = resp.status == 200 and isinstance(resp.body, dict)
            seg.parts[0] = _items_refs(resp.body.get("items")) if ok else []
            rest: list[int] = []
            if ok:
                got = len(resp.body.get("items") or [])
                rest = list(range(got or plan.limit, int(resp.body.get("total") or 0), plan.limit))
            pages(rest, 1)
            self._pump()

        def on_meta(resp: Response) -> None:
            if resp.status != 200 or not isinstance(resp.body, dict):
                self.unavailable += 1
                self.logger.warning("playlist %s: %s answered %d (recorded)", pid, resp.request, resp.status)
                seg.n_parts = 0
                self._pump()
                return
            page = _embedded_page(resp.body)
            first_items = page.get("items") if page else None
            total = page.get("total") if page else None
            total = int(total) if isinstance(total, int | float) else None
            first = len(first_items) if isinstance(first_items, list) else 0
            has_items = isinstance(first_items, list) and (first > 0 or total == 0)
            if has_items:
                offsets = list(range(first, total if total is not None else first, plan.limit))
            else:
                offsets = None  # metadata without items: probe the first page
            prev = previous.get(pid)
            if prev is not None and prev.snapshot_id and prev.snapshot_id == resp.body.get("snapshot_id"):
                carry = self._carryable(prev, plan, offsets)
                if carry is not None:
                    self.unchanged += 1
                    parts = [_items_refs(first_items)]
                    for env in carry:
                        if env.get("status") == 200 and isinstance(env.get("body"), dict):
                            parts.append(_items_refs(env["body"].get("items")))
                        out = dict(env)
                        out.setdefault("carried_from", str(env.get("fetched_at", ""))[:10])
                        self._write("playlist_items", out)
                        self.carried["playlist_items"] += 1
                    seg.parts = dict(enumerate(parts))
                    seg.n_parts = len(parts)
                    self._pump()
                    return
            self.changed += 1
            if offsets is None:
                if total == 0:
                    seg.n_parts = 0
                else:
                    seg.n_parts = None  # known once the probe page answers
                    self._submit("playlist_pages", "playlist_items", path, page_params(0), on_probe_page)
            else:
                seg.parts[0] = _items_refs(first_items)
                pages(offsets, 1)
            self._pump()

        self._submit("playlists", "playlists", f"playlists/{pid}", meta_params, on_meta)

    def _carryable(self, prev: _PreviousPlaylist, plan: PagePlan, offsets: list[int] | None) -> list[dict] | None:
        """Previous item envelopes to carry over, or None if they do not cover today's plan."""
        same_kind: dict[int, dict] = {}
        terminal: list[dict] = []
        for request, env in prev.pages.items():
            _, kind, query = _parse_playlist_request(request)
            if kind != plan.endpoint:
                continue
            if env.get("status") == 200:
                try:
                    same_kind[int(query.get("offset", 0))] = env
                except ValueError:
                    continue
            elif env.get("status") in (403, 404):
                terminal.append(env)
        if offsets is None:  # no embedded items today: previous must have the answer for the probe
            if terminal and not same_kind:
                return terminal
            if 0 in same_kind:
                got = same_kind[0].get("body") or {}
                total = int(got.get("total") or 0) if isinstance(got, dict) else 0
                rest = range(len(got.get("items") or []) if isinstance(got, dict) else 0, total, plan.limit)
                if all(o in same_kind for o in rest):
                    return [same_kind[o] for o in sorted(same_kind)]
            return None
        if all(o in same_kind for o in offsets):
            return [same_kind[o] for o in offsets]
        return None

    @staticmethod
    def _objects(body: Any, key: str) -> list[dict]:
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return [o for o in body[key] if isinstance(o, dict)]
        if isinstance(body, dict) and "id" in body:
            return [body]
        return []

    def run(self, seeds: CrawlSeeds, previous: dict[str, _PreviousPlaylist]) -> None:
        mode, probes = detect_mode(self.client, logger=self.logger)
        self.mode = mode
        if probes:
            self.minimum["mode_probe"] += probes
        self.album_batcher = _Batcher(self, "albums", self._on_albums)
        self.artist_batcher = _Batcher(self, "artists", self._on_artists)
        batch = mode == "extended"
        self.album_carrier = Carrier(self.copies.of("albums", batch=batch), today=self.today,
                                     max_age_days=self.max_age_days)
        # extended mode looks artists up every day: their popularity and followers change daily
        self.artist_carrier = Carrier(() if batch else self.copies.of("artists", batch=False), today=self.today,
                                      max_age_days=self.max_age_days)
        self._seed_tracks = list(seeds.track_ids)
        for a in seeds.artist_ids:  # seed artists open the artist stream
            self._artist_stream.append(a)
        mine = seeds.include_my_playlists and self.client.is_user
        if seeds.include_my_library and self.client.is_user:
            self._library()
        elif seeds.include_my_library:
            self.logger.info("spotify crawl: no user token (client credentials only): the user's top items and "
                             "saved tracks are skipped and their raw files stay empty (set SPOTIFY_REFRESH_TOKEN "
                             "to fetch them)")
        self.logger.info("spotify crawl: %d seed playlists%s, %d seed artists, %d seed tracks (mode %s, %d workers)",
                         len(seeds.playlist_ids), " + the user's" if mine else "", len(seeds.artist_ids),
                         len(seeds.track_ids), mode, self.client.settings.max_workers)
        started: set[str] = set()

        def start_playlist(pid: str) -> None:
            if pid not in started:
                started.add(pid)
                self._playlist(pid, previous)

        for pid in seeds.playlist_ids:
            start_playlist(pid)
        if mine:
            self._my_playlists(start_playlist)
        else:
            self._feed_closed = True
        self._pump()
        self._drain()
        if not (self._feed_done and self._artists_flushed) or self._pending:  # pragma: no cover - a bug
            raise RuntimeError("spotify crawl: the pipeline ended before its feed did")
        self.completed = True
        self.progress.finish()
        self._log_carried()

    def _log_carried(self) -> None:
        if self.max_age_days == 0:
            self.logger.info("spotify crawl: albums and artists all looked up (carrying them over is off: "
                             "maximum copy age 0 days)")
            return
        albums = self.album_carrier.counts.describe("looked up")
        if self.mode == "extended":
            artists = f"{self.artists_fetched} looked up (every day in extended mode)"
        else:
            artists = self.artist_carrier.counts.describe("looked up")
        self.logger.info("spotify crawl: copies younger than %d days carried over from the previous partition; "
                         "albums: %s; artists: %s", self.max_age_days, albums, artists)

    def report(self) -> CrawlReport:
        snap = self.stats.snapshot()
        return CrawlReport(
            mode=self.mode,
            requests_by_endpoint=snap["requests_by_endpoint"],
            total_requests=snap["total_requests"],
            minimum_requests=sum(self.minimum.values()),
            minimum_breakdown=dict(self.minimum),
            retries=snap["retries"],
            rate_limited=snap["rate_limited"],
            server_errors=snap["server_errors"],
            dropped_connections=snap["dropped_connections"],
            token_refreshes=snap["token_refreshes"],
            bytes=snap["bytes"],
            seconds=round(time.monotonic() - self.started, 3),
            playlists_total=self.playlists_total,
            playlists_unchanged=self.unchanged,
            playlists_changed=self.changed,
            playlists_unavailable=self.unavailable,
            tracks=len(self.tracks),
            albums=self.albums_fetched + self.album_carrier.counts.carried,
            artists=self.artists_fetched + self.artist_carrier.counts.carried,
            records_by_source={s: self.records.get(s, 0) for s in SOURCES},
            records_carried=sum(self.carried.values()),
            albums_fetched=self.albums_fetched,
            albums_carried=self.album_carrier.counts.carried,
            artists_fetched=self.artists_fetched,
            artists_carried=self.artist_carrier.counts.carried,
            records_carried_by_source={s: self.carried.get(s, 0) for s in ("playlist_items", *CARRIED_SOURCES)},
            full_copy_max_age_days=self.max_age_days,
            completed=self.completed,
        )


def run_crawl(client: SpotifyClient, seeds: CrawlSeeds, sink: RawSink, *,
              previous: Iterable[tuple[str, dict]] | None = None,
              logger: logging.Logger | None = None, today: date | None = None,
              full_copy_max_age_days: int | None = None) -> CrawlReport:
    """Crawl ``seeds`` into ``sink``; see the module docstring.

    ``previous``: the ``(source, envelope)`` records of the previous partition (its playlists, item pages,
    albums and artists), from which unchanged playlists' pages and young album/artist copies are carried.
    ``today``: the partition's day, against which copies are aged (default: today, UTC).
    ``full_copy_max_age_days``: see :func:`.carry.max_age_days` (``None``: ``SPOTIFY_FULL_COPY_MAX_AGE_DAYS``
    or 7; ``0`` looks every album and artist up).

    Raises ``ValueError`` for invalid seed ids or maximum age (before any request), and
    :class:`RateLimitedError` / :class:`RetryBudgetExhaustedError` / :class:`SpotifyAuthError` (with
    ``.report``, the partial report) when the crawl cannot finish."""
    seeds = CrawlSeeds(
        playlist_ids=validate_ids("playlist", seeds.playlist_ids),
        artist_ids=validate_ids("artist", seeds.artist_ids),
        track_ids=validate_ids("track", seeds.track_ids),
        include_my_playlists=seeds.include_my_playlists,
        include_my_library=seeds.include_my_library,
    )
    max_age = max_age_days(full_copy_max_age_days)
    logger = logger or log
    copies = PreviousCopies()
    prev = index_previous(_playlist_records(previous, copies))
    crawl = _Crawl(client, sink, logger, copies=copies, today=today, max_age_days=max_age)
    try:
        crawl.run(seeds, prev)
    except SpotifyError as e:
        crawl.executor.shutdown(wait=True, cancel_futures=True)
        e.report = crawl.report()
        logger.error("spotify crawl stopped: %s (%d records fetched)", e, sum(crawl.records.values()))
        raise
    finally:
        crawl.executor.shutdown(wait=True, cancel_futures=True)
    report = crawl.report()
    logger.info("spotify crawl done: %d requests (minimum %d), %d retries, %d x 429, %.1f s, records %s "
                "(carried over: %s)", report.total_requests, report.minimum_requests, report.retries,
                report.rate_limited, report.seconds, report.records_by_source, report.records_carried_by_source)
    return report


def _playlist_records(previous: Iterable[tuple[str, dict]] | None,
                      copies: PreviousCopies) -> Iterable[tuple[str, dict]]:
    """The previous partition's playlist records; its album and artist envelopes go to ``copies`` on the way
    (one pass: ``previous`` may be a stream read from the lake)."""
    for source, env in previous or ():
        if source in CARRIED_SOURCES:
            copies.add(source, env)
        else:
            yield source, env
