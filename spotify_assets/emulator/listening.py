"""The demo user's listening: a deterministic history of plays, and the top items and saved tracks it implies.

Everything is a pure function of (seed, scale, day), like the catalog. The same history is behind the API
(recently played, top items, saved tracks) and the account-data export (``export.py``, which adds the
streams the API never shows: skips of 30 s or less, podcasts, videos, audiobooks, private sessions).

* **Plays** (:meth:`Listening.plays_on`): each day has a few listening sessions (none on about one day in
  thirty), started at hours drawn from a daily rhythm — the commute and the evening on weekdays, late
  mornings to late evenings at weekends — each playing tracks back to back from one context. A play is a
  stream of more than 30 s (Spotify's rule for recently played): ``at_ms`` is when it ended, ``ms_played``
  how long it played (the whole track, or more than 30 s of a skipped one). A session that would run past
  midnight stops there, so a day's plays depend on that day alone.
* **Two eras of one history.** From :data:`HISTORY_START` on, sessions play one of the demo user's
  playlists (as it is that day), the saved tracks ("collection"), an album or an artist of a saved track,
  or a track from search (no context). Before it, back to :data:`LISTENING_START`, the user's taste moves:
  every quarter a few artists are discovered and stay favourites for up to three years; sessions play
  their albums and catalogues, the tracks saved by then, and the user's playlists that existed by then.
  ``archive_density`` scales how much is played before :data:`HISTORY_START` (the export's
  ``target_streams``); the API era never changes with it.
* **Recently played** (:meth:`Listening.remembered`): only plays up to the emulator's clock exist, and only
  the last :data:`REMEMBERED_PLAYS` of them are remembered, as on Spotify.
* **Top items** (:meth:`Listening.top`): ranked by plays in the window before the day (4 weeks, 6 months,
  a year, as Spotify describes its time ranges; ties: the more recently played first), at most
  :data:`TOP_MAX` per range; an artist counts every play of a track it is credited on.
* **Saved tracks** (:meth:`Listening.saved`): an initial library saved before the history starts, plus,
  on about one day in three, one track played that day, saved half a minute after it was played. The
  library of a day is what was saved before that day began: the emulator updates top items and the
  library overnight, so a crawl sees the same answer all day long.

Durations come from the catalog (``Music.track``); taken-down tracks are never played.
"""

from __future__ import annotations

import random
import threading
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from .music import DEMO_USER_ID, Music, mix

LISTENING_START = date(2010, 1, 1)  # no plays before this day
HISTORY_START = date(2025, 1, 1)  # the API era: playlists and the saved library drive the sessions from here
REMEMBERED_PLAYS = 50  # GET /me/player/recently-played knows the last 50 plays only
TOP_MAX = 50
TIME_RANGE_DAYS = {"short_term": 28, "medium_term": 182, "long_term": 365}
DAY_MS = 86_400_000

_SALT_DAY, _SALT_SAVE, _SALT_LIBRARY, _SALT_ARCHIVE, _SALT_TASTE = 0x11571, 0x5A7ED, 0x11B, 0xA4C, 0x7A57E
TASTE_PERIOD_DAYS = 91  # the archive era's taste moves quarter by quarter
TASTE_MAX_PERIODS = 12  # a favourite artist stays one for up to three years
PLAY_MIN_MS = 30_001  # recently played shows a track only once it played for more than 30 s
# Relative chance that a session starts in each UTC hour, 0-23.
_WEEKDAY_HOURS = (1.0, 0.5, 0.2, 0.1, 0.1, 0.3, 1.5, 4.0, 5.0, 3.0, 2.0, 2.0,
                  3.0, 2.5, 2.0, 2.0, 2.5, 4.0, 5.0, 5.0, 4.5, 4.0, 3.0, 2.0)
_WEEKEND_HOURS = (2.0, 1.5, 1.0, 0.5, 0.2, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 3.5,
                  3.5, 3.0, 3.0, 3.0, 3.0, 3.5, 4.0, 4.5, 5.0, 5.0, 4.0, 3.0)


@dataclass(frozen=True)
class Play:
    """One play: when it ended (ms since the epoch, UTC), the catalog track, its context, how long it played
    (more than 30 s; less than the track's duration when skipped) and which of the day's sessions it is of."""

    at_ms: int
    track: int
    context: tuple[str, int] | None  # ("playlist", p), ("album", a), ("artist", ar), ("collection", 0) or None
    ms_played: int
    session: int


def day_start_ms(day: int) -> int:
    """Milliseconds since the epoch of 00:00 UTC of ``day`` (a date ordinal)."""
    return (day - date(1970, 1, 1).toordinal()) * DAY_MS


