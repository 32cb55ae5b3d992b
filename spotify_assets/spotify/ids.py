"""Spotify id validation (ids go into URLs: never trust them)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

BASE62_ID = re.compile(r"[0-9A-Za-z]{22}")


def is_spotify_id(value: object) -> bool:
    # fullmatch: with match, "$" would also match before a final "\n"
    return isinstance(value, str) and BASE62_ID.fullmatch(value) is not None


def artist_ids(artists: Any) -> list[str]:
    """The valid ids of a list of (simplified) artist objects, in order (a track's or an album's ``artists``)."""
    if not isinstance(artists, list):
        return []
    return [a["id"] for a in artists if isinstance(a, dict) and is_spotify_id(a.get("id"))]


def validate_ids(kind: str, ids: Iterable[str]) -> list[str]:
    """Return the ids de-duplicated in order; raise ``ValueError`` listing every invalid one."""
    ids = list(ids)
    bad = [i for i in ids if not is_spotify_id(i)]
    if bad:
        shown = ", ".join(repr(b) for b in bad[:20]) + (f" (+{len(bad) - 20} more)" if len(bad) > 20 else "")
        raise ValueError(f"Invalid Spotify {kind} id(s) (need 22 base62 characters [0-9A-Za-z]): {shown}")
    return list(dict.fromkeys(ids))


def chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]
