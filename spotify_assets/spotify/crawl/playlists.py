"""Playlists: the user's playlist list, each playlist's metadata, and its item pages.

Each playlist is one ``/v1/playlists/{id}`` request (extended: ``additional_types=track,episode``), whose
answer embeds the first item page. An unchanged playlist (same ``snapshot_id`` as in the previous
partition, whose pages there cover today's plan) has its pages carried (:mod:`.carry`): one request in
all. Otherwise the remaining pages are fetched at the largest page size the quota mode allows (extended
``/tracks`` limit 100, development ``/items`` limit 50). A playlist answered without items gets its first
page probed, and the rest planned from that page's ``total``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ..client import Response
from ..ids import is_spotify_id
from ..shapes import embedded_item_page
from .carry import Carrying
from .feed import Segment, TrackFeed
from .refs import items_refs
from .scheduling import RequestQueue

ME_PLAYLISTS_LIMIT = 50


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
class PlaylistCounts:
    """What became of the playlists (for the report)."""

    total: int = 0
    unchanged: int = 0  # carried: one request each
    changed: int = 0  # item pages fetched
    unavailable: int = 0  # the metadata request answered with an error (recorded)


class Playlists:
    """Starts each playlist once, from the seeds or from the user's playlist list, in that order."""

    def __init__(self, mode: str, requests: RequestQueue, feed: TrackFeed, carrying: Carrying,
                 counts: PlaylistCounts, logger: logging.Logger) -> None:
        self.requests, self.feed, self.carrying, self.counts, self.logger = requests, feed, carrying, counts, logger
        self.plan = page_plan(mode)
        self.meta_params = {"additional_types": "track,episode"} if mode == "extended" else None
        self._started: set[str] = set()

    def start(self, pid: str) -> None:
        """Fetch playlist ``pid`` (its place in the feed is now), unless it is already started."""
        if pid not in self._started:
            self._started.add(pid)
            _Playlist(self, pid).start()

    def start_mine(self) -> None:
        """Fetch the ``me/playlists`` pages and start their playlists; the feed closes after the last one."""
        _MyPlaylists(self.requests, self.feed, self.logger, self.start).start()


class _MyPlaylists:
    """``me/playlists`` pages; their playlists are started in page order as soon as the pages allow."""

    def __init__(self, requests: RequestQueue, feed: TrackFeed, logger: logging.Logger,
                 on_playlist: Callable[[str], None]) -> None:
        self.requests, self.feed, self.logger, self.on_playlist = requests, feed, logger, on_playlist
        self._pages: dict[int, list[str]] = {}  # offset -> playlist ids, until their turn
        self._next = 0
        self._total: int | None = None

    def start(self) -> None:
        self._fetch(0)

    def _fetch(self, offset: int) -> None:
        self.requests.submit("me_playlists", None, "me/playlists", {"limit": ME_PLAYLISTS_LIMIT, "offset": offset},
                             partial(self._on_page, offset))

    def _on_page(self, offset: int, resp: Response) -> None:
        ok = resp.status == 200 and isinstance(resp.body, dict)
        ids: list[str] = []
        if not ok:
            self.logger.warning("%s answered %d: not using the user's playlists", resp.request, resp.status)
        else:
            ids = [p["id"] for p in resp.body.get("items") or [] if isinstance(p, dict) and is_spotify_id(p.get("id"))]
        if offset == 0:
            self._total = int(resp.body.get("total") or 0) if ok else 0
            for o in range(ME_PLAYLISTS_LIMIT, self._total, ME_PLAYLISTS_LIMIT):
                self._fetch(o)
        self._pages[offset] = ids
        self._advance()

    def _advance(self) -> None:
        while self._next in self._pages:
            for pid in self._pages.pop(self._next):
                self.on_playlist(pid)
            self._next += ME_PLAYLISTS_LIMIT
        if self._total is not None and self._next >= self._total:
            self.feed.close()
            self.feed.pump()


class _Playlist:
    """One playlist: its metadata request, then its item pages carried or fetched, into its feed segment."""

    def __init__(self, playlists: Playlists, pid: str) -> None:
        self.p = playlists
        self.pid = pid
        self.plan = playlists.plan
        self.seg: Segment = playlists.feed.segment()
        playlists.counts.total += 1
        self.path = f"playlists/{pid}/{self.plan.endpoint}"

    def start(self) -> None:
        self.p.requests.submit("playlists", "playlists", f"playlists/{self.pid}", self.p.meta_params, self._on_meta)

    def _on_meta(self, resp: Response) -> None:
        if resp.status != 200 or not isinstance(resp.body, dict):
            self.p.counts.unavailable += 1
            self.p.logger.warning("playlist %s: %s answered %d (recorded)", self.pid, resp.request, resp.status)
            self.seg.n_parts = 0
            self.p.feed.pump()
            return
        page = embedded_item_page(resp.body)
        first_items = page.get("items") if page else None
        total = page.get("total") if page else None
        total = int(total) if isinstance(total, int | float) else None
        first = len(first_items) if isinstance(first_items, list) else 0
        has_items = isinstance(first_items, list) and (first > 0 or total == 0)
        if has_items:
            offsets = list(range(first, total if total is not None else first, self.plan.limit))
        else:
            offsets = None  # metadata without items: probe the first page
        carried = self.p.carrying.playlist_pages(self.pid, resp.body.get("snapshot_id"), self.plan.endpoint,
                                                 self.plan.limit, offsets)
        if carried is not None:
            self._take_carried(first_items, carried)
            return
        self.p.counts.changed += 1
        if offsets is None:
            if total == 0:
                self.seg.n_parts = 0
            else:
                self.seg.n_parts = None  # known once the probe page answers
                self._fetch_page(0, self._on_probe_page)
        else:
            self.seg.parts[0] = items_refs(first_items)
            self._fetch_pages(offsets, 1)
        self.p.feed.pump()

    def _take_carried(self, first_items: object, carried: list[dict]) -> None:
        """The playlist is unchanged: its parts are the embedded page and the carried pages."""
        self.p.counts.unchanged += 1
        parts = [items_refs(first_items)]
        for env in carried:
            if env.get("status") == 200 and isinstance(env.get("body"), dict):
                parts.append(items_refs(env["body"].get("items")))
        self.seg.parts = dict(enumerate(parts))
        self.seg.n_parts = len(parts)
        self.p.feed.pump()

    def _fetch_pages(self, offsets: list[int], first_part: int) -> None:
        self.seg.n_parts = first_part + len(offsets)
        for i, offset in enumerate(offsets, first_part):
            self._fetch_page(offset, partial(self._on_page, i))

    def _fetch_page(self, offset: int, on_done: Callable[[Response], None]) -> None:
        params = {"limit": self.plan.limit, "offset": offset, **self.plan.params}
        self.p.requests.submit("playlist_pages", "playlist_items", self.path, params, on_done)

    def _on_page(self, i: int, resp: Response) -> None:
        ok = resp.status == 200 and isinstance(resp.body, dict)
        self.seg.parts[i] = items_refs(resp.body.get("items")) if ok else []
        self.p.feed.pump()

    def _on_probe_page(self, resp: Response) -> None:
        """The first page, fetched alone because the metadata embedded none: plan the rest from its total."""
        ok = resp.status == 200 and isinstance(resp.body, dict)
        self.seg.parts[0] = items_refs(resp.body.get("items")) if ok else []
        rest: list[int] = []
        if ok:
            got = len(resp.body.get("items") or [])
            rest = list(range(got or self.plan.limit, int(resp.body.get("total") or 0), self.plan.limit))
        self._fetch_pages(rest, 1)
        self.p.feed.pump()
