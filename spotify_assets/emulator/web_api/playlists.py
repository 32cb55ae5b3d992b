"""Playlists: the signed-in user's list of playlists, a playlist and its items — ``/items`` in both quota
modes (development mode: only of playlists the user owns or collaborates on), ``/tracks`` in extended
mode only."""

from __future__ import annotations

from ..auth import Token
from .endpoints import ApiError, Endpoints, Route, extra, int_param


class Playlists(Endpoints):
    """``/me/playlists`` and ``/playlists/{id}`` with its ``/items`` and ``/tracks``."""

    def routes(self) -> list[Route]:
        return [
            ("/v1/me/playlists", self.get_my_playlists),
            ("/v1/playlists/{id}", self.get_playlist), ("/v1/playlists/{id}/items", self.get_playlist_items),
            ("/v1/playlists/{id}/tracks", self.get_playlist_tracks),
        ]

    def get_my_playlists(self, tok: Token, q: dict, day: int) -> dict:
        self.need_user(tok)
        limit = int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, 100_000, "Invalid offset")
        # The demo user's library: the playlists it owns plus the ones it follows (all of ours,
        # except that development mode no longer serves Spotify-owned playlists).
        visible = [p for p in range(self.music.n_playlists) if self.visible(p)]
        items = [self.shaper.simplified_playlist(p, day) for p in visible[offset:offset + limit]]
        return self.shaper.paging("/me/playlists", items, limit, offset, len(visible))

    def _playlist(self, raw: str) -> int:
        _, p = self.one(raw, ("playlist",))
        if not self.visible(p):
            raise ApiError(404, "Resource not found")
        return p

    def _can_read_items(self, tok: Token, p: int) -> bool:
        if self.extended:
            return True
        meta = self.music.playlist(p)
        return tok.user is not None and (meta["owner"] == tok.user or meta["collaborative"])

    def _items_page(self, p: int, day: int, q: dict, limit: int, offset: int, path: str) -> dict:
        entries = self.music.playlist_entries(p, day)
        market = self.market(q)
        episodes = "episode" in (q.get("additional_types") or "").split(",")
        items = [self.shaper.playlist_item(p, key, day, market, episodes) for key in entries[offset:offset + limit]]
        return self.shaper.paging(path, items, limit, offset, len(entries), extra(q, "market", "additional_types"))

    def get_playlist(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        p = self._playlist(raw)
        d = dict(self.shaper.playlist_meta(p, day))
        d["followers"] = {"href": None, "total": self.music.playlist_followers(p, day)}
        pid = d["id"]
        if self.extended:
            d["tracks"] = self._items_page(p, day, q, 100, 0, f"/playlists/{pid}/tracks")
        elif self._can_read_items(tok, p):
            d["items"] = self._items_page(p, day, q, 100, 0, f"/playlists/{pid}/items")
        return d

    def get_playlist_items(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        p = self._playlist(raw)
        if not self._can_read_items(tok, p):
            raise ApiError(403, "Forbidden")
        hi = 100 if self.extended else 50
        limit = int_param(q, "limit", 100 if self.extended else 20, 1, hi, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, None, "Invalid offset")
        return self._items_page(p, day, q, limit, offset, f"/playlists/{raw}/items")

    def get_playlist_tracks(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        self.dev_removed()
        p = self._playlist(raw)
        limit = int_param(q, "limit", 100, 1, 100, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, None, "Invalid offset")
        return self._items_page(p, day, q, limit, offset, f"/playlists/{raw}/tracks")
