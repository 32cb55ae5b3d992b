"""Look-ups of the music: a track, an album and its tracks, an artist and its albums, and the batch
look-ups (``/tracks?ids=``, ``/albums?ids=``, ``/artists?ids=``) that development mode removed."""

from __future__ import annotations

from ..auth import Token
from .endpoints import ApiError, Endpoints, Route, extra, int_param


class Lookups(Endpoints):
    """``/tracks``, ``/albums``, ``/artists``: one by id, a batch by ``ids``, an album's tracks, an artist's albums."""

    def routes(self) -> list[Route]:
        return [
            ("/v1/tracks", self.get_tracks), ("/v1/tracks/{id}", self.get_track),
            ("/v1/albums", self.get_albums), ("/v1/albums/{id}", self.get_album),
            ("/v1/albums/{id}/tracks", self.get_album_tracks),
            ("/v1/artists", self.get_artists), ("/v1/artists/{id}", self.get_artist),
            ("/v1/artists/{id}/albums", self.get_artist_albums),
        ]

    # -- tracks
    def _track_obj(self, found: tuple[str, int] | None, day: int, market: bool) -> dict | None:
        if found is None:
            return None
        kind, t = found
        if kind == "relinked":
            return self.shaper.relinked_track(t, day, market)
        return self.shaper.track(t, day, market)

    def get_track(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        market = self.market(q)
        return self._track_obj(self.one(raw, ("track", "relinked")), day, market)

    def get_tracks(self, tok: Token, q: dict, day: int) -> dict:
        self.dev_removed()
        market = self.market(q)
        ids = self.ids(q, 50)
        return {"tracks": [self._track_obj(self.find(i, ("track", "relinked")), day, market) for i in ids]}

    # -- albums
    def _album_full(self, a: int, day: int, q: dict) -> dict:
        d = dict(self.shaper.album(a, day))
        d["tracks"] = self._album_tracks_page(a, day, q, 50, 0)
        return d

    def _album_tracks_page(self, a: int, day: int, q: dict, limit: int, offset: int) -> dict:
        market = self.market(q)
        rng = self.music.album_track_range(a)
        items = [self.shaper.simplified_track(t, day, market) for t in rng[offset:offset + limit]]
        aid = self.music.id("album", a)
        return self.shaper.paging(f"/albums/{aid}/tracks", items, limit, offset, len(rng), extra(q, "market"))

    def get_album(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, a = self.one(raw, ("album",))
        return self._album_full(a, day, q)

    def get_albums(self, tok: Token, q: dict, day: int) -> dict:
        self.dev_removed()
        ids = self.ids(q, 20)
        out = []
        for i in ids:
            found = self.find(i, ("album",))
            out.append(None if found is None else self._album_full(found[1], day, q))
        return {"albums": out}

    def get_album_tracks(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, a = self.one(raw, ("album",))
        limit = int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, None, "Invalid offset")
        return self._album_tracks_page(a, day, q, limit, offset)

    # -- artists
    def get_artist(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, ar = self.one(raw, ("artist",))
        return self.shaper.artist(ar, day)

    def get_artists(self, tok: Token, q: dict, day: int) -> dict:
        self.dev_removed()
        ids = self.ids(q, 50)
        out = []
        for i in ids:
            found = self.find(i, ("artist",))
            out.append(None if found is None else self.shaper.artist(found[1], day))
        return {"artists": out}

    def get_artist_albums(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, ar = self.one(raw, ("artist",))
        hi, default = (50, 20) if self.extended else (10, 5)
        limit = int_param(q, "limit", default, 1, hi, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, None, "Invalid offset")
        groups = set((q.get("include_groups") or "album,single,compilation,appears_on").split(","))
        if not groups <= {"album", "single", "compilation", "appears_on"}:
            raise ApiError(400, "Invalid include_groups")
        albums = [a for a in self.music.artist_album_range(ar)
                  if self.music.album(a, day)["album_type"] in groups]
        items = []
        for a in albums[offset:offset + limit]:
            d = dict(self.shaper.simplified_album(a, day))
            if self.shaper.disputed:
                d["album_group"] = d["album_type"]
            items.append(d)
        return self.shaper.paging(f"/artists/{raw}/albums", items, limit, offset, len(albums),
                                  extra(q, "include_groups", "market"))
