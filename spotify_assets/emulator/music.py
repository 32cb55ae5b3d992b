"""The emulator's music: a deterministic, lazily generated catalog of artists → albums → tracks, playlists,
shows/episodes, the users who own playlists.

Everything is a pure function of (seed, kind, index[, day]). Only the tree structure (where each
artist's albums and each album's tracks start) is precomputed as compact integer arrays, so even the
``large`` scale (~1M tracks) costs a few MB; entity "facts" are generated on demand and cached in
bounded LRUs. Facts are mode-neutral plain dicts; ``shapes.py`` turns them into Spotify JSON.

Popularity is nested, as on Spotify: an artist has a level, each of its albums varies around it and each
track around its album (so a star's records and tracks rank high, an unknown's low). Track popularity is
long-tailed: most tracks between about 10 and 60, a handful at 90-100. A day moves every value by a slow
wave of a few points plus ±1 of noise, so day-over-day changes stay small.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import math
import random
from array import array
from datetime import date, datetime, timedelta
from functools import lru_cache
from statistics import NormalDist

from . import words
from .ids import IdCodec

_M64 = (1 << 64) - 1

# Target sizes per scale. Albums/artists are derived from the track count by the generator.
SCALES: dict[str, dict[str, int]] = {
    "tiny": {"tracks": 300, "playlists": 12, "shows": 3, "episodes": 24, "users": 5},
    "small": {"tracks": 10_000, "playlists": 200, "shows": 20, "episodes": 400, "users": 50},
    "large": {"tracks": 1_000_000, "playlists": 2_000, "shows": 200, "episodes": 5_000, "users": 500},
}

DEMO_USER_ID = "emulator-demo-user"
DEMO_USER_NAME = "Emulator Demo"
SPOTIFY_USER_ID = "spotify"
ROTATION_DAYS = 21  # longest life of a "rotating" playlist entry, bounds per-day work
_EPOCH_1970 = "1970-01-01T00:00:00Z"
_STANDARD_NORMAL = NormalDist()


def mix(*parts: int) -> int:
    """splitmix64 over a tuple of ints: a cheap, well-distributed deterministic hash."""
    x = 0x9E3779B97F4A7C15
    for p in parts:
        x = (x ^ (p & _M64)) & _M64
        x = (x + 0x9E3779B97F4A7C15) & _M64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
        x ^= x >> 31
    return x


def _base36(n: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out


def unit(*parts: int) -> float:
    """A uniform float in [0, 1) from ``mix``."""
    return (mix(*parts) >> 11) / float(1 << 53)


_KIND_SALT = {k: i + 1 for i, k in enumerate(
    ("track", "album", "artist", "playlist", "episode", "show", "user", "entry", "name", "day", "pop"))}


class Music:
    """The generated world for one (seed, scale). Thread-safe: all state after __init__ is read-only
    apart from the functools LRUs (which are thread-safe)."""

    def __init__(self, seed: int = 42, scale: str = "tiny") -> None:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
        self.seed = seed
        self.scale = scale
        self.ids = IdCodec(seed)
        sizes = SCALES[scale]
        self.n_tracks = sizes["tracks"]
        self.n_playlists = sizes["playlists"]
        self.n_shows = sizes["shows"]
        self.n_episodes = sizes["episodes"]
        self.n_users = sizes["users"]
        self._build_structure()
        # Per-instance LRUs (bounded) so two instances never share cached facts.
        self.track = lru_cache(maxsize=30_000)(self._track)
        self.album = lru_cache(maxsize=20_000)(self._album)
        self.artist = lru_cache(maxsize=50_000)(self._artist)
        self.playlist = lru_cache(maxsize=20_000)(self._playlist)
        self.playlist_entries = lru_cache(maxsize=20_000)(self._playlist_entries)
        self.episode = lru_cache(maxsize=20_000)(self._episode)
        self.show = lru_cache(maxsize=5_000)(self._show)
        self._names: dict[str, list[str]] = {}

    # ------------------------------------------------------------------ structure
    def _build_structure(self) -> None:
        """Album sizes and artist album-counts: the only eagerly built state (two int arrays)."""
        rng = random.Random(mix(self.seed, 1))
        starts = array("q")  # album i covers tracks [starts[i], starts[i+1])
        kinds = array("b")  # 0 album, 1 single, 2 compilation
        total = 0
        while total < self.n_tracks:
            u = rng.random()
            if u < 0.35:
                size, kind = rng.randint(1, 4), 1
            elif u < 0.9:
                size, kind = rng.randint(6, 18), 0
            else:
                size, kind = rng.randint(15, 30), 2
            size = min(size, self.n_tracks - total)
            starts.append(total)
            kinds.append(kind)
            total += size
        starts.append(total)
        self.album_starts, self.album_kinds = starts, kinds
        self.n_albums = len(kinds)
        # Artists own contiguous runs of albums; Pareto-distributed run length gives a skewed discography.
        astarts = array("q")
        total = 0
        while total < self.n_albums:
            size = min(40, int(rng.random() ** -0.6), self.n_albums - total)
            astarts.append(total)
            total += max(1, size)
        astarts.append(total)
        self.artist_starts = astarts
        self.n_artists = len(astarts) - 1
        # One album is always taken down so even ``tiny`` exercises the "0000"/empty-name path.
        self.forced_takedown_album = self.n_albums // 2

    def counts(self) -> dict[str, int]:
        return {"tracks": self.n_tracks, "albums": self.n_albums, "artists": self.n_artists,
                "playlists": self.n_playlists, "shows": self.n_shows, "episodes": self.n_episodes}

    def count(self, kind: str) -> int:
        return {"track": self.n_tracks, "album": self.n_albums, "artist": self.n_artists,
                "playlist": self.n_playlists, "episode": self.n_episodes, "show": self.n_shows,
                "relinked": self.n_tracks}[kind]

    def id(self, kind: str, index: int) -> str:
        return self.ids.encode(kind, index)

    def lookup(self, id_: str, kind: str) -> int | None:
        """Index of a valid id of ``kind`` (relinked track ids count as tracks), else None."""
        dec = self.ids.decode(id_)
        if dec is None:
            return None
        k, idx = dec
        if k != kind or idx >= self.count(k):
            return None
        return idx

    # ------------------------------------------------------------------ helpers
    def _rng(self, kind: str, index: int, *extra: int) -> random.Random:
        return random.Random(mix(self.seed, _KIND_SALT[kind], index, *extra))

    def _u(self, kind: str, index: int, *extra: int) -> float:
        return unit(self.seed, _KIND_SALT[kind], index, *extra)

    def _drift(self, kind: str, index: int, base: int, day: int) -> int:
        """Popularity for a day: a slow seasonal wave plus a little daily noise, clamped to 0..100."""
        phase = self._u(kind, index, 7) * 2 * math.pi
        wave = 3.0 * math.sin(day / 9.0 + phase)
        noise = int(mix(self.seed, _KIND_SALT["pop"], _KIND_SALT[kind], index, day) % 3) - 1
        return max(0, min(100, base + round(wave) + noise))

    def _normal(self, kind: str, index: int, *extra: int) -> float:
        """A standard normal deviate, a pure function of (seed, kind, index, extra)."""
        u = min(max(self._u(kind, index, *extra), 1e-12), 1.0 - 1e-12)
        return _STANDARD_NORMAL.inv_cdf(u)

    def _artist_level(self, ar: int) -> float:
        """Day-independent popularity level of an artist (not clamped). Most artists are modest (mean 30,
        sd 10); a squared term above +1.2 sd stretches the right tail, so a few are stars."""
        z = self._normal("artist", ar, 3)
        return 30.0 + 10.0 * z + 3.0 * max(0.0, z - 1.2) ** 2

    def _album_level(self, a: int) -> float:
        """An album's level: its (first) artist's level, give or take (some records do better than others)."""
        return self._artist_level(self.artist_of_album(a)) + 8.0 * self._normal("album", a, 3)

    def _track_level(self, t: int, album_level: float) -> float:
        """A track's level: its album's, give or take (the hit and the deep cuts of one record)."""
        return album_level + 10.0 * self._normal("track", t, 3)

    @staticmethod
    def _clamped(level: float) -> int:
        return max(0, min(100, round(level)))

    def name(self, kind: str, index: int) -> str:
        """The display name of an entity (cheap; used by search without building full objects)."""
        r = self._rng("name", index, _KIND_SALT[kind])
        u = r.random()
        if kind == "artist":
            if u < 0.45:
                return f"{r.choice(words.FIRST)} {r.choice(words.LAST)}"
            if u < 0.55:
                return r.choice(words.CJK)
            return " ".join(x for x in (r.choice(words.BAND_PREFIX), r.choice(words.ADJECTIVES),
                                        r.choice(words.NOUNS) + "s") if x)
        if kind == "show":
            return f"{r.choice(words.SHOW_TOPICS)} {r.choice(words.EMOJI) if u < 0.3 else ''}".strip()
        if kind == "playlist":
            if u < 0.2:
                return f"{r.choice(words.CJK)} {r.choice(words.EMOJI)}"
            return f"{r.choice(words.ADJECTIVES)} {r.choice(words.NOUNS)} Mix"
        base = f"{r.choice(words.ADJECTIVES)} {r.choice(words.NOUNS)}"
        if u < 0.1:
            base = r.choice(words.CJK)
        elif u < 0.15:
            base = f"{base} {r.choice(words.EMOJI)}"
        elif u < 0.22 and kind == "track":
            base = f"{base} (feat. {r.choice(words.FIRST)})"
        elif u < 0.26 and kind == "track":
            base = f"{base} - Remastered {r.randint(2005, 2024)}"
        return base

    def names(self, kind: str, limit: int) -> list[str]:
        """Names of the first ``limit`` entities of a kind (cached; bounded search space)."""
        key = f"{kind}:{limit}"
        if key not in self._names:
            self._names[key] = [self.name(kind, i) for i in range(min(limit, self.count(kind)))]
        return self._names[key]

    def _images(self, kind: str, index: int, sizes=(640, 300, 64)) -> list[dict]:
        h = hashlib.blake2b(f"{self.seed}:{kind}:{index}".encode(), digest_size=20).hexdigest()
        return [{"url": f"https://i.scdn.co/image/ab67616d0000{h}{s}", "height": s, "width": s} for s in sizes]

    # ------------------------------------------------------------------ entities
    def album_of_track(self, t: int) -> int:
        return bisect.bisect_right(self.album_starts, t) - 1

    def artist_of_album(self, a: int) -> int:
        return bisect.bisect_right(self.artist_starts, a) - 1

    def album_track_range(self, a: int) -> range:
        return range(self.album_starts[a], self.album_starts[a + 1])

    def artist_album_range(self, ar: int) -> range:
        return range(self.artist_starts[ar], self.artist_starts[ar + 1])

    def is_taken_down(self, a: int) -> bool:
        return a == self.forced_takedown_album or self._u("album", a, 11) < 0.01

    def _artist(self, index: int, day: int) -> dict:
        r = self._rng("artist", index)
        # ~25% unclassified artists (empty genres); index 1 always, so every scale has one.
        n_genres = 0 if r.random() < 0.25 or index == 1 else r.randint(1, 3)
        # Artists rank a little above their average track (their best tracks carry them).
        base_pop = self._clamped(self._artist_level(index) + 6.0)
        pop = self._drift("artist", index, base_pop, day)
        followers = int(10 ** (1 + base_pop / 17) * (1 + 0.002 * (day % 997)) * (0.5 + r.random()))
        return {"index": index, "id": self.id("artist", index), "name": self.name("artist", index),
                "genres": r.sample(words.GENRES, n_genres), "popularity": pop, "followers": followers,
                "images": self._images("artist", index) if r.random() > 0.05 else []}

    def _album(self, index: int, day: int) -> dict:
        r = self._rng("album", index)
        kind = ("album", "single", "compilation")[self.album_kinds[index]]
        taken_down = self.is_taken_down(index)
        year = r.randint(1960, 2025)  # the catalog is fixed: keep every release in the past of any run
        p = r.random()
        if taken_down:
            release, precision = "0000", "year"
        elif p < 0.12:
            release, precision = f"{year}", "year"
        elif p < 0.22:
            release, precision = f"{year}-{r.randint(1, 12):02d}", "month"
        else:
            d = date(year, 1, 1) + timedelta(days=r.randint(0, 364))
            release, precision = d.isoformat(), "day"
        artist = self.artist_of_album(index)
        artists = [artist]
        if kind == "compilation" and r.random() < 0.5:
            artists.append(r.randrange(self.n_artists))
        markets = sorted(r.sample(words.MARKETS, r.randint(len(words.MARKETS) // 2, len(words.MARKETS))))
        label = r.choice(words.LABELS)
        level = self._album_level(index)
        return {
            "index": index, "id": self.id("album", index), "album_type": kind,
            "name": "" if taken_down else self.name("album", index), "artists": artists,
            "release_date": release, "release_date_precision": precision,
            "total_tracks": len(self.album_track_range(index)), "label": label,
            "upc": f"{mix(self.seed, 99, index) % 10**12:012d}",
            # an album ranks a little above its average track, like an artist
            "popularity": self._drift("album", index, self._clamped(level + 4.0), day), "level": level,
            "available_markets": [] if taken_down else markets, "images": self._images("album", index),
            "copyrights": [{"text": f"© {year} {label}", "type": "C"}, {"text": f"℗ {year} {label}", "type": "P"}],
            "taken_down": taken_down,
        }

    def _track(self, index: int, day: int) -> dict:
        r = self._rng("track", index)
        a = self.album_of_track(index)
        alb = self.album(a, day)
        rng = self.album_track_range(a)
        pos = index - rng.start
        two_discs = len(rng) > 20
        half = (len(rng) + 1) // 2
        disc, number = (2, pos - half + 1) if two_discs and pos >= half else (1, pos + 1)
        artists = list(alb["artists"][:1])
        if r.random() < 0.3:
            for _ in range(r.randint(1, 3)):
                other = r.randrange(self.n_artists)
                if other not in artists:
                    artists.append(other)
        taken_down = alb["taken_down"]
        cc = r.choice(words.MARKETS)
        return {
            "index": index, "id": self.id("track", index), "album": a,
            "name": "" if taken_down else self.name("track", index), "artists": artists,
            "duration_ms": 0 if taken_down else int(max(30_000, r.gauss(210_000, 55_000))),
            "explicit": r.random() < 0.15, "disc_number": disc, "track_number": number,
            "isrc": f"{cc}{_base36(mix(self.seed, 5, a) % 46656, 3)}{r.randint(0, 99):02d}{index % 100000:05d}",
            "popularity": 0 if taken_down else self._drift(
                "track", index, self._clamped(self._track_level(index, alb["level"])), day),
            "available_markets": alb["available_markets"],
            # Track relinking (only visible with ?market=): some tracks resolve to another copy, some are
            # unplayable in the requested market.
            "relinked": (not taken_down) and r.random() < 0.06,
            "unplayable": taken_down or r.random() < 0.03,
        }

    def _show(self, index: int) -> dict:
        r = self._rng("show", index)
        return {"index": index, "id": self.id("show", index), "name": self.name("show", index),
                "publisher": f"{r.choice(words.FIRST)} {r.choice(words.LAST)} Media",
                "languages": [r.choice(["en", "es", "ja", "de", "fr"])], "explicit": r.random() < 0.2,
                "total_episodes": len(range(index, self.n_episodes, self.n_shows)),
                "images": self._images("show", index)}

    def _episode(self, index: int) -> dict:
        r = self._rng("episode", index)
        d = date(2019, 1, 1) + timedelta(days=r.randint(0, 2500))
        return {"index": index, "id": self.id("episode", index), "show": index % self.n_shows,
                "name": f"Episode {index // self.n_shows + 1}: {self.name('episode', index)}",
                "duration_ms": r.randint(600_000, 7_200_000), "explicit": r.random() < 0.1,
                "release_date": d.isoformat(), "images": self._images("episode", index)}

    # ------------------------------------------------------------------ users & playlists
    def user_id(self, u: int) -> str:
        return "31" + base64.b32encode(hashlib.blake2b(f"{self.seed}:user:{u}".encode(),
                                                       digest_size=20).digest()).decode().lower()[:26]

    def user_name(self, u: int) -> str:
        r = self._rng("user", u)
        return f"{r.choice(words.FIRST)} {r.choice(words.LAST)}"

    def spotify_playlist_index(self) -> int:
        return 1 % self.n_playlists

    def _playlist(self, index: int) -> dict:
        """Day-independent playlist metadata."""
        r = self._rng("playlist", index)
        if index == self.spotify_playlist_index():
            owner = SPOTIFY_USER_ID
        elif index == 0 or r.random() < 0.6:
            owner = DEMO_USER_ID
        else:
            owner = self.user_id(r.randrange(self.n_users))
        size_u = r.random()
        core = 0 if index == 2 % self.n_playlists else int(300 * size_u**2.2)  # one empty playlist
        if self.scale == "tiny":
            core = min(core, 120)
        return {
            "index": index, "id": self.id("playlist", index),
            "name": "Top 50 - Global" if owner == SPOTIFY_USER_ID else self.name("playlist", index),
            "description": "" if r.random() < 0.4 else f"Songs for {r.choice(words.NOUNS).lower()} {r.choice(words.EMOJI)}",
            "owner": owner, "public": r.random() < 0.8, "collaborative": owner == DEMO_USER_ID and r.random() < 0.1,
            "core_size": core,
            # ~35% of playlists never change, the rest rotate a few entries per day.
            "rotating": owner == SPOTIFY_USER_ID or (index != 0 and r.random() < 0.65),
            "created": date(2012, 1, 1) + timedelta(days=r.randint(0, 4000)),
            "followers_base": int(10 ** (r.random() * 5)),
            "images": self._images("playlist", index, (640,)) if core else [],
        }

    def _playlist_entries(self, index: int, day: int) -> tuple[tuple, ...]:
        """The entry keys alive on ``day`` (date ordinal), in playlist order.

        Core entries never change; rotating entries are added on some day and live 1..ROTATION_DAYS
        days, so computing a day costs O(ROTATION_DAYS) and consecutive days differ by a few items.
        """
        meta = self.playlist(index)
        entries: list[tuple] = [("core", k) for k in range(meta["core_size"])]
        if meta["rotating"]:
            for dd in range(day - ROTATION_DAYS + 1, day + 1):
                h = mix(self.seed, _KIND_SALT["day"], index, dd)
                n_add = (0, 0, 0, 0, 1, 1, 2, 3)[h & 7]
                for j in range(n_add):
                    life = 1 + (mix(h, j) % ROTATION_DAYS)
                    if dd + life > day:
                        entries.append(("rot", dd, j))
        return tuple(entries)

    def snapshot_id(self, index: int, day: int) -> str:
        """Changes exactly when the entry list changes (it is a hash of it)."""
        h = hashlib.blake2b(repr((self.seed, index, self.playlist_entries(index, day))).encode(), digest_size=21)
        return base64.b64encode(h.digest()).decode()

    def playlist_followers(self, index: int, day: int) -> int:
        base = self.playlist(index)["followers_base"]
        return base + int(base * 0.01 * (day % 30)) + int(mix(self.seed, 77, index, day) % 3)

    def entry(self, p: int, key: tuple) -> dict:
        """What a playlist entry points at, and when/by whom it was added."""
        meta = self.playlist(p)
        h = mix(self.seed, _KIND_SALT["entry"], p, *(k if isinstance(k, int) else 0 for k in key))
        spotify_owned = meta["owner"] == SPOTIFY_USER_ID
        if key[0] == "core":
            added = datetime.combine(meta["created"], datetime.min.time()) + timedelta(days=key[1] * 3, seconds=h % 86400)
        else:
            added = datetime.combine(date.fromordinal(key[1]), datetime.min.time()) + timedelta(seconds=h % 86400)
        added_at = _EPOCH_1970 if spotify_owned else added.strftime("%Y-%m-%dT%H:%M:%SZ")
        if spotify_owned:
            added_by = SPOTIFY_USER_ID
        elif key[0] == "core" and added.year < 2015 and (h >> 3) % 2:
            added_by = None  # very old items carry added_by: null
        elif meta["collaborative"] and (h >> 5) % 3 == 0:
            added_by = self.user_id((h >> 7) % self.n_users)
        else:
            added_by = meta["owner"]
        kind, ref = self._entry_target(h, spotify_owned)
        return {"kind": kind, "ref": ref, "added_at": added_at, "added_by": added_by}

    def entry_target(self, p: int, key: tuple) -> tuple[str, int | None]:
        """``(kind, ref)`` of :meth:`entry` without the rest (when and by whom): the listening model's fast path."""
        h = mix(self.seed, _KIND_SALT["entry"], p, *(k if isinstance(k, int) else 0 for k in key))
        return self._entry_target(h, self.playlist(p)["owner"] == SPOTIFY_USER_ID)

    def _entry_target(self, h: int, spotify_owned: bool) -> tuple[str, int | None]:
        u = (h >> 11) / float(1 << 53)
        if spotify_owned or u >= 0.12:
            # Zipf-like pick: popular (low-index-after-permutation) tracks recur across playlists.
            t = int(self.n_tracks * ((h >> 20) % 1_000_003 / 1_000_003) ** 2.5)
            return "track", min(t, self.n_tracks - 1)
        if u < 0.015:
            return "null", None
        if u < 0.045:
            return "local", (h >> 9) % 100_000
        return "episode", (h >> 20) % self.n_episodes
