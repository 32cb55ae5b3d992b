"""The user's own library: top artists and tracks (the top 50 of each time range) and every saved track.

Needs a user token (the crawl skips it with client credentials only). A 403 means the token lacks the
scope: it is recorded, logged naming the scope and how to log in again, and the rest of the crawl goes on.
Top tracks and saved tracks are segments of the ordered feed (:mod:`.feed`), consumed after the
playlists', so their albums and artists are looked up (or carried) like those of playlist tracks.
"""

from __future__ import annotations

import logging
from functools import partial

from ..client import Response
from ..errors import LOGIN_HINT, SCOPE_OF, error_message
from ..shapes import TIME_RANGES
from .feed import Segment, TrackFeed
from .refs import items_refs, tracks_refs
from .scheduling import RequestQueue

LIBRARY_LIMIT = 50  # top items: the first page is the top 50; saved tracks: pages of 50


class Library:
    """Requests the user's top items and saved tracks; feeds their tracks into their feed segments."""

    def __init__(self, requests: RequestQueue, feed: TrackFeed, logger: logging.Logger) -> None:
        self.requests, self.feed, self.logger = requests, feed, logger
        self._saved: Segment | None = None

    def start(self) -> None:
        """Top artists and tracks (the first page of each time range) and every page of the saved tracks."""
        for time_range in TIME_RANGES:
            params = {"time_range": time_range, "limit": LIBRARY_LIMIT, "offset": 0}
            self.requests.submit("me_top", "top_artists", "me/top/artists", params,
                                 partial(self._answered, "top_artists"))
        for time_range in TIME_RANGES:
            seg = self.feed.library_segment()
            seg.n_parts = 1
            self.requests.submit("me_top", "top_tracks", "me/top/tracks",
                                 {"time_range": time_range, "limit": LIBRARY_LIMIT, "offset": 0},
                                 partial(self._on_top_tracks, seg))
        self._saved = self.feed.library_segment()
        self._fetch_saved(0, 0)

    def _answered(self, source: str, resp: Response) -> bool:
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

    def _on_top_tracks(self, seg: Segment, resp: Response) -> None:
        ok = self._answered("top_tracks", resp)
        self.feed.deliver(seg, 0, tracks_refs(resp.body.get("items")) if ok else [])

    def _fetch_saved(self, part: int, offset: int) -> None:
        self.requests.submit("me_tracks", "saved_tracks", "me/tracks", {"limit": LIBRARY_LIMIT, "offset": offset},
                             partial(self._on_saved_page, part))

    def _on_saved_page(self, part: int, resp: Response) -> None:
        """A page of saved tracks; the first one plans the rest from its ``total``."""
        saved = self._saved
        ok = self._answered("saved_tracks", resp)
        saved.parts[part] = items_refs(resp.body.get("items")) if ok else []
        if part == 0:
            total = resp.body.get("total") if ok else 0
            rest = range(LIBRARY_LIMIT, int(total) if isinstance(total, int | float) else 0, LIBRARY_LIMIT)
            saved.n_parts = 1 + len(rest)
            for j, offset in enumerate(rest, 1):
                self._fetch_saved(j, offset)
        self.feed.pump()
