"""Where a Spotify response keeps things: the few places whose key depends on the quota mode or endpoint.

The crawl (which pages to fetch next) and both transform paths (record by record, and the Arrow fast
path that coalesces whole columns) read these shapes; this module is the one place that knows them:

* a playlist object embeds the first page of its items under ``items`` (development mode) or
  ``tracks`` (extended mode; a simplified playlist has only ``{href, total}`` there);
* a playlist item carries its track or episode under ``item`` (development mode) or ``track``;
* a saved track (``/me/tracks``) and a play (``/me/player/recently-played``) carry ``track`` in both modes;
* a batch look-up (``/tracks?ids=``, ``/albums?ids=``, ``/artists?ids=``, extended mode only) answers
  ``{"tracks": [...]}`` / ``{"albums": [...]}`` / ``{"artists": [...]}``, a single look-up the object itself.

One preference order when a response carries both names: ``items`` before ``tracks``, ``item`` before
``track``. Spotify's API description marks ``tracks`` (playlist) and ``track`` (playlist item) as
deprecated, "use ``items``/``item`` instead"; development mode, the normal case, sends only the new
names; a response with both is one from the changeover, and the field Spotify still maintains is the
new one. Which page is used also needs a usable value, so a playlist whose ``items`` is only a
``{href, total}`` reference while ``tracks`` holds the page of items is read from ``tracks``.
"""

from __future__ import annotations

from typing import Any

# The time ranges of the user's top items (``/me/top/{type}?time_range=``), all three crawled.
TIME_RANGES: tuple[str, ...] = ("short_term", "medium_term", "long_term")
# A playlist object's embedded page of items, preferred key first.
EMBEDDED_PAGE_KEYS: tuple[str, ...] = ("items", "tracks")
# A playlist item's track or episode, preferred key first.
ITEM_OBJECT_KEYS: tuple[str, ...] = ("item", "track")
# A saved track's or a play's track (both quota modes).
TRACK_KEY = "track"
# A batch look-up answer's list of objects, per endpoint (``/tracks?ids=`` answers ``{"tracks": [...]}``).
LOOKUP_KEYS: dict[str, str] = {"tracks": "tracks", "albums": "albums", "artists": "artists"}


def embedded_item_page(playlist: dict) -> dict | None:
    """The item page embedded in ``playlist``: the first of :data:`EMBEDDED_PAGE_KEYS` that is an object
    with an ``items`` array, else the first that is an object (a ``{href, total}`` reference, or a page
    without items), else None. Values that are not objects are skipped (the transform rejects them before)."""
    first = None
    for key in EMBEDDED_PAGE_KEYS:
        page = playlist.get(key)
        if type(page) is dict:
            if type(page.get("items")) is list:
                return page
            if first is None:
                first = page
    return first


def item_value(entry: dict) -> Any:
    """The value a playlist item carries its track/episode in: the first of :data:`ITEM_OBJECT_KEYS` that is
    not null (whatever its JSON type, so the caller can reject a wrong one), else None."""
    for key in ITEM_OBJECT_KEYS:
        value = entry.get(key)
        if value is not None:
            return value
    return None


def item_object(entry: Any) -> dict | None:
    """A playlist item's track or episode object (:func:`item_value`), or None (a null item, a local file
    without one, or anything that is not an object)."""
    if type(entry) is not dict:
        return None
    value = item_value(entry)
    return value if type(value) is dict else None


def track_of(entry: dict) -> Any:
    """The track a saved-track entry or a play carries (whatever its JSON type), or None."""
    return entry.get(TRACK_KEY)


def lookup_batch(body: dict, endpoint: str) -> tuple[bool, Any]:
    """``(True, entries)`` when ``body`` is a batch look-up answer of ``endpoint`` (``"tracks"``, ``"albums"``,
    ``"artists"``): it has the endpoint's key and no ``id`` of its own; ``(False, None)`` for a single object."""
    key = LOOKUP_KEYS[endpoint]
    if "id" not in body and key in body:
        return True, body[key]
    return False, None


def lookup_objects(body: Any, endpoint: str) -> list[dict]:
    """The objects a look-up of ``endpoint`` answered: the entries of a batch answer that are objects (Spotify
    answers null for an unknown id), or the single object of a one-id look-up; [] for anything else."""
    if type(body) is not dict:
        return []
    batch, entries = lookup_batch(body, endpoint)
    if batch:
        return [o for o in entries if type(o) is dict] if type(entries) is list else []
    return [body] if "id" in body else []
