"""The request-minimal crawl: seeds -> playlists -> item pages -> tracks -> albums -> artists.

Plan (``M`` = quota mode, see :mod:`.mode`):

1. ``/v1/me/playlists?limit=50`` pages when the token is a user token and ``include_my_playlists``.
2. ``/v1/playlists/{id}`` for every playlist (extended: ``additional_types=track,episode``); the answer
   embeds the first item page.
3. If the playlist's ``snapshot_id`` equals the one in ``previous`` and the previous partition holds its
   complete item pages, those pages are carried over verbatim (plus ``"carried_from": "YYYY-MM-DD"``,
   the date the response was originally fetched): the playlist costs exactly one request. Otherwise the
   remaining pages are fetched at the maximum page size (extended ``/tracks`` limit 100, development
   ``/items`` limit 50).
4. Full track objects come inside the items; seed track ids not seen in full are looked up.
5. Albums then artists referenced by the tracks (simplified objects are not full), plus seed artists:
   extended ``?ids=`` batches of 20 / 50, development single look-ups. Ids are sorted before batching, so
   the batches (and records) are identical whatever the completion order of the concurrent requests.

Every final response of a data source (200s, and 403/404 that are data: a missing playlist, a
non-owned playlist's items in development mode) is written to the sink from the worker thread as soon
as it arrives, so an aborted crawl (``RateLimitedError``...) keeps what it fetched; the exception gets a
``report`` attribute holding the partial :class:`CrawlReport`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qs

from .accounting import ProgressLogger
from .client import Response, SpotifyClient
from .errors import SpotifyError
from .ids import chunks, is_spotify_id, validate_ids
from .mode import detect_mode

log = logging.getLogger(__name__)

SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists")
ME_PLAYLISTS_LIMIT = 50
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
    albums: int
    artists: int
    records_by_source: dict[str, int]
    records_carried: int
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
class _Crawl:
    def __init__(self, client: SpotifyClient, sink: RawSink, logger: logging.Logger):
        self.client = client
        self.sink = sink
        self.logger = logger
        self.stats = client.reset_accounting()
        self.started = time.monotonic()
        self.mode = client.mode or "auto"
        self.minimum: Counter[str] = Counter()
        self.records: Counter[str] = Counter()
        self.carried = 0
        self._rec_lock = threading.Lock()
        self.playlists_total = self.unchanged = self.changed = self.unavailable = 0
        self.tracks: set[str] = set()  # full tracks known (from items or look-ups)
        self.albums: set[str] = set()
        self.artists: set[str] = set()
        self.albums_fetched = 0
        self.artists_fetched = 0
        self.tracks_looked_up = 0
        self.progress = ProgressLogger(logger, "spotify crawl")
        self._pending: dict[Future, Callable[[Response], None]] = {}
        self.executor = ThreadPoolExecutor(max_workers=client.settings.max_workers,
                                           thread_name_prefix="spotify-crawl")
        self.completed = False

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

    def _drain(self) -> None:
        while self._pending:
            done, _ = wait(list(self._pending), return_when=FIRST_COMPLETED)
            for fut in done:
                on_done = self._pending.pop(fut)
                resp = fut.result()  # re-raises RateLimitedError & co. in the main thread
                self.progress.advance()
                on_done(resp)

    # -------------------------------------------------------------------------- tracks bookkeeping
    def _take_items(self, items: Any) -> None:
        if not isinstance(items, list):
            return
        for entry in items:
            self._take_track(_item_object(entry))

    def _take_track(self, obj: dict | None) -> None:
        if not _is_full_track(obj):
            return
        self.tracks.add(obj["id"])
        album = obj.get("album")
        if isinstance(album, dict):
            if is_spotify_id(album.get("id")):
                self.albums.add(album["id"])
            self._take_artists(album.get("artists"))
        self._take_artists(obj.get("artists"))

    def _take_artists(self, artists: Any) -> None:
        if isinstance(artists, list):
            for a in artists:
                if isinstance(a, dict) and is_spotify_id(a.get("id")):
                    self.artists.add(a["id"])

    # -------------------------------------------------------------------------- phases
    def my_playlists(self) -> list[str]:
        found: list[str] = []

        def take(resp: Response) -> None:
            if resp.status != 200 or not isinstance(resp.body, dict):
                self.logger.warning("%s answered %d: not using the user's playlists", resp.request, resp.status)
                return
            for p in resp.body.get("items") or []:
                if isinstance(p, dict) and is_spotify_id(p.get("id")):
                    found.append(p["id"])

        def first(resp: Response) -> None:
            take(resp)
            if resp.status == 200 and isinstance(resp.body, dict):
                total = int(resp.body.get("total") or 0)
                for offset in range(ME_PLAYLISTS_LIMIT, total, ME_PLAYLISTS_LIMIT):
                    self._submit("me_playlists", None, "me/playlists",
                                 {"limit": ME_PLAYLISTS_LIMIT, "offset": offset}, take)

        self._submit("me_playlists", None, "me/playlists", {"limit": ME_PLAYLISTS_LIMIT, "offset": 0}, first)
        self._drain()
        return found

    def playlists(self, playlist_ids: list[str], previous: dict[str, _PreviousPlaylist]) -> None:
        plan = page_plan(self.mode)
        meta_params = {"additional_types": "track,episode"} if self.mode == "extended" else None
        self.playlists_total = len(playlist_ids)

        def page_params(offset: int) -> dict:
            return {"limit": plan.limit, "offset": offset, **plan.params}

        def on_page(resp: Response) -> None:
            if resp.status == 200 and isinstance(resp.body, dict):
                self._take_items(resp.body.get("items"))

        def on_probe_page(pid: str) -> Callable[[Response], None]:
            # first page fetched alone because the metadata embedded none: plan the rest from its total
            def cb(resp: Response) -> None:
                on_page(resp)
                if resp.status == 200 and isinstance(resp.body, dict):
                    got = len(resp.body.get("items") or [])
                    for offset in range(got or plan.limit, int(resp.body.get("total") or 0), plan.limit):
                        self._submit("playlist_pages", "playlist_items", f"playlists/{pid}/{plan.endpoint}",
                                     page_params(offset), on_page)
            return cb

        def on_meta(pid: str) -> Callable[[Response], None]:
            def cb(resp: Response) -> None:
                if resp.status != 200 or not isinstance(resp.body, dict):
                    self.unavailable += 1
                    self.logger.warning("playlist %s: %s answered %d (recorded)", pid, resp.request, resp.status)
                    return
                page = _embedded_page(resp.body)
                first_items = page.get("items") if page else None
                total = page.get("total") if page else None
                total = int(total) if isinstance(total, int | float) else None
                self._take_items(first_items)
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
                        for env in carry:
                            if env.get("status") == 200 and isinstance(env.get("body"), dict):
                                self._take_items(env["body"].get("items"))
                            out = dict(env)
                            out.setdefault("carried_from", str(env.get("fetched_at", ""))[:10])
                            self._write("playlist_items", out)
                            with self._rec_lock:
                                self.carried += 1
                        return
                self.changed += 1
                path = f"playlists/{pid}/{plan.endpoint}"
                if offsets is None:
                    if total == 0:
                        return
                    self._submit("playlist_pages", "playlist_items", path, page_params(0), on_probe_page(pid))
                else:
                    for offset in offsets:
                        self._submit("playlist_pages", "playlist_items", path, page_params(offset), on_page)
            return cb

        for pid in playlist_ids:
            self._submit("playlists", "playlists", f"playlists/{pid}", meta_params, on_meta(pid))
        self._drain()

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

    def look_up(self, kind: str, ids: set[str] | list[str], on_body: Callable[[Any], None] | None = None) -> None:
        """Batch (extended) or single (development) look-ups of ``ids`` (sorted: deterministic batches)."""
        ids = sorted(set(ids))
        if not ids:
            return

        def cb(resp: Response) -> None:
            if resp.status != 200:
                self.logger.warning("%s answered %d (recorded)", resp.request, resp.status)
                return
            if on_body is not None:
                on_body(resp.body)

        if self.mode == "extended":
            for batch in chunks(ids, BATCH_SIZE[kind]):
                self._submit(kind, kind, kind, {"ids": ",".join(batch)}, cb)
        else:
            for i in ids:
                self._submit(kind, kind, f"{kind}/{i}", None, cb)
        self._drain()

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
        playlist_ids = list(seeds.playlist_ids)
        if seeds.include_my_playlists and self.client.is_user:
            playlist_ids += self.my_playlists()
        playlist_ids = list(dict.fromkeys(playlist_ids))
        self.logger.info("spotify crawl: %d playlists, %d seed artists, %d seed tracks (mode %s, %d workers)",
                         len(playlist_ids), len(seeds.artist_ids), len(seeds.track_ids), mode,
                         self.client.settings.max_workers)
        self.playlists(playlist_ids, previous)

        def take_tracks(body: Any) -> None:
            for t in self._objects(body, "tracks"):
                self.tracks_looked_up += 1
                self._take_track(t)

        self.look_up("tracks", [t for t in seeds.track_ids if t not in self.tracks], take_tracks)

        def take_albums(body: Any) -> None:
            for a in self._objects(body, "albums"):
                self.albums_fetched += 1
                self._take_artists(a.get("artists"))

        self.look_up("albums", self.albums, take_albums)

        def take_artists(body: Any) -> None:
            self.artists_fetched += len(self._objects(body, "artists"))

        self.look_up("artists", self.artists | set(seeds.artist_ids), take_artists)
        self.completed = True
        self.progress.finish()

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
            albums=self.albums_fetched,
            artists=self.artists_fetched,
            records_by_source={s: self.records.get(s, 0) for s in SOURCES},
            records_carried=self.carried,
            completed=self.completed,
        )


def run_crawl(client: SpotifyClient, seeds: CrawlSeeds, sink: RawSink, *,
              previous: Iterable[tuple[str, dict]] | None = None,
              logger: logging.Logger | None = None) -> CrawlReport:
    """Crawl ``seeds`` into ``sink``; see the module docstring. Raises ``ValueError`` for invalid seed ids
    (before any request), and :class:`RateLimitedError` / :class:`RetryBudgetExhaustedError` /
    :class:`SpotifyAuthError` (with ``.report``, the partial report) when the crawl cannot finish."""
    seeds = CrawlSeeds(
        playlist_ids=validate_ids("playlist", seeds.playlist_ids),
        artist_ids=validate_ids("artist", seeds.artist_ids),
        track_ids=validate_ids("track", seeds.track_ids),
        include_my_playlists=seeds.include_my_playlists,
    )
    logger = logger or log
    prev = index_previous(previous)
    crawl = _Crawl(client, sink, logger)
    try:
        crawl.run(seeds, prev)
    except SpotifyError as e:
        crawl.executor.shutdown(wait=True, cancel_futures=True)
        e.report = crawl.report()
        logger.error("spotify crawl stopped: %s (%d records kept)", e, sum(crawl.records.values()))
        raise
    finally:
        crawl.executor.shutdown(wait=True, cancel_futures=True)
    report = crawl.report()
    logger.info("spotify crawl done: %d requests (minimum %d), %d retries, %d x 429, %.1f s, records %s",
                report.total_requests, report.minimum_requests, report.retries, report.rate_limited,
                report.seconds, report.records_by_source)
    return report
