"""What every endpoint family shares: errors as the Web API reports them, query parameters parsed and
bounded as Spotify does, and the access rules of the two quota modes (scopes, endpoints development mode
removed, playlists it no longer serves)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

import orjson

from ..auth import Token
from ..ids import is_base62_id
from ..listening import Listening
from ..music import SPOTIFY_USER_ID, Music
from ..shapes import Shaper

# A route: the path template (``{id}`` for one path segment) and the endpoint that answers it, called with
# the token, the query parameters, the day (an ordinal) and the template's segments.
Route = tuple[str, Callable[..., dict]]


class ApiError(Exception):
    """A Web API error response: its HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def error_body(status: int, message: str) -> bytes:
    """The JSON body of an error, as the Web API writes it."""
    return orjson.dumps({"error": {"status": status, "message": message}})


def int_param(q: dict, name: str, default: int, lo: int, hi: int | None, message: str) -> int:
    """Integer query parameter ``name`` within ``lo``..``hi`` (``hi`` None: unbounded), else a 400 with ``message``."""
    raw = q.get(name)
    if raw is None or raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise ApiError(400, message) from None
    if v < lo or (hi is not None and v > hi):
        raise ApiError(400, message)
    return v


def extra(q: dict, *names: str) -> dict:
    """The query parameters ``names`` that were given (a page's ``href`` and ``next`` repeat them)."""
    return {n: q[n] for n in names if q.get(n)}


class Endpoints:
    """The base of an endpoint family: the emulator's music, the response shaper, the demo user's listening
    and the emulator's clock, with the checks every family makes."""

    def __init__(self, music: Music, shaper: Shaper, listening: Listening, now: Callable[[], datetime]) -> None:
        self.music = music
        self.shaper = shaper
        self.extended = shaper.extended
        self.listening = listening
        self.now = now

    def routes(self) -> list[Route]:
        raise NotImplementedError

    # -- who may call
    def need_user(self, tok: Token) -> None:
        if tok.user is None:
            raise ApiError(401, "Unauthorized.")

    def need_scope(self, tok: Token, scope: str) -> None:
        self.need_user(tok)
        if not tok.has_scope(scope):
            raise ApiError(403, "Insufficient client scope")

    def dev_removed(self) -> None:
        """A 403 in development mode, for the endpoints it removed (batch look-ups, ``/tracks`` of a playlist)."""
        if not self.extended:
            raise ApiError(403, "Forbidden")

    def visible(self, p: int) -> bool:
        """Whether playlist ``p`` is served: development mode no longer serves Spotify-owned playlists."""
        return self.extended or self.music.playlist(p)["owner"] != SPOTIFY_USER_ID

    # -- parameters
    def market(self, q: dict) -> bool:
        m = q.get("market")
        if not m:
            return False
        if m != "from_token" and not re.fullmatch(r"[A-Z]{2}", m):
            raise ApiError(400, "Invalid market code")
        return True

    def find(self, raw: str, kinds: tuple[str, ...]) -> tuple[str, int] | None:
        """The (kind, index) of an id among ``kinds``; None when unknown; a 400 when not a base62 id."""
        if not is_base62_id(raw):
            raise ApiError(400, "Invalid base62 id")
        for k in kinds:
            idx = self.music.lookup(raw, k)
            if idx is not None:
                return k, idx
        return None

    def one(self, raw: str, kinds: tuple[str, ...]) -> tuple[str, int]:
        """As :meth:`find`, with a 404 when unknown."""
        found = self.find(raw, kinds)
        if found is None:
            raise ApiError(404, "Resource not found")
        return found

    def ids(self, q: dict, maximum: int) -> list[str]:
        """The ``ids`` parameter of a batch look-up (at most ``maximum``)."""
        raw = q.get("ids")
        if not raw:
            raise ApiError(400, "invalid id")
        ids = raw.split(",")
        if len(ids) > maximum:
            raise ApiError(400, "Too many ids requested")
        return ids
