"""The HTTP server: Spotify's API paths on /v1, the accounts service on /api/token and /authorize,
and emulator-only admin endpoints on /_admin.

Standard-library ``ThreadingHTTPServer`` (one thread per connection, HTTP/1.1 keep-alive). Each
response is written with a single ``write`` and TCP_NODELAY so keep-alive clients never wait on
Nagle/delayed-ACK interplay - that is what makes hundreds of requests per second possible.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from datetime import UTC, date, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from . import faults as faults_mod
from .auth import AuthError, Token, TokenStore
from .catalog import DEMO_USER_ID, SPOTIFY_USER_ID, Catalog
from .config import EmulatorConfig
from .ids import is_base62_id
from .listening import REMEMBERED_PLAYS, TIME_RANGE_DAYS, Listening, ms_to_iso, ms_to_iso_seconds
from .shapes import Shaper

_SEARCH_SPACE = 20_000  # search scans at most this many names per type (bounded at ``large``)
_SEARCH_TYPES = ("album", "artist", "playlist", "track", "show", "episode", "audiobook")


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _error(status: int, message: str) -> bytes:
    return orjson.dumps({"error": {"status": status, "message": message}})


def _int_param(q: dict, name: str, default: int, lo: int, hi: int | None, message: str) -> int:
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


class EmulatorApp:
    """Request handling, independent of the socket plumbing."""

    def __init__(self, cfg: EmulatorConfig, base_url: str) -> None:
        self.cfg = cfg
        self.base_url = base_url
        self.catalog = Catalog(cfg.seed, cfg.scale)
        self.shaper = Shaper(self.catalog, base_url + "/v1", cfg.mode, keep_disputed=cfg.dev_keep_disputed_fields)
        self.extended = self.shaper.extended
        self.listening = Listening(self.catalog)
        self._today = _utc(cfg.now).date() if cfg.now else cfg.today
        self._time = _utc(cfg.now).time() if cfg.now else None
        self._clock_lock = threading.Lock()
        self.tokens = TokenStore(cfg.token_lifetime_s, DEMO_USER_ID, cfg.require_client_id, cfg.require_client_secret,
                                 today=self.today, demo_refresh_authorized=cfg.demo_refresh_token_authorized)
        self.limiter = faults_mod.RateLimiter(cfg.rate_limit)
        self.faults = faults_mod.FaultInjector(cfg.fault_rate, cfg.seed)
        self.stats = faults_mod.Stats()
        self.routes = self._routes()

    # ------------------------------------------------------------------ clock
    def now(self) -> datetime:
        """The emulator's clock (UTC): the set day or today, at the set time of day or the wall clock's."""
        real = datetime.now(UTC)
        with self._clock_lock:
            day, time_of_day = self._today, self._time
        return datetime.combine(day or real.date(), time_of_day or real.time().replace(tzinfo=None), tzinfo=UTC)

    def today(self) -> date:
        with self._clock_lock:
            return self._today or datetime.now(UTC).date()

    def set_today(self, d: date | None) -> None:
        """Move the catalog's day (the time of day stays as it was: set, or the wall clock's)."""
        with self._clock_lock:
            self._today = d

    def set_now(self, when: datetime | None) -> None:
        """Set the whole clock (UTC; a naive datetime is taken as UTC); None: back to the wall clock."""
        with self._clock_lock:
            self._today = _utc(when).date() if when else None
            self._time = _utc(when).time() if when else None

    # ------------------------------------------------------------------ routing table
    def _routes(self) -> list[tuple[re.Pattern, str, object]]:
        table = [
            ("/v1/me", self.get_me), ("/v1/me/playlists", self.get_my_playlists),
            ("/v1/users/{id}", self.get_user),
            ("/v1/playlists/{id}", self.get_playlist), ("/v1/playlists/{id}/items", self.get_playlist_items),
            ("/v1/playlists/{id}/tracks", self.get_playlist_tracks),
            ("/v1/tracks", self.get_tracks), ("/v1/tracks/{id}", self.get_track),
            ("/v1/albums", self.get_albums), ("/v1/albums/{id}", self.get_album),
            ("/v1/albums/{id}/tracks", self.get_album_tracks),
            ("/v1/artists", self.get_artists), ("/v1/artists/{id}", self.get_artist),
            ("/v1/artists/{id}/albums", self.get_artist_albums), ("/v1/search", self.get_search),
            ("/v1/me/player/recently-played", self.get_recently_played), ("/v1/me/top/{id}", self.get_top),
            ("/v1/me/tracks", self.get_saved_tracks),
        ]
        return [(re.compile(t.replace("{id}", "([^/]+)") + "/?"), t, fn) for t, fn in table]

    def match(self, path: str):
        for rx, template, fn in self.routes:
            m = rx.fullmatch(path)
            if m:
                return template, fn, m.groups()
        return None

    # ------------------------------------------------------------------ helpers
    def _need_user(self, tok: Token) -> None:
        if tok.user is None:
            raise ApiError(401, "Unauthorized.")

    def _need_scope(self, tok: Token, scope: str) -> None:
        self._need_user(tok)
        if not tok.has_scope(scope):
            raise ApiError(403, "Insufficient client scope")

    def _dev_removed(self) -> None:
        if not self.extended:
            raise ApiError(403, "Forbidden")

    def _market(self, q: dict) -> bool:
        m = q.get("market")
        if not m:
            return False
        if m != "from_token" and not re.fullmatch(r"[A-Z]{2}", m):
            raise ApiError(400, "Invalid market code")
        return True

    def _id(self, raw: str, kinds: tuple[str, ...]) -> tuple[str, int] | None:
        if not is_base62_id(raw):
            raise ApiError(400, "Invalid base62 id")
        for k in kinds:
            idx = self.catalog.lookup(raw, k)
            if idx is not None:
                return k, idx
        return None

    def _one(self, raw: str, kinds: tuple[str, ...]) -> tuple[str, int]:
        found = self._id(raw, kinds)
        if found is None:
            raise ApiError(404, "Resource not found")
        return found

    def _ids(self, q: dict, maximum: int) -> list[str]:
        raw = q.get("ids")
        if not raw:
            raise ApiError(400, "invalid id")
        ids = raw.split(",")
        if len(ids) > maximum:
            raise ApiError(400, "Too many ids requested")
        return ids

    def _extra(self, q: dict, *names: str) -> dict:
        return {n: q[n] for n in names if q.get(n)}

    # ------------------------------------------------------------------ users
    def get_me(self, tok: Token, q: dict, day: int) -> dict:
        self._need_user(tok)
        return self.shaper.me()

    def get_user(self, tok: Token, q: dict, day: int, uid: str) -> dict:
        d = self.shaper.user_ref(uid, with_name=True)
        d["images"] = []
        if self.extended:
            d["followers"] = {"href": None, "total": 3}
        return d

    def get_my_playlists(self, tok: Token, q: dict, day: int) -> dict:
        self._need_user(tok)
        limit = _int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, 100_000, "Invalid offset")
        # The demo user's library: the playlists it owns plus the ones it follows (all of ours,
        # except that development mode no longer serves Spotify-owned playlists).
        visible = [p for p in range(self.catalog.n_playlists) if self._visible(p)]
        items = [self.shaper.simplified_playlist(p, day) for p in visible[offset:offset + limit]]
        return self.shaper.paging("/me/playlists", items, limit, offset, len(visible))

    # ------------------------------------------------------------------ playlists
    def _visible(self, p: int) -> bool:
        return self.extended or self.catalog.playlist(p)["owner"] != SPOTIFY_USER_ID

    def _playlist(self, raw: str) -> int:
        _, p = self._one(raw, ("playlist",))
        if not self._visible(p):
            raise ApiError(404, "Resource not found")
        return p

    def _can_read_items(self, tok: Token, p: int) -> bool:
        if self.extended:
            return True
        meta = self.catalog.playlist(p)
        return tok.user is not None and (meta["owner"] == tok.user or meta["collaborative"])

    def _items_page(self, p: int, day: int, q: dict, limit: int, offset: int, path: str) -> dict:
        entries = self.catalog.playlist_entries(p, day)
        market = self._market(q)
        episodes = "episode" in (q.get("additional_types") or "").split(",")
        items = [self.shaper.playlist_item(p, key, day, market, episodes) for key in entries[offset:offset + limit]]
        return self.shaper.paging(path, items, limit, offset, len(entries),
                                  self._extra(q, "market", "additional_types"))

    def get_playlist(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        p = self._playlist(raw)
        d = dict(self.shaper.playlist_meta(p, day))
        d["followers"] = {"href": None, "total": self.catalog.playlist_followers(p, day)}
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
        limit = _int_param(q, "limit", 100 if self.extended else 20, 1, hi, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, None, "Invalid offset")
        return self._items_page(p, day, q, limit, offset, f"/playlists/{raw}/items")

    def get_playlist_tracks(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        self._dev_removed()
        p = self._playlist(raw)
        limit = _int_param(q, "limit", 100, 1, 100, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, None, "Invalid offset")
        return self._items_page(p, day, q, limit, offset, f"/playlists/{raw}/tracks")

    # ------------------------------------------------------------------ tracks / albums / artists
    def _track_obj(self, found: tuple[str, int] | None, day: int, market: bool) -> dict | None:
        if found is None:
            return None
        kind, t = found
        if kind == "relinked":
            return self.shaper.relinked_track(t, day, market)
        return self.shaper.track(t, day, market)

    def get_track(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        market = self._market(q)
        return self._track_obj(self._one(raw, ("track", "relinked")), day, market)

    def get_tracks(self, tok: Token, q: dict, day: int) -> dict:
        self._dev_removed()
        market = self._market(q)
        ids = self._ids(q, 50)
        return {"tracks": [self._track_obj(self._id(i, ("track", "relinked")), day, market) for i in ids]}

    def _album_full(self, a: int, day: int, q: dict) -> dict:
        d = dict(self.shaper.album(a, day))
        d["tracks"] = self._album_tracks_page(a, day, q, 50, 0)
        return d

    def _album_tracks_page(self, a: int, day: int, q: dict, limit: int, offset: int) -> dict:
        market = self._market(q)
        rng = self.catalog.album_track_range(a)
        items = [self.shaper.simplified_track(t, day, market) for t in rng[offset:offset + limit]]
        aid = self.catalog.id("album", a)
        return self.shaper.paging(f"/albums/{aid}/tracks", items, limit, offset, len(rng), self._extra(q, "market"))

    def get_album(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, a = self._one(raw, ("album",))
        return self._album_full(a, day, q)

    def get_albums(self, tok: Token, q: dict, day: int) -> dict:
        self._dev_removed()
        ids = self._ids(q, 20)
        out = []
        for i in ids:
            found = self._id(i, ("album",))
            out.append(None if found is None else self._album_full(found[1], day, q))
        return {"albums": out}

    def get_album_tracks(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, a = self._one(raw, ("album",))
        limit = _int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, None, "Invalid offset")
        return self._album_tracks_page(a, day, q, limit, offset)

    def get_artist(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, ar = self._one(raw, ("artist",))
        return self.shaper.artist(ar, day)

    def get_artists(self, tok: Token, q: dict, day: int) -> dict:
        self._dev_removed()
        ids = self._ids(q, 50)
        out = []
        for i in ids:
            found = self._id(i, ("artist",))
            out.append(None if found is None else self.shaper.artist(found[1], day))
        return {"artists": out}

    def get_artist_albums(self, tok: Token, q: dict, day: int, raw: str) -> dict:
        _, ar = self._one(raw, ("artist",))
        hi, default = (50, 20) if self.extended else (10, 5)
        limit = _int_param(q, "limit", default, 1, hi, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, None, "Invalid offset")
        groups = set((q.get("include_groups") or "album,single,compilation,appears_on").split(","))
        if not groups <= {"album", "single", "compilation", "appears_on"}:
            raise ApiError(400, "Invalid include_groups")
        albums = [a for a in self.catalog.artist_album_range(ar)
                  if self.catalog.album(a, day)["album_type"] in groups]
        items = []
        for a in albums[offset:offset + limit]:
            d = dict(self.shaper.simplified_album(a, day))
            if self.shaper.disputed:
                d["album_group"] = d["album_type"]
            items.append(d)
        return self.shaper.paging(f"/artists/{raw}/albums", items, limit, offset, len(albums),
                                  self._extra(q, "include_groups", "market"))

    # ------------------------------------------------------------------ the user's listening
    def get_recently_played(self, tok: Token, q: dict, day: int) -> dict:
        """The demo user's last plays up to the clock (only the last 50 are remembered), newest first.

        ``before=<ms>``: the newest ``limit`` remembered plays before it (no cursor: before now); ``next``
        pages back in time (``before`` = the page's oldest). ``after=<ms>``: the ``limit`` plays right after
        it, so a client catches up without gaps; ``next`` pages forward (``after`` = the page's newest).
        Both cursors are exclusive; ``cursors`` is null when the page is empty.
        """
        self._need_scope(tok, "user-read-recently-played")
        limit = _int_param(q, "limit", 20, 1, 50, "Invalid limit")
        after = _int_param(q, "after", -1, 0, None, "Invalid after cursor")
        before = _int_param(q, "before", -1, 0, None, "Invalid before cursor")
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
        self._need_scope(tok, "user-top-read")
        time_range = q.get("time_range") or "medium_term"
        if time_range not in TIME_RANGE_DAYS:
            raise ApiError(400, "Invalid time range")
        limit = _int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, None, "Invalid offset")
        ranked = self.listening.top(kind, time_range, day)
        build = (lambda t: self.shaper.track(t, day, False)) if kind == "tracks" else (lambda a: self.shaper.artist(a, day))
        items = [build(x) for x in ranked[offset:offset + limit]]
        return self.shaper.paging(f"/me/top/{kind}", items, limit, offset, len(ranked), {"time_range": time_range})

    def get_saved_tracks(self, tok: Token, q: dict, day: int) -> dict:
        """The demo user's saved tracks (Liked Songs) as of the start of today, most recently saved first."""
        self._need_scope(tok, "user-library-read")
        limit = _int_param(q, "limit", 20, 1, 50, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, None, "Invalid offset")
        market = self._market(q)
        saved = self.listening.saved(day)
        items = [{"added_at": ms_to_iso_seconds(at), "track": self.shaper.track(t, day, market)}
                 for t, at in saved[offset:offset + limit]]
        return self.shaper.paging("/me/tracks", items, limit, offset, len(saved), self._extra(q, "market"))

    # ------------------------------------------------------------------ search
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
        limit = _int_param(q, "limit", default, 1, hi, "Invalid limit")
        offset = _int_param(q, "offset", 0, 0, 1000, "Invalid offset")
        market = self._market(q)
        # Field filters ("artist:foo") are reduced to their value; every word must occur in the name.
        terms = [w.split(":", 1)[-1].lower() for w in query.split() if w.split(":", 1)[-1]]
        out = {}
        for t in types_l:
            kind = "track" if t == "audiobook" else t
            if t == "audiobook":
                hits = []
            else:
                names = self.catalog.names(kind, _SEARCH_SPACE)
                hits = [i for i, n in enumerate(names) if all(w in n.lower() for w in terms)]
                if t == "playlist":
                    hits = [i for i in hits if self._visible(i)]
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

    # ------------------------------------------------------------------ admin
    def catalog_summary(self) -> dict:
        c = self.catalog
        owned = [c.id("playlist", p) for p in self.listening.owned]
        return {
            "scale": c.scale, "seed": c.seed, "mode": self.cfg.mode, "today": self.today().isoformat(),
            "now": self.now().isoformat(timespec="milliseconds"), "remembered_plays": REMEMBERED_PLAYS,
            "dev_keep_disputed_fields": self.cfg.dev_keep_disputed_fields,
            "counts": c.counts(), "demo_user_id": DEMO_USER_ID,
            "sample_ids": {k: [c.id(k, i) for i in range(min(5, c.count(k)))]
                           for k in ("track", "album", "artist", "playlist", "episode", "show")},
            "demo_owned_playlist_ids": owned[:50], "demo_owned_playlists": len(owned),
            "spotify_owned_playlist_id": c.id("playlist", c.spotify_playlist_index()),
        }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SpotifyEmulator/1.0"
    timeout = 60  # idle keep-alive connections are closed after a minute

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - quiet: tests and benchmarks
        pass

    # -- plumbing
    def _send(self, status: int, body: bytes, headers: dict | None = None,
              content_type: str = "application/json; charset=utf-8", record: str | None = None) -> int:
        """Write one response; ``record`` counts it under that endpoint template *before* the bytes go
        out, so a client that reads the stats right after its response always sees its request."""
        reason = HTTPStatus(status).phrase
        head = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
        if body or content_type != "application/json; charset=utf-8":
            head.append(f"Content-Type: {content_type}")
        for k, v in (headers or {}).items():
            head.append(f"{k}: {v}")
        if self.close_connection:
            head.append("Connection: close")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        if record is not None:
            self.server.app.stats.record(record, status, len(raw))
        self.wfile.write(raw)
        return len(raw)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        app: EmulatorApp = self.server.app  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        path = url.path
        q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self._body() if method in ("POST", "PUT", "DELETE") else b""
        try:
            if path.startswith("/_admin/"):
                self._admin(app, method, path, body)
            elif path == "/api/token":
                self._latency(app)
                self._token(app, method, body)
            elif path == "/authorize":
                self._latency(app)
                self._authorize(app, q)
            else:
                self._api(app, method, path, q)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _latency(self, app: EmulatorApp) -> None:
        if app.cfg.latency_ms > 0:
            time.sleep(app.cfg.latency_ms / 1000.0)  # in this handler thread: concurrency helps

    # -- accounts service
    def _token(self, app: EmulatorApp, method: str, body: bytes) -> None:
        if method != "POST":
            self._send(405, b'{"error":"method_not_allowed"}')
            return
        try:
            out = app.tokens.token(body, self.headers.get("Authorization"))
            status = 200
        except AuthError as e:
            out, status = {"error": e.code, "error_description": e.description}, e.status
        self._send(status, orjson.dumps(out), record=f"{method} /api/token")

    def _authorize(self, app: EmulatorApp, q: dict) -> None:
        try:
            loc = app.tokens.authorize(q)
        except AuthError as e:
            self._send(e.status, e.description.encode(), content_type="text/plain; charset=utf-8",
                       record="GET /authorize")
            return
        self._send(302, b"", {"Location": loc}, record="GET /authorize")

    # -- admin (never rate limited, faulted or counted)
    def _admin(self, app: EmulatorApp, method: str, path: str, body: bytes) -> None:
        if path == "/_admin/stats" and method == "GET":
            out = app.stats.snapshot()
        elif path == "/_admin/reset-stats" and method == "POST":
            app.stats.reset()
            out = {"ok": True}
        elif path == "/_admin/clock":
            if method == "POST":
                try:
                    data = orjson.loads(body or b"{}")
                    if data.get("now"):
                        app.set_now(datetime.fromisoformat(data["now"]))
                    else:
                        raw = data.get("today")
                        app.set_today(date.fromisoformat(raw) if raw else None)
                except (ValueError, AttributeError, orjson.JSONDecodeError):
                    self._send(400, _error(400, 'expected {"today": "YYYY-MM-DD"} or {"now": "YYYY-MM-DDTHH:MM:SSZ"}'))
                    return
            out = {"today": app.today().isoformat(), "now": app.now().isoformat(timespec="milliseconds")}
        elif path == "/_admin/catalog" and method == "GET":
            out = app.catalog_summary()
        else:
            self._send(404, _error(404, "Service not found"))
            return
        self._send(200, orjson.dumps(out))

    # -- Web API
    def _api(self, app: EmulatorApp, method: str, path: str, q: dict) -> None:
        found = app.match(path) if method == "GET" else None
        if found is None:
            template = f"{method} <unmatched>"
            self._send(404, _error(404, "Service not found"), record=template)
            return
        template, fn, args = found
        template = f"GET {template}"
        self._latency(app)
        retry = app.limiter.admit()
        if retry is not None:
            app.stats.record_429()
            variant = app.faults.rate_limit_body_variant()
            body = (b"", _error(429, "API rate limit exceeded"),
                    orjson.dumps({"error": {"status": 429, "message": "API rate limit exceeded",
                                            "reason": "QUOTA_EXCEEDED"}}))[variant]
            self._send(429, body, {"Retry-After": str(retry)}, record=template)
            return
        fault = app.faults.draw()
        if fault is not None:
            app.stats.record_fault(fault)
            if fault == "drop":
                # Close without a response, as a flaky network or overloaded edge would.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                app.stats.record(template, 0, 0)
                return
            status = int(fault)
            msg = {429: "API rate limit exceeded", 500: "Server error.", 502: "Bad gateway.",
                   503: "Service unavailable"}[status]
            headers = {"Retry-After": "1"} if status == 429 else None
            self._send(status, _error(status, msg), headers, record=template)
            return
        tok, err = app.tokens.check(self.headers.get("Authorization"))
        if tok is None:
            self._send(401, _error(401, err), {"WWW-Authenticate": 'Bearer realm="spotify"'}, record=template)
            return
        day = app.today().toordinal()
        try:
            out = fn(tok, q, day, *args)
            status, body = 200, orjson.dumps(out)
        except ApiError as e:
            status, body = e.status, _error(e.status, e.message)
        self._send(status, body, record=template)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Open keep-alive connections, so stop() can end them (otherwise their threads keep serving).
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    def process_request(self, request, client_address) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conns_lock:
            conns, self._conns = list(self._conns), set()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class EmulatorServer:
    """A running emulator (see ``start_emulator``). Also a context manager that stops on exit."""

    def __init__(self, cfg: EmulatorConfig) -> None:
        self.config = cfg
        self._httpd = _Server((cfg.host, cfg.port), _Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://{cfg.host}:{self.port}"
        self.api_url = self.base_url + "/v1/"
        self.accounts_url = self.base_url
        self.app = EmulatorApp(cfg, self.base_url)
        self._httpd.app = self.app  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    @property
    def catalog(self) -> Catalog:
        return self.app.catalog

    def start(self) -> EmulatorServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"spotify-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def set_today(self, d: date | None) -> None:
        self.app.set_today(d)

    def today(self) -> date:
        return self.app.today()

    def set_now(self, when: datetime | None) -> None:
        self.app.set_now(when)

    def now(self) -> datetime:
        return self.app.now()

    def stats(self) -> dict:
        return self.app.stats.snapshot()

    def reset_stats(self) -> None:
        self.app.stats.reset()

    def catalog_summary(self) -> dict:
        return self.app.catalog_summary()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()
        self._httpd.close_connections()

    def __enter__(self) -> EmulatorServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _utc(when: datetime) -> datetime:
    """``when`` in UTC (a naive datetime is taken as UTC)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def start_emulator(cfg: EmulatorConfig | None = None) -> EmulatorServer:
    """Bind 127.0.0.1:cfg.port (0 = a free port) and serve in a daemon thread."""
    return EmulatorServer(cfg or EmulatorConfig()).start()