def ms_to_iso(ms: int) -> str:
    """Spotify's timestamp with milliseconds, e.g. ``2026-11-24T08:15:02.123Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_to_iso_seconds(ms: int) -> str:
    """Spotify's timestamp without fractions (``added_at``), e.g. ``2026-11-24T08:15:32Z``."""
    return datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _at_ms(play: Play) -> int:
    return play.at_ms


class Listening:
    """The demo user's listening on one catalog. Thread-safe (LRUs and a locked library memo)."""

    def __init__(self, catalog: Music, archive_density: float = 1.0) -> None:
        if archive_density < 0:
            raise ValueError(f"archive_density must be >= 0, got {archive_density}")
        self.c = catalog
        self.archive_density = archive_density
        self.first_day = LISTENING_START.toordinal()
        self.history_start = HISTORY_START.toordinal()
        self.plays_on = lru_cache(maxsize=1024)(self._plays_on)
        self._album_up: dict[int, bool] = {}  # album -> not taken down (a hash per look-up otherwise)
        self._favourites = lru_cache(maxsize=64)(self._favourites_of)
        self._artist_tracks = lru_cache(maxsize=4096)(self._playable_tracks_of_artist)
        self.top = lru_cache(maxsize=64)(self._top)
        self.saved = lru_cache(maxsize=64)(self._saved)
        self._lock = threading.RLock()  # re-entered: a day's plays need the library of that day
        self._initial: dict[int, int] | None = None  # track -> added_at ms, saved before the history starts
        self._saves: list[tuple[int, int, int]] = []  # (day, track, added_at ms) of every save so far, by day
        self._saves_until = self.history_start  # _saves covers the days before this one
        # the demo user's own playlists (catalog indexes)
        self.owned = [p for p in range(catalog.n_playlists) if catalog.playlist(p)["owner"] == DEMO_USER_ID]

    def with_archive_density(self, density: float) -> Listening:
        """The same user with another ``archive_density``. It shares what was worked out of the saved library,
        which no density changes (saves happen from HISTORY_START on)."""
        other = Listening(self.c, density)
        with self._lock:
            other._initial, other._saves, other._saves_until = self._initial, list(self._saves), self._saves_until
        return other

    # ------------------------------------------------------------------ building blocks
    def playable(self, t: int) -> bool:
        a = self.c.album_of_track(t)
        up = self._album_up.get(a)
        if up is None:
            up = self._album_up[a] = not self.c.is_taken_down(a)
        return up

    def duration_ms(self, t: int) -> int:
        return self.c.track(t, 0)["duration_ms"]  # day-independent; day 0 keeps the LRU to one entry per track

    def artists_of(self, t: int) -> list[int]:
        return self.c.track(t, 0)["artists"]

    def _initial_library(self) -> dict[int, int]:
        """The tracks saved before the history starts (2019-2024), from the demo user's playlists."""
        r = random.Random(mix(self.c.seed, _SALT_LIBRARY))
        pool: list[int] = []
        for p in self.owned:
            for key in self.c.playlist_entries(p, self.history_start):
                e = self.c.entry(p, key)
                if e["kind"] == "track" and self.playable(e["ref"]):
                    pool.append(e["ref"])
        pool = sorted(set(pool))
        size = min(len(pool), max(20, min(300, self.c.n_tracks // 80)))
        first, span = datetime(2019, 1, 1, tzinfo=UTC).timestamp() * 1000, 6 * 365 * DAY_MS
        return {t: int(first) + r.randrange(span) // 1000 * 1000 for t in r.sample(pool, size)}

    # ------------------------------------------------------------------ plays
    def _plays_on(self, day: int) -> tuple[Play, ...]:
        """The plays of ``day`` (a date ordinal), in time order."""
        if day < self.first_day:
            return ()
        if day < self.history_start:
            return self._archive_plays_on(day)
        r = random.Random(mix(self.c.seed, _SALT_DAY, day))
        if r.random() < 0.03:
            return ()  # a quiet day
        weekend = date.fromordinal(day).weekday() >= 5
        library = sorted(self.saved_before(day))
        plays: list[Play] = []
        cursor = 0
        for n, start in enumerate(self._session_starts(r, weekend, 1.0)):
            cursor = max(start, cursor + 60_000)
            context, tracks = self._session(r, day, library, weekend)
            cursor = self._play(r, day, n, context, tracks, cursor, plays)
        return tuple(plays)

    @staticmethod
    def _session_starts(r: random.Random, weekend: bool, density: float) -> list[int]:
        """When the day's sessions start (ms after midnight), from the daily rhythm; ``density`` scales their number."""
        weights = _WEEKEND_HOURS if weekend else _WEEKDAY_HOURS
        k = r.randint(2, 5) if weekend else r.randint(3, 6)
        if density != 1.0:
            scaled = k * density
            k = int(scaled) + (r.random() < scaled - int(scaled))
        return sorted(h * 3_600_000 + r.randrange(3_600_000) for h in r.choices(range(24), weights=weights, k=k))

    def _play(self, r: random.Random, day: int, session: int, context, tracks: list[int], cursor: int,
              plays: list[Play]) -> int:
        """Play ``tracks`` back to back from ``cursor`` (ms after midnight), appending to ``plays``; the new cursor."""
        base, end = day_start_ms(day), day_start_ms(day + 1)
        for t in tracks:
            skipped = r.random() < 0.15
            duration = self.duration_ms(t)
            # a full play: a pause of up to 4 s, then the whole track; a skipped one: 30-60 s after the last
            advance = r.randint(30_000, 60_000) if skipped else duration + r.randint(0, 4_000)
            cursor += advance
            if base + cursor >= end:
                break  # the session stops at midnight: a day's plays depend on that day alone
            played = max(PLAY_MIN_MS, min(advance, duration)) if skipped else duration
            plays.append(Play(base + cursor, t, context, played, session))
        return cursor

    def _session(self, r: random.Random, day: int, library: list[int], weekend: bool):
        """A context and the tracks played from it, in order."""
        length = r.randint(4, 16) if weekend else r.randint(3, 12)
        u = r.random()
        if u < 0.45 and self.owned:
            p = r.choice(self.owned)
            tracks = self._from_playlist(r, p, day, length)
            if tracks:
                return ("playlist", p), tracks
        if not library:
            return None, []
        if u < 0.65:
            return ("collection", 0), [r.choice(library) for _ in range(length)]
        seed_track = r.choice(library)
        if u < 0.8:
            a = self.c.album_of_track(seed_track)
            tracks = [t for t in self.c.album_track_range(a) if self.playable(t)][:length]
            return ("album", a), tracks
        if u < 0.9:
            ar = self.artists_of(seed_track)[0]
            pool = [t for a in self.c.artist_album_range(ar) for t in self.c.album_track_range(a) if self.playable(t)]
            return ("artist", ar), [r.choice(pool) for _ in range(min(length, len(pool)))]
        return None, [seed_track]  # from search: no context

    # ------------------------------------------------------------------ the archive era (before HISTORY_START)
    def _archive_plays_on(self, day: int) -> tuple[Play, ...]:
        """A day before :data:`HISTORY_START`: the same rhythm and sessions, played from the taste of the time."""
        r = random.Random(mix(self.c.seed, _SALT_ARCHIVE, day))
        if r.random() < 0.04:
            return ()
        weekend = date.fromordinal(day).weekday() >= 5
        favourites = self._favourites((day - self.first_day) // TASTE_PERIOD_DAYS)
        library = sorted(self.saved_before(day))
        when = date.fromordinal(day)
        playlists = [p for p in self.owned if self.c.playlist(p)["created"] <= when]
        plays: list[Play] = []
        cursor = 0
        for n, start in enumerate(self._session_starts(r, weekend, self.archive_density)):
            cursor = max(start, cursor + 60_000)
            context, tracks = self._archive_session(r, day, favourites, library, playlists, weekend)
            cursor = self._play(r, day, n, context, tracks, cursor, plays)
        return tuple(plays)

    def _archive_session(self, r: random.Random, day: int, favourites: tuple[int, ...], library: list[int],
                         playlists: list[int], weekend: bool):
        """A context and its tracks: a favourite's album or catalogue, the library, an existing playlist, search."""
        length = r.randint(4, 16) if weekend else r.randint(3, 12)
        u = r.random()
        if u < 0.12 and playlists:
            p = r.choice(playlists)
            tracks = self._from_playlist(r, p, day, length)
            if tracks:
                return ("playlist", p), tracks
        if u < 0.27 and len(library) >= 10:
            return ("collection", 0), [r.choice(library) for _ in range(length)]
        if not favourites:
            return None, []
        ar = r.choice(favourites)
        pool = self._artist_tracks(ar)
        if u < 0.62:
            a = self.c.album_of_track(r.choice(pool))
            return ("album", a), [t for t in self.c.album_track_range(a) if self.playable(t)][:length]
        if u < 0.9:
            return ("artist", ar), [r.choice(pool) for _ in range(length)]
        return None, [r.choice(pool)]  # from search: no context

    def _favourites_of(self, period: int) -> tuple[int, ...]:
        """The favourite artists of a taste period: each period discovers 3-6 artists (with at least one playable
        track), each a favourite for 1 to :data:`TASTE_MAX_PERIODS` periods."""
        out: set[int] = set()
        for found in range(period - TASTE_MAX_PERIODS + 1, period + 1):
            h = mix(self.c.seed, _SALT_TASTE, found)
            for j in range(3 + h % 4):
                hj = mix(h, j)
                if found + 1 + (hj >> 8) % TASTE_MAX_PERIODS > period:
                    ar = (hj >> 20) % self.c.n_artists
                    if self._artist_tracks(ar):
                        out.add(ar)
        return tuple(sorted(out))

    def _playable_tracks_of_artist(self, ar: int) -> tuple[int, ...]:
        return tuple(t for a in self.c.artist_album_range(ar) for t in self.c.album_track_range(a) if self.playable(t))

    def _from_playlist(self, r: random.Random, p: int, day: int, length: int) -> list[int]:
        """Up to ``length`` playable tracks of playlist ``p`` as it is on ``day``, in order from a random entry."""
        entries = self.c.playlist_entries(p, day)
        tracks: list[int] = []
        if entries:
            start = r.randrange(len(entries))
            for key in entries[start:] + entries[:start]:
                kind, ref = self.c.entry_target(p, key)
                if kind == "track" and self.playable(ref):
                    tracks.append(ref)
                    if len(tracks) == length:
                        break
        return tracks

    def remembered(self, now_ms: int) -> list[Play]:
        """The plays up to ``now_ms`` that Spotify still remembers: the last :data:`REMEMBERED_PLAYS`, newest first."""
        out: list[Play] = []
        day = min(now_ms // DAY_MS + date(1970, 1, 1).toordinal(), date.max.toordinal())
        while day >= self.first_day and len(out) < REMEMBERED_PLAYS:
            plays = self.plays_on(day)
            upto = bisect_right(plays, now_ms, key=_at_ms)
            out.extend(reversed(plays[:upto]))
            day -= 1
        return out[:REMEMBERED_PLAYS]

    # ------------------------------------------------------------------ library and top items
    def _saved_on(self, day: int, library: dict[int, int]) -> tuple[int, int] | None:
        """The track saved on ``day`` and when, or None."""
        r = random.Random(mix(self.c.seed, _SALT_SAVE, day))
        plays = self.plays_on(day)
        if not plays or r.random() >= 0.35:
            return None
        p = r.choice(plays)
        if p.track in library:
            return None
        return p.track, min(p.at_ms + 30_000, day_start_ms(day + 1) - 1000) // 1000 * 1000

    def saved_before(self, day: int) -> dict[int, int]:
        """The saved tracks at the start of ``day``: track -> added_at (ms)."""
        with self._lock:
            if self._initial is None:
                self._initial = self._initial_library()
            while self._saves_until < day:  # extend the save events in day order (each needs the ones before)
                current = self._saves_until
                saved = self._saved_on(current, self._library_at(current))
                if saved is not None:
                    self._saves.append((current, *saved))
                self._saves_until = current + 1
            return self._library_at(day)

    def _library_at(self, day: int) -> dict[int, int]:
        if day < self.history_start:  # the archive era: the initial library as far as it was saved by then
            start = day_start_ms(day)
            return {t: at for t, at in self._initial.items() if at < start}
        library = dict(self._initial)
        for d, t, at in self._saves:
            if d >= day:
                break
            library[t] = at
        return library

    def _saved(self, day: int) -> tuple[tuple[int, int], ...]:
        """The library of ``day`` as ``/me/tracks`` lists it: ``(track, added_at ms)``, most recently saved first."""
        return tuple(sorted(self.saved_before(day).items(), key=lambda kv: (-kv[1], kv[0])))

    def _top(self, kind: str, time_range: str, day: int) -> tuple[int, ...]:
        """The top ``kind`` ("tracks" or "artists") indexes for ``day``, from the plays of the window before it."""
        counts: Counter[int] = Counter()
        last: dict[int, int] = {}
        for d in range(max(self.first_day, day - TIME_RANGE_DAYS[time_range]), day):
            for p in self.plays_on(d):
                for x in ((p.track,) if kind == "tracks" else self.artists_of(p.track)):
                    counts[x] += 1
                    last[x] = p.at_ms
        ranked = sorted(counts, key=lambda x: (-counts[x], -last[x], x))
        return tuple(ranked[:TOP_MAX])
