"""``/v1/search``: names that contain every word of the query, per requested type, paged as Spotify pages
search results (smaller pages in development mode)."""

from __future__ import annotations

from ..auth import Token
from .endpoints import ApiError, Endpoints, Route, int_param

_SEARCH_SPACE = 20_000  # search scans at most this many names per type (bounded at ``large``)
_SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")


class Search(Endpoints):
    """``/search`` over the names of every type."""

    def routes(self) -> list[Route]:
        return [("/v1/search", self.get_search)]

    def get_search(self, tok: Token, q: dict, day: int) -> dict:
        query = (q.get("q") or "").strip()
        if not query:
            raise ApiError(400, "No search query")
        types = q.get("type")
        if not types:
            raise ApiError(400, "Missing parameter type")
        types_l = types.split(",")
        for t in types_l:
            if t not in _SEARCH_TYPES:
                raise ApiError(400, f"Bad search type field {t}")
        hi, default = (50, 20) if self.extended else (10, 5)
        limit = int_param(q, "limit", default, 1, hi, "Invalid limit")
        offset = int_param(q, "offset", 0, 0, 1000, "Invalid offset")
        market = self.market(q)
        # Field filters ("artist:foo") are reduced to their value; every word must occur in the name.
        terms = [w.split(":", 1)[-1].lower() for w in query.split() if w.split(":", 1)[-1]]
        out = {}
        for t in types_l:
            kind = "track" if t == "audiobook" else t
            if t == "audiobook":
                hits = []
            else:
                names = self.music.names(kind, _SEARCH_SPACE)
                hits = [i for i, n in enumerate(names) if all(w in n.lower() for w in terms)]
                if t == "playlist":
                    hits = [i for i in hits if self.visible(i)]
            page = hits[offset:offset + limit]
            build = {
                "track": lambda i: self.shaper.track(i, day, market),
                "album": lambda i: self.shaper.simplified_album(i, day),
                "artist": lambda i: self.shaper.artist(i, day),
                "playlist": lambda i: self.shaper.simplified_playlist(i, day),
                "show": lambda i: self.shaper.simplified_show(i),
                "episode": lambda i: {k: v for k, v in self.shaper.episode(i).items() if k != "show"},
            }.get(t)
            items = [build(i) for i in page] if build else []
            out[t + "s"] = self.shaper.paging("/search", items, limit, offset, len(hits),
                                              {"query": query, "type": t})
        return out
