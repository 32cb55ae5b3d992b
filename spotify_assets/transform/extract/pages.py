"""What a request and a page say: the playlist an item page belongs to, a page's items and offset, a top
list's range.

Both extraction paths read these the same way (the fast path calls the same functions per line and falls
back to the record-by-record path where they reject), so each rule is written once, here.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from ...spotify.shapes import TIME_RANGES
from ..coerce import INT64_MAX, Bad, short_number, spotify_id, to_int
from ..records import Reject

# An item page's request: /playlists/{id}/tracks (extended mode) or /playlists/{id}/items.
PLAYLIST_ITEMS_REQUEST = re.compile(r"/playlists/([^/?#]+)/(?:tracks|items)\b")
DEFAULT_TIME_RANGE = "medium_term"  # Spotify's, when the request names none


def request_playlist_id(request: str) -> str:
    """The playlist ID an item page's request names; :class:`Reject` when it names none or an invalid one."""
    m = PLAYLIST_ITEMS_REQUEST.search(request)
    if not m:
        raise Reject("request path names no playlist (/playlists/{id}/tracks or /items)")
    try:
        return spotify_id(m.group(1), "playlist id in request")
    except Bad as e:
        raise Reject(e.reason) from None


def page_items(body: dict) -> list:
    """A page's ``items`` array; :class:`Reject` when the page has none."""
    items = body.get("items")
    if type(items) is not list:
        raise Reject("page has no items array")
    return items


def page_offset_limit(n_items: int) -> int:
    """The largest page offset whose ``n_items`` positions (``offset + i``) all fit in int64."""
    return INT64_MAX - max(n_items - 1, 0)


def page_offset(sent, request: str, n_items: int) -> int:
    """A page's offset: ``sent`` (the page's ``offset`` field), else the request's ``offset`` parameter, else 0;
    checked so that every item's position (``offset + i``) is a non-negative int64; :class:`Reject` otherwise."""
    try:
        off = to_int(sent, "offset")
    except Bad as e:
        raise Reject(e.reason) from None
    if off is None:
        q = parse_qs(urlsplit(request).query)
        try:
            off = int(q.get("offset", ["0"])[0])
        except ValueError:
            raise Reject("page has no usable offset") from None
    if not 0 <= off <= page_offset_limit(n_items):
        raise Reject(f"page offset {short_number(off)} out of range for {n_items} items (positions must be "
                     "non-negative int64)")
    return off


def request_time_range(request: str) -> str:
    """A top list's ``time_range``: the request's (:data:`DEFAULT_TIME_RANGE` when absent); :class:`Reject`
    for any other value than :data:`TIME_RANGES`."""
    q = parse_qs(urlsplit(request).query)
    time_range = q.get("time_range", [DEFAULT_TIME_RANGE])[0]
    if time_range not in TIME_RANGES:
        raise Reject(f"request's time_range {time_range[:40]!r} is not one of {', '.join(TIME_RANGES)}")
    return time_range
