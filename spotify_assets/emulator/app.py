"""The emulator as an application, apart from the socket plumbing: its music, the demo user's listening, the
clock, the tokens, the fault injection and the routing table of the Web API's endpoint families
(:mod:`.web_api`). :mod:`.server` serves it over HTTP."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime

from . import faults as faults_mod
from .auth import TokenStore
from .config import EmulatorConfig
from .listening import REMEMBERED_PLAYS, Listening
from .music import DEMO_USER_ID, Music
from .shapes import Shaper
from .web_api.lookups import Lookups
from .web_api.playlists import Playlists
from .web_api.search import Search
from .web_api.user import User


class EmulatorApp:
    """Request handling, independent of the socket plumbing."""

    def __init__(self, cfg: EmulatorConfig, base_url: str) -> None:
        self.cfg = cfg
        self.base_url = base_url
        self.music = Music(cfg.seed, cfg.scale)
        self.shaper = Shaper(self.music, base_url + "/v1", cfg.mode, keep_disputed=cfg.dev_keep_disputed_fields)
        self.extended = self.shaper.extended
        self.listening = Listening(self.music)
        self._today = utc(cfg.now).date() if cfg.now else cfg.today
        self._time = utc(cfg.now).time() if cfg.now else None
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
        """Move the emulator's day (the time of day stays as it was: set, or the wall clock's)."""
        with self._clock_lock:
            self._today = d

    def set_now(self, when: datetime | None) -> None:
        """Set the whole clock (UTC; a naive datetime is taken as UTC); None: back to the wall clock."""
        with self._clock_lock:
            self._today = utc(when).date() if when else None
            self._time = utc(when).time() if when else None

    # ------------------------------------------------------------------ routing table
    def _routes(self) -> list[tuple[re.Pattern, str, Callable[..., dict]]]:
        families = (User, Playlists, Lookups, Search)
        table = [route for family in families
                 for route in family(self.music, self.shaper, self.listening, self.now).routes()]
        return [(re.compile(t.replace("{id}", "([^/]+)") + "/?"), t, fn) for t, fn in table]

    def match(self, path: str):
        """(template, endpoint, the template's segments) of a GET path, or None when no route matches."""
        for rx, template, fn in self.routes:
            m = rx.fullmatch(path)
            if m:
                return template, fn, m.groups()
        return None

    # ------------------------------------------------------------------ admin
    def catalog_summary(self) -> dict:
        """What ``/_admin/catalog`` returns: the music's size, sample ids, the demo user and the clock."""
        c = self.music
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


def utc(when: datetime) -> datetime:
    """``when`` in UTC (a naive datetime is taken as UTC)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
