"""What the crawl reads out of a response: the shapes of Spotify's answers, and the ids they lead to.

Where a playlist embeds its first item page and where an item holds its track is known once, for the crawl and
the transform, in :mod:`spotify_assets.spotify.shapes`; this module knows what makes a track object full and
which album and artist ids a track refers to. The other modules
work on :data:`TrackRefs`, never on the objects themselves (the raw zone keeps the responses; the crawl only
needs the ids to decide what to fetch next).
"""

from __future__ import annotations

from typing import Any

from ..ids import artist_ids, is_spotify_id
from ..shapes import item_object

TrackRefs = tuple[str, str | None, tuple[str, ...]]  # (track id, album id, artist ids: album's then track's)


def is_full_track(obj: dict | None) -> bool:
    return (isinstance(obj, dict) and obj.get("type", "track") == "track" and not obj.get("is_local")
            and is_spotify_id(obj.get("id")))


def track_refs(obj: dict | None) -> TrackRefs | None:
    """What the crawl needs from a full track object (the object itself is not kept)."""
    if not is_full_track(obj):
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


def tracks_refs(tracks: Any) -> list[TrackRefs]:
    """The refs of a list of track objects (look-up answers, top tracks)."""
    if not isinstance(tracks, list):
        return []
    return [r for r in map(track_refs, tracks) if r is not None]


def items_refs(items: Any) -> list[TrackRefs]:
    """The refs of a page of playlist items or saved tracks (``{"item"/"track": {...}}`` entries)."""
    if not isinstance(items, list):
        return []
    return [r for r in (track_refs(item_object(e)) for e in items) if r is not None]
