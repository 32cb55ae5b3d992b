"""The signed-in user and other users: the profile (``/me``, ``/users/{id}``), and the demo user's
listening and library — recently played, top artists and tracks, saved tracks (Liked Songs)."""

from __future__ import annotations

from urllib.parse import urlencode

from ..auth import Token
from ..listening import TIME_RANGE_DAYS, ms_to_iso, ms_to_iso_seconds
from .endpoints import ApiError, Endpoints, Route, extra, int_param


class User(Endpoints):
    """``/me``, ``/users/{id}`` and the demo user's recently played, top items and saved tracks."""

    def routes(self) -> list[Route]:
        return [
            ("/v1/me", self.get_me), ("/v1/users/{id}", self.get_user),
            ("/v1/me/player/recently-played", self.get_recently_played), ("/v1/me/top/{id}", self.get_top),
            ("/v1/me/tracks", self.get_saved_tracks),
        ]

    # -- profiles
    def get_me(self, tok: Token, q: dict, day: int) -> dict:
        self.need_user(tok)
        return self.shaper.me()

    def get_user(self, tok: Token, q: dict, day: int, uid: str) -> dict:
        d = self.shaper.user_ref(uid, with_name=True)
        d["images"] = []
        if self.extended:
            d["followers"] = {"href": None, "total": 3}
        return d

    # -- the user's listening
    def get_recently_played(self, tok: Token, q: dict, day: int) -> dict:
        """The demo user's last plays up to the clock (only the last 50 are remembered), newest first.

        ``before=<ms>``: the newest ``limit`` remembered plays before it (no cursor: before now); ``next``
        pages back in time (``before`` = the page's oldest). ``after=<ms>``: the ``limit`` plays right after
        it, so a client catches up without gaps; ``next`` pages forward (``after`` = the page's newest).
        Both cursors are exclusive; ``cursors`` is null when the page is empty.
        """
        self.need_scope(tok, "user-read-recently-played")
        limit = int_param(q, "limit", 20, 1, 50, "Invalid limit")
        after = int_param(q, "after", -1, 0, None, "Invalid after cursor")
        before = int_param(q, "before", -1, 0, None, "Invalid before cursor")
        if after >= 0 and before >= 0:
            raise ApiError(400, "Only one of after and before may be given")
        now_ms = int(self.now().timestamp() * 1000)
        remembered = self.listening.remembered(now_ms)  # newest first
        if after >= 0:
            newer = [p for p in remembered if p.at_ms > after]
            page, more = newer[-limit:], len(newer) > limit
            cursor = {"after": page[0].at_ms} if page else None
        else:
            older = [p for p in remembered if before < 0 or p.at_ms < before]
            page, more = older[:limit], len(older) > limit
            cursor = {"before": page[-1].at_ms} if page else None
        items = [{"track": self.shaper.track(p.track, day, False), "played_at": ms_to_iso(p.at_ms),
                  "context": self.shaper.context(p.context)} for p in page]
        requested = {"limit": limit, **({"after": after} if after >= 0 else {}),
                     **({"before": before} if before >= 0 else {})}
        base = f"{self.shaper.api}/me/player/recently-played?"
        return {
            "items": items,
            "next": base + urlencode({"limit": limit, **cursor}) if more and cursor else None,
            "cursors": {"after": str(page[0].at_ms), "before": str(page[-1].at_ms)} if page else None,
            "limit": limit,
            "href": base + urlencode(requested),
        }

    def get_top(self, tok: Token, q: dict, day: int, kind: str) -> dict:
        """The demo user's top artists or tracks for a time range, ranked by the plays before today."""
        if kind not in ("artists", "tracks"):
            raise ApiError(400, f"Unsupported type: {kind[:40]}")
        self.need_scope(tok, "user-top-read")
        time_range = q.get("time_range") or "medium_term"
        if time_range not in TIME_RANGE_DAYS:
            raise ApiError(400, "Invalid time range")
        limit = int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, None, "Invalid offset")
        ranked = self.listening.top(kind, time_range, day)
        build = (lambda t: self.shaper.track(t, day, False)) if kind == "tracks" else (lambda a: self.shaper.artist(a, day))
        items = [build(x) for x in ranked[offset:offset + limit]]
        return self.shaper.paging(f"/me/top/{kind}", items, limit, offset, len(ranked), {"time_range": time_range})

    # -- the user's library
    def get_saved_tracks(self, tok: Token, q: dict, day: int) -> dict:
        """The demo user's saved tracks (Liked Songs) as of the start of today, most recently saved first."""
        self.need_scope(tok, "user-library-read")
        limit = int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, None, "Invalid offset")
        market = self.market(q)
        saved = self.listening.saved(day)
        items = [{"added_at": ms_to_iso_seconds(at), "track": self.shaper.track(t, day, market)}
                 for t, at in saved[offset:offset + limit]]
        return self.shaper.paging("/me/tracks", items, limit, offset, len(saved), extra(q, "market"))
