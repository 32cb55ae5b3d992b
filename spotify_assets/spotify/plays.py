"""Fetching the user's recently played tracks: the plays after a cursor (where they land and where the cursor
comes from: :mod:`spotify_assets.lake.plays`).

``GET /me/player/recently-played?after=<cursor in ms>&limit=50`` (exclusive: only newer plays), following
``next`` while there is one. Spotify remembers the last 50 plays only: when the answer holds 50 plays or more
since the cursor, older ones may have happened and be forgotten — the fetch warns (``possible_gap``), and
the schedule should run more often.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .client import Response, SpotifyClient
from .errors import LOGIN_HINT, SCOPE_OF, error_message

log = logging.getLogger(__name__)

PLAYS_LIMIT = 50  # the API's maximum page, and as many plays as it remembers
MAX_PAGES = 10  # a bound on following `next` (the API remembers 50 plays: one page in practice)


@dataclass
class PlaysFetch:
    """The answers of one run (in request order) and what they hold."""

    responses: list[Response]
    after_ms: int | None
    plays: int  # plays in the 200 answers
    possible_gap: bool
    problem: str | None = None  # why nothing (or not everything) could be fetched


def fetch_plays(client: SpotifyClient, after_ms: int | None, *, logger: logging.Logger | None = None) -> PlaysFetch:
    """The plays after ``after_ms`` (all remembered ones without it); see the module docstring.

    A non-200 answer (a token without the scope ``user-read-recently-played``: 403) ends the fetch with
    ``problem`` set and is not landed; 429s, 5xx and expired tokens are handled by the client."""
    logger = logger or log
    params: dict[str, Any] = {"limit": PLAYS_LIMIT}
    if after_ms is not None:
        params["after"] = after_ms
    responses: list[Response] = []
    plays = 0
    problem = None
    seen: set[tuple] = set()
    for _ in range(MAX_PAGES):
        seen.add(tuple(sorted(params.items())))
        resp = client.get("me/player/recently-played", params)
        if resp.status != 200 or not isinstance(resp.body, dict):
            message = error_message(resp.body)
            problem = f"{resp.request} answered {resp.status}" + (f" ({message})" if message else "")
            if resp.status == 403:
                problem += f"; the user token may lack the scope {SCOPE_OF['plays']}: {LOGIN_HINT}"
            logger.warning("plays: %s; nothing more fetched", problem)
            break
        responses.append(resp)
        items = resp.body.get("items")
        found = len(items) if isinstance(items, list) else 0
        plays += found
        nxt = resp.body.get("next")
        if not found or not isinstance(nxt, str) or not nxt:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(nxt).query).items()}
        if tuple(sorted(params.items())) in seen:
            break
    possible_gap = after_ms is not None and plays >= PLAYS_LIMIT
    if possible_gap:
        logger.warning("plays: %d plays since the last landed one (%s): Spotify remembers the last %d only, so "
                       "older plays may be lost; run recent_plays_schedule more often (SPOTIFY_PLAYS_SCHEDULE_CRON)",
                       plays, _iso(after_ms), PLAYS_LIMIT)
    return PlaysFetch(responses, after_ms, plays, possible_gap, problem)


def _iso(ms: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")
