"""Spotify JSON object builders for both quota modes.

Facts come from ``music.py``; this module decides field names and which fields exist:
extended quota mode returns the classic shapes, development mode (2026) drops popularity /
followers / available_markets (and the current user's country, email, explicit_content and product)
and renames playlist ``tracks``/``track`` to ``items``/``item``.

Sources disagree on whether development mode still sends ``external_ids`` (tracks, albums), ``label``
(albums), ``linked_from`` (relinked tracks) and ``album_group`` (an artist's albums): several client
libraries list them as removed, Spotify's own description marks ``label`` and ``linked_from``
deprecated, and Spotify later said ``external_ids`` stays. Development mode drops them
(:data:`DEV_DISPUTED_FIELDS`) unless ``keep_disputed`` is set, so the pipeline is exercised without them.
Built objects are cached (bounded LRU) and must be treated as read-only.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

from .music import DEMO_USER_ID, DEMO_USER_NAME, SPOTIFY_USER_ID, Music

OPEN = "https://open.spotify.com"
EXTENDED, DEVELOPMENT = "extended", "development"
# Fields development mode may or may not send (see the module docstring); dropped unless kept.
DEV_DISPUTED_FIELDS = ("external_ids", "label", "linked_from", "album_group")


class Shaper:
    """Builds response objects for one catalog, one API base URL and one quota mode."""

    def __init__(self, catalog: Music, api_url: str, mode: str, *, keep_disputed: bool = False) -> None:
        if mode not in (EXTENDED, DEVELOPMENT):
            raise ValueError(f"mode must be 'extended' or 'development', not {mode!r}")
        self.c = catalog
        self.api = api_url.rstrip("/")  # ".../v1"
        self.mode = mode
        self.extended = mode == EXTENDED
        # whether the fields of DEV_DISPUTED_FIELDS are sent (always in extended mode)
        self.disputed = self.extended or keep_disputed
        self.track = lru_cache(maxsize=12_000)(self._track)
        self.album = lru_cache(maxsize=5_000)(self._album_base)
        self.artist = lru_cache(maxsize=20_000)(self._artist)
        self.simplified_artist = lru_cache(maxsize=50_000)(self._simplified_artist)

    # ------------------------------------------------------------------ small pieces
    def _ref(self, kind: str, id_: str) -> dict:
        return {"external_urls": {"spotify": f"{OPEN}/{kind}/{id_}"}, "href": f"{self.api}/{kind}s/{id_}",
                "id": id_, "type": kind, "uri": f"spotify:{kind}:{id_}"}

    def user_ref(self, user_id: str | None, with_name: bool = False) -> dict | None:
        if user_id is None:
            return None
        d = {"external_urls": {"spotify": f"{OPEN}/user/{user_id}"}, "href": f"{self.api}/users/{user_id}",
             "id": user_id, "type": "user", "uri": f"spotify:user:{user_id}"}
        if with_name:
            d["display_name"] = self.display_name(user_id)
        return d

    def display_name(self, user_id: str) -> str | None:
        if user_id == DEMO_USER_ID:
            return DEMO_USER_NAME
        if user_id == SPOTIFY_USER_ID:
            return "Spotify"
        return None if user_id.endswith("q") else user_id[2:10]  # some users have no display name

    def me(self) -> dict:
        d = self.user_ref(DEMO_USER_ID, with_name=True)
        d.update({"account_id": "emuDemo0001", "images": []})
        if self.extended:
            d.update({"country": "SE", "email": "demo@emulator.invalid",
                      "explicit_content": {"filter_enabled": False, "filter_locked": False},
                      "followers": {"href": None, "total": 7}, "product": "premium"})
        return d

    def _simplified_artist(self, ar: int) -> dict:
        d = self._ref("artist", self.c.id("artist", ar))
        d["name"] = self.c.name("artist", ar)
        return d

    def _artist(self, ar: int, day: int) -> dict:
        f = self.c.artist(ar, day)
        d = self._ref("artist", f["id"])
        d.update({"name": f["name"], "genres": f["genres"], "images": f["images"]})
        if self.extended:
            d["followers"] = {"href": None, "total": f["followers"]}
            d["popularity"] = f["popularity"]
        return d

    def simplified_album(self, a: int, day: int) -> dict:
        """AlbumBase + artists (what tracks embed and /artists/{id}/albums lists)."""
        f = self.c.album(a, day)
        d = {"album_type": f["album_type"], "total_tracks": f["total_tracks"]}
        if self.extended:
            d["available_markets"] = f["available_markets"]
        d.update(self._ref("album", f["id"]))
        d.update({"images": f["images"], "name": f["name"], "release_date": f["release_date"],
                  "release_date_precision": f["release_date_precision"],
                  "artists": [self.simplified_artist(x) for x in f["artists"]]})
        if f["taken_down"]:
            d["restrictions"] = {"reason": "product"}
        return d

    def _album_base(self, a: int, day: int) -> dict:
        """Full AlbumObject without ``tracks`` (the server adds the paging object)."""
        f = self.c.album(a, day)
        d = self.simplified_album(a, day)
        d.update({"copyrights": f["copyrights"], "genres": []})
        if self.disputed:
            d.update({"external_ids": {"upc": f["upc"]}, "label": f["label"]})
        if self.extended:
            d["popularity"] = f["popularity"]
        return d

    def _track_common(self, f: dict, market: bool) -> dict:
        d = {"artists": [self.simplified_artist(x) for x in f["artists"]]}
        if self.extended and not market:
            d["available_markets"] = f["available_markets"]
        d.update({"disc_number": f["disc_number"], "duration_ms": f["duration_ms"], "explicit": f["explicit"]})
        return d

    def _apply_market(self, d: dict, f: dict) -> None:
        """Track relinking: only when the request carried ``market``."""
        if f["unplayable"]:
            d["is_playable"] = False
            d["restrictions"] = {"reason": "market"}
        else:
            d["is_playable"] = True
        if f["relinked"]:
            if self.disputed:
                d["linked_from"] = self._ref("track", f["id"])
            d.update(self._ref("track", self.c.id("relinked", f["index"])))

    def _track(self, t: int, day: int, market: bool) -> dict:
        f = self.c.track(t, day)
        d = {"album": self.simplified_album(f["album"], day)}
        d.update(self._track_common(f, market))
        if self.disputed:
            d["external_ids"] = {"isrc": f["isrc"]}
        d.update(self._ref("track", f["id"]))
        d.update({"is_local": False, "name": f["name"], "preview_url": None, "track_number": f["track_number"]})
        if self.extended:
            d["popularity"] = f["popularity"]
        if market:
            self._apply_market(d, f)
        return d

    def relinked_track(self, t: int, day: int, market: bool) -> dict:
        """GET /tracks/{relinked id}: the same recording under its alternative id."""
        d = dict(self.track(t, day, market))
        d.update(self._ref("track", self.c.id("relinked", t)))
        d.pop("linked_from", None)
        return d

    def simplified_track(self, t: int, day: int, market: bool) -> dict:
        f = self.c.track(t, day)
        d = self._track_common(f, market)
        d.update(self._ref("track", f["id"]))
        d.update({"is_local": False, "name": f["name"], "preview_url": None, "track_number": f["track_number"]})
        if market:
            self._apply_market(d, f)
        return d

    def local_track(self, n: int) -> dict:
        """A local file as Spotify returns it: ids and hrefs null, a ``spotify:local:`` uri."""
        artist, album, title, secs = f"Local Artist {n % 97}", f"Home Recordings {n % 13}", f"Demo take {n}", 120 + n % 300
        d = {
            "album": {"album_type": None, "artists": [], "available_markets": [], "external_urls": {}, "href": None,
                      "id": None, "images": [], "name": album, "release_date": None,
                      "release_date_precision": None, "type": "album", "uri": None},
            "artists": [{"external_urls": {}, "href": None, "id": None, "name": artist, "type": "artist", "uri": None}],
            "available_markets": [], "disc_number": 0, "duration_ms": secs * 1000, "explicit": False,
            "external_ids": {}, "external_urls": {}, "href": None, "id": None, "is_local": True, "name": title,
            "popularity": 0, "preview_url": None, "track_number": 0, "type": "track",
            "uri": f"spotify:local:{artist.replace(' ', '+')}:{album.replace(' ', '+')}:{title.replace(' ', '+')}:{secs}",
        }
        if not self.extended:  # a local file is a track object like the others: same removals
            for k in ("available_markets", "popularity") + (() if self.disputed else ("external_ids",)):
                del d[k]
            del d["album"]["available_markets"]
        return d

    def simplified_show(self, s: int) -> dict:
        f = self.c.show(s)
        d = {"available_markets": ["SE", "US", "GB", "DE"]} if self.extended else {}
        d.update({"copyrights": [], "description": f"{f['name']} — weekly.", "html_description": f"<p>{f['name']}</p>",
                  "explicit": f["explicit"], "images": f["images"], "is_externally_hosted": False,
                  "languages": f["languages"], "media_type": "audio", "name": f["name"], "publisher": f["publisher"],
                  "total_episodes": f["total_episodes"]})
        d.update(self._ref("show", f["id"]))
        return d

    def episode(self, e: int) -> dict:
        f = self.c.episode(e)
        d = {"audio_preview_url": None, "description": f"About {f['name']}.", "html_description": f"<p>{f['name']}</p>",
             "duration_ms": f["duration_ms"], "explicit": f["explicit"], "images": f["images"],
             "is_externally_hosted": False, "is_playable": True, "language": "en", "languages": ["en"],
             "name": f["name"], "release_date": f["release_date"], "release_date_precision": "day"}
        d.update(self._ref("episode", f["id"]))
        d["show"] = self.simplified_show(f["show"])
        return d

    # ------------------------------------------------------------------ listening
    def context(self, ctx: tuple[str, int] | None) -> dict | None:
        """The ContextObject of a play: a playlist, album or artist, the saved tracks ("collection"), or none."""
        if ctx is None:
            return None
        kind, index = ctx
        if kind == "collection":
            return {"external_urls": {"spotify": f"{OPEN}/collection/tracks"}, "href": f"{self.api}/me/tracks",
                    "type": "collection", "uri": f"spotify:user:{DEMO_USER_ID}:collection"}
        id_ = self.c.id(kind, index)
        return {"external_urls": {"spotify": f"{OPEN}/{kind}/{id_}"}, "href": f"{self.api}/{kind}s/{id_}",
                "type": kind, "uri": f"spotify:{kind}:{id_}"}

    # ------------------------------------------------------------------ paging & playlists
    def paging(self, path: str, items: list, limit: int, offset: int, total: int, extra: dict | None = None) -> dict:
        """A PagingObject with absolute next/previous URLs that keep the other query parameters."""
        def url(o: int) -> str:
            q = {"offset": o, "limit": limit, **(extra or {})}
            return f"{self.api}{path}?{urlencode(q)}"
        return {"href": url(offset), "items": items, "limit": limit,
                "next": url(offset + limit) if offset + limit < total else None, "offset": offset,
                "previous": url(max(0, offset - limit)) if offset > 0 else None, "total": total}

    def playlist_item(self, p: int, key: tuple, day: int, market: bool, episodes: bool) -> dict:
        e = self.c.entry(p, key)
        content_key = "track" if self.extended else "item"
        if e["kind"] == "track":
            obj = dict(self.track(e["ref"], day, market))
            obj.update({"episode": False, "track": True})
        elif e["kind"] == "episode":
            # Without additional_types=episode Spotify hands back null for episode positions.
            obj = dict(self.episode(e["ref"]), episode=True, track=False) if episodes else None
        elif e["kind"] == "local":
            obj = self.local_track(e["ref"])
        else:
            obj = None
        return {"added_at": e["added_at"], "added_by": self.user_ref(e["added_by"]),
                "is_local": e["kind"] == "local", "primary_color": None, content_key: obj,
                "video_thumbnail": {"url": None}}

    def playlist_meta(self, p: int, day: int) -> dict:
        f = self.c.playlist(p)
        d = {"collaborative": f["collaborative"], "description": f["description"],
             "external_urls": {"spotify": f"{OPEN}/playlist/{f['id']}"}, "href": f"{self.api}/playlists/{f['id']}",
             "id": f["id"], "images": f["images"], "name": f["name"],
             "owner": self.user_ref(f["owner"], with_name=True), "primary_color": None, "public": f["public"],
             "snapshot_id": self.c.snapshot_id(p, day), "type": "playlist", "uri": f"spotify:playlist:{f['id']}"}
        return d

    def simplified_playlist(self, p: int, day: int) -> dict:
        d = self.playlist_meta(p, day)
        ref = {"href": f"{self.api}/playlists/{d['id']}/{'tracks' if self.extended else 'items'}",
               "total": len(self.c.playlist_entries(p, day))}
        d["tracks" if self.extended else "items"] = ref
        return d
