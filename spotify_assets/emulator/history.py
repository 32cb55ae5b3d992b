"""Every stream of the demo user's history, as the account-data export records them.

The listening model (``listening.py``) holds the plays the API shows: tracks that played for more than 30 s.
This module adds what only the export knows, deterministically per day (a pure function of seed, scale and
day, like the plays):

* **Around the plays**: each of them becomes a stream with how long it played, why it started and ended,
  shuffle, skipped, the device (platform, user agent), the network (IP address, country, location),
  offline or not. Between two plays of a session the pause sometimes holds a track skipped after a few
  hundred milliseconds, or at 0 ms.
* **In the free time between sessions**: podcast episodes (from mid-2015), music videos (from mid-2020;
  the export files them as episodes), audiobook chapters (from October 2023), private ("incognito")
  sessions, and skims — a few tracks skipped within 30 s, now and then a stream of content since removed
  from Spotify (every metadata field null, sometimes with a few minutes played).

None of these is a play of the API: recently played shows neither streams of 30 s or less, nor episodes,
audiobooks or videos, nor private sessions. Before ``HISTORY_START`` the extras scale with the model's
``archive_density`` like the plays.

The user lives in Stockholm and travels about a week a year; devices change every few years. IP addresses
come from the documentation ranges (RFC 5737, RFC 3849): a home, a mobile and a work network, each keeping
an address for a year or more, IPv6 from 2018 at home and 2019 on the phone.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date

from .listening import HISTORY_START, Listening, Play, day_start_ms
from .music import Music, mix

_SALT_EXTRAS, _SALT_SESSION, _SALT_TRIP, _SALT_ADDRESS = 0xE27A5, 0x5E55, 0x721B, 0xADD2
PODCASTS_FROM, VIDEOS_FROM, AUDIOBOOKS_FROM = date(2015, 6, 1), date(2020, 6, 1), date(2023, 10, 4)
N_AUDIOBOOKS = 6
# Ids of what the catalog does not hold (music videos, audiobooks, their chapters) come from the same
# id spaces far beyond the catalog's indexes, so they never collide with a catalog id.
_VIDEO_BASE, _CHAPTER_BASE, _AUDIOBOOK_BASE = 10_000_000, 20_000_000, 1_000_000
_CHAPTERS_PER_BOOK = 1_000
_NETWORK_CODE = {"home": 1, "mobile": 2, "work": 3}
# Relative chance that an extra session (podcast, video...) starts in each UTC hour, 0-23.
_EXTRA_HOURS = (0.5, 0.2, 0.1, 0.1, 0.1, 0.3, 1.0, 3.0, 3.0, 2.0, 1.5, 1.5,
                2.0, 1.5, 1.5, 1.5, 2.0, 3.0, 3.0, 3.0, 3.0, 2.5, 2.0, 1.0)


@dataclass(frozen=True, slots=True)
class Device:
    """A device of the user: how older exports name it (a long free string, a user agent) and newer ones (a token)."""

    kind: str  # phone | desktop | web | cast
    platform: str
    token: str
    user_agent: str | None


# The user's devices by the year they came into use.
_DEVICES: tuple[tuple[int, dict[str, Device]], ...] = (
    (2010, {
        "phone": Device("phone", "Android OS 2.3.6 API 10 (samsung, GT-S5830)", "android",
                        "Spotify/0.5.2 Android/10 (GT-S5830)"),
        "desktop": Device("desktop", "Windows 7 (6.1.7601; x86; SP1; S)", "windows",
                          "Spotify/0.8.4 Win32/0 (PC desktop)"),
        "web": Device("web", "WebPlayer (websocket RFC6455)", "web_player",
                      "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/535.7 (KHTML, like Gecko) Chrome/16.0.912.75 Safari/535.7"),
        "cast": Device("cast", "Partner sonos_speaker Sonos;PLAY:1;;", "sonos", None),
    }),
    (2014, {
        "phone": Device("phone", "Android OS 4.4.2 API 19 (samsung, GT-I9195)", "android",
                        "Spotify/8.4.62 Android/19 (GT-I9195)"),
        "desktop": Device("desktop", "OS X 10.10.5 [x86 8]", "osx", "Spotify/1.0.16 OSX/0 (MacBookPro11,1)"),
        "web": Device("web", "web_player windows 7;chrome 45.0.2454.101;desktop", "web_player",
                      "Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/45.0.2454.101 Safari/537.36"),
        "cast": Device("cast", "Partner google cast_tv;Chromecast;;", "cast", None),
    }),
    (2018, {
        "phone": Device("phone", "iOS 12.1.4 (iPhone9,3)", "ios", "Spotify/8.4.92 iOS/12.1.4 (iPhone9,3)"),
        "desktop": Device("desktop", "OS X 10.13.6 [x86 8]", "osx", "Spotify/1.1.10 OSX/0 (MacBookPro14,1)"),
        "web": Device("web", "web_player osx 10.13.6;chrome 71.0.3578.98;desktop", "web_player",
                      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_13_6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/71.0.3578.98 Safari/537.36"),
        "cast": Device("cast", "Partner google cast_tv;Chromecast;;", "cast", None),
    }),
    (2021, {
        "phone": Device("phone", "iOS 14.7.1 (iPhone10,3)", "ios", "Spotify/8.6.54 iOS/14.7.1 (iPhone10,3)"),
        "desktop": Device("desktop", "Windows 10 (10.0.19042; x64)", "windows",
                          "Spotify/1.1.68 Win32_x86_64/0 (PC desktop)"),
        "web": Device("web", "web_player windows 10;chrome 92.0.4515.131;desktop", "web_player",
                      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.131 Safari/537.36"),
        "cast": Device("cast", "Partner google cast_tv;Chromecast;;", "cast", None),
    }),
    (2024, {
        "phone": Device("phone", "iOS 17.4.1 (iPhone15,2)", "ios", "Spotify/8.9.28 iOS/17.4.1 (iPhone15,2)"),
        "desktop": Device("desktop", "OS X 14.4.1 [arm 0]", "osx", "Spotify/1.2.35 OSX_ARM64/0 (Mac14,2)"),
        "web": Device("web", "web_player osx 14.4.1;chrome 123.0.6312.122;desktop", "web_player",
                      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.6312.122 Safari/537.36"),
        "cast": Device("cast", "Partner google cast_tv;Chromecast;;", "cast", None),
    }),
)
_DEVICE_YEARS = [y for y, _ in _DEVICES]


@dataclass(frozen=True, slots=True)
class Place:
    """Where a network puts the user, as the 2020-era exports locate a stream."""

    country: str
    city: str
    region: str
    metro_code: str
    latitude: float
    longitude: float


HOME = Place("SE", "stockholm", "ab", "0", 59.3326, 18.0649)
_PLACES = {"home": HOME, "work": Place("SE", "stockholm", "ab", "0", 59.3346, 18.0632),
           "mobile": Place("SE", "solna", "ab", "0", 59.3600, 18.0009)}
_TRIPS = (Place("DE", "berlin", "be", "0", 52.5200, 13.4050), Place("ES", "madrid", "md", "0", 40.4168, -3.7038),
          Place("JP", "tokyo", "13", "0", 35.6895, 139.6917), Place("GB", "london", "eng", "0", 51.5072, -0.1276),
          Place("US", "new york", "ny", "501", 40.7128, -74.0060), Place("PT", "lisbon", "11", "0", 38.7223, -9.1393))


@dataclass(frozen=True, slots=True)
class Setting:
    """What stays the same for a whole session: the device, the network and its address, offline, shuffle."""

    device: Device
    network: str  # home | mobile | work | travel
    ip: str
    place: Place
    offline: bool
    shuffle: bool
    incognito: bool


@dataclass(slots=True)
class Stream:
    """One stream: when it ended (ms, UTC), how long it played, what played, and how.

    ``kind``: ``track``, ``episode`` (a podcast), ``video`` (a music video, an episode for the export),
    ``chapter`` (an audiobook chapter) or ``removed`` (content since removed: no metadata at all).
    ``ref``: the catalog track (track, video), the catalog episode, or the chapter number (see :func:`chapter`).
    ``play``: the API's play when this stream is one.
    """

    end_ms: int
    ms_played: int
    kind: str
    ref: int
    setting: Setting
    reason_start: str
    reason_end: str
    skipped: bool
    play: Play | None = None

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.ms_played


def device_of(year: int, kind: str) -> Device:
    """The user's device of ``kind`` in ``year``."""
    return _DEVICES[max(0, bisect_right(_DEVICE_YEARS, year) - 1)][1][kind]


def chapter(ref: int) -> tuple[int, int]:
    """``(audiobook, chapter number)`` of a chapter stream's ``ref``."""
    return divmod(ref, _CHAPTERS_PER_BOOK)


class History:
    """The streams of the demo user, day by day, on one listening model."""

    def __init__(self, listening: Listening) -> None:
        self.model = listening
        self.c: Music = listening.c
        self.seed = self.c.seed

    # ------------------------------------------------------------------ ids the catalog does not hold
    def video_id(self, t: int) -> str:
        return self.c.id("episode", _VIDEO_BASE + t)

    def audiobook_id(self, book: int) -> str:
        return self.c.id("show", _AUDIOBOOK_BASE + book)

    def chapter_id(self, ref: int) -> str:
        return self.c.id("episode", _CHAPTER_BASE + ref)

    # ------------------------------------------------------------------ where and on what
    def _address(self, network: str, day: int, v6: bool) -> str:
        """The network's address on ``day``: IPv4 (home: two years, mobile: one, work: four) or IPv6 (three years)."""
        year = date.fromordinal(day).year
        span = 3 if v6 else {"home": 2, "mobile": 1, "work": 4}[network]
        h = mix(self.seed, _SALT_ADDRESS, _NETWORK_CODE[network], year // span, v6)
        if v6:
            net = 0x1000 if network == "home" else 0x2000
            return f"2001:db8:{net + (h & 0xFFF):x}:{(h >> 12) & 0xFFFF:x}::{(h >> 28) & 0xFFFF or 1:x}"
        prefix = {"home": "203.0.113", "mobile": "198.51.100", "work": "192.0.2"}[network]
        return f"{prefix}.{1 + (h >> 16) % 199}"

    def trip(self, day: int) -> Place | None:
        """The place abroad when ``day`` is in the year's trip (a week or so), else None."""
        d = date.fromordinal(day)
        h = mix(self.seed, _SALT_TRIP, d.year)
        first = date(d.year, 1, 1).toordinal() + 20 + h % 320
        if first <= day < first + 6 + (h >> 12) % 6:
            return _TRIPS[(h >> 20) % len(_TRIPS)]
        return None

    def setting(self, day: int, key: int, start_ms: int, context_kind: str | None, *, kind: str | None = None,
                incognito: bool = False) -> Setting:
        """The setting of the session ``key`` of ``day`` that starts ``start_ms`` after midnight."""
        r = random.Random(mix(self.seed, _SALT_SESSION, day, key))
        d = date.fromordinal(day)
        hour = start_ms // 3_600_000
        workday = d.weekday() < 5 and 9 <= hour < 17
        commute = d.weekday() < 5 and (6 <= hour < 9 or 16 <= hour < 19)
        if kind is None:
            u = r.random()
            if commute:
                kind = "phone"
            elif workday:
                kind = "desktop" if u < 0.7 else "phone"
            else:
                kind = "phone" if u < 0.45 else "cast" if u < 0.65 else "desktop" if u < 0.88 else "web"
        device = device_of(d.year, kind)
        abroad = self.trip(day)
        if abroad is not None:
            network = "travel"
            ip = f"192.0.2.{200 + mix(self.seed, _SALT_TRIP, d.year, 1) % 50}"
            place = abroad
        else:
            if kind == "phone":
                network = "mobile" if commute or r.random() < 0.35 else "home"
            elif kind in ("desktop", "web"):
                network = "work" if workday else "home"
            else:
                network = "home"
            ipv6 = (network == "home" and d.year >= 2018) or (network == "mobile" and d.year >= 2019)
            ip = self._address(network, day, ipv6 and r.random() < 0.5)
            place = _PLACES[network]
        offline = kind == "phone" and r.random() < (0.3 if abroad else 0.08)
        shuffle = context_kind in ("playlist", "collection", "artist") and r.random() < 0.55 or (
            context_kind == "album" and r.random() < 0.1)
        return Setting(device, network, ip, place, offline, shuffle, incognito)

    # ------------------------------------------------------------------ a day
    def streams_on(self, day: int) -> list[Stream]:
        """Every stream that ended on ``day`` (a date ordinal), in time order (ties: the order they happened)."""
        plays = self.model.plays_on(day)
        r = random.Random(mix(self.seed, _SALT_EXTRAS, day))
        base = day_start_ms(day)
        density = self.model.archive_density if day < self.model.history_start else 1.0
        streams: list[Stream] = []
        busy: list[tuple[int, int]] = []  # (start, end) ms after midnight of every session so far
        sessions: dict[int, list[Play]] = {}
        for p in plays:
            sessions.setdefault(p.session, []).append(p)
        day_tracks = sorted({p.track for p in plays})
        for key, session in sessions.items():
            start = session[0].at_ms - session[0].ms_played - base
            setting = self.setting(day, key, start, session[0].context[0] if session[0].context else None)
            streams.extend(self._session_streams(r, session, setting, day_tracks))
            busy.append((start, session[-1].at_ms - base))
        for kind, chance, since in (("episode", 0.35, PODCASTS_FROM), ("video", 0.08, VIDEOS_FROM),
                                    ("chapter", 0.07, AUDIOBOOKS_FROM), ("incognito", 0.04, None),
                                    ("skim", 0.5, None)):
            for _ in range(_count(r, chance * density)):
                if since is not None and day < since.toordinal():
                    continue
                streams.extend(self._extra_session(r, day, kind, busy, day_tracks))
        streams.sort(key=_end_ms)  # stable: streams ending in the same millisecond keep their order
        return streams

    def _session_streams(self, r: random.Random, session: list[Play], setting: Setting,
                         day_tracks: list[int]) -> list[Stream]:
        """A session's plays as streams, with the short skips in the pauses between them, and their reasons."""
        out: list[Stream] = []
        cast = setting.device.kind == "cast"
        previous_end = None
        for i, p in enumerate(session):
            start = p.at_ms - p.ms_played
            pause = start - previous_end if previous_end is not None else 0
            if pause >= 300 and r.random() < 0.2:  # a track skipped at once, in the pause before this one
                played = 0 if r.random() < 0.3 else r.randint(120, min(900, pause - 100))
                end = previous_end + played + r.randint(0, pause - played)
                t = _other(r, day_tracks, {p.track, session[i - 1].track})
                if t is not None:
                    out.append(Stream(end, played, "track", t, setting, _reason_start_after(out), "fwdbtn", True))
            if not out:
                reason_start = "remote" if cast else "clickrow" if p.context else "playbtn"
            else:
                reason_start = _reason_start_after(out)
            skipped = p.ms_played < self.model.duration_ms(p.track)
            last = i == len(session) - 1
            reason_end = ("endplay" if last else "fwdbtn" if r.random() < 0.9 else "backbtn") if skipped else "trackdone"
            out.append(Stream(p.at_ms, p.ms_played, "track", p.track, setting, reason_start, reason_end, skipped, p))
            previous_end = p.at_ms
        return out

    def _extra_session(self, r: random.Random, day: int, kind: str, busy: list[tuple[int, int]],
                       day_tracks: list[int]) -> list[Stream]:
        """An extra session of ``kind`` in free time (none if three tries find no room)."""
        items = self._extra_items(r, day, kind, day_tracks)
        if not items:
            return []
        length = sum(played + gap for _, _, played, gap, _ in items)
        for _ in range(3):
            start = r.choices(range(24), weights=_EXTRA_HOURS)[0] * 3_600_000 + r.randrange(3_600_000)
            end = start + length
            if end < 86_400_000 and not any(s < end + 60_000 and start < e + 60_000 for s, e in busy):
                break
        else:
            return []
        busy.append((start, end))
        setting = self.setting(day, 1000 + len(busy), start, "collection" if kind == "incognito" else None,
                               kind="desktop" if kind == "chapter" and r.random() < 0.2 else
                               "phone" if kind in ("episode", "chapter") else None,
                               incognito=kind == "incognito")
        base = day_start_ms(day) + start
        out: list[Stream] = []
        cursor = 0
        for i, (what, ref, played, gap, full) in enumerate(items):
            cursor += gap + played
            if i == 0:
                reason_start = "clickrow" if what != "removed" else "playbtn"
            else:
                reason_start = "trackdone" if out[-1].reason_end == "trackdone" else "fwdbtn"
            if full:
                reason_end = "trackdone"
            elif what in ("episode", "chapter", "video") or i == len(items) - 1:
                reason_end = "endplay" if r.random() < 0.7 else "logout" if r.random() < 0.5 else "unexpected-exit"
            else:
                reason_end = "fwdbtn"
            out.append(Stream(base + cursor, played, what, ref, setting, reason_start, reason_end,
                              not full and reason_end == "fwdbtn"))
        return out

    def _extra_items(self, r: random.Random, day: int, kind: str, day_tracks: list[int]):
        """What an extra session plays: ``(kind, ref, ms_played, pause before, played to the end)`` each."""
        items = []
        if kind == "episode":
            for _ in range(r.choice((1, 1, 1, 2))):
                e = r.randrange(self.c.n_episodes)
                duration = self.c.episode(e)["duration_ms"]
                full = r.random() < 0.3
                items.append(("episode", e, duration if full else r.randint(1_000, duration), r.randint(0, 3_000), full))
        elif kind == "video":
            for _ in range(r.randint(1, 3)):
                t = _other(r, day_tracks, set()) if day_tracks else None
                if t is not None:
                    duration = self.model.duration_ms(t) + 20_000
                    full = r.random() < 0.6
                    items.append(("video", t, duration if full else r.randint(5_000, duration), r.randint(0, 2_000), full))
        elif kind == "chapter":
            book = mix(self.seed, day // 21) % N_AUDIOBOOKS  # the book of these three weeks
            first = (day // 3) % 40  # and about where the user is in it
            for n in range(r.randint(1, 3)):
                items.append(("chapter", book * _CHAPTERS_PER_BOOK + first + n, r.randint(180_000, 1_500_000),
                              r.randint(0, 1_500), False))
        elif kind == "incognito":
            for _ in range(r.randint(2, 8)):
                t = _other(r, day_tracks, set()) if day_tracks else None
                if t is not None:
                    duration = self.model.duration_ms(t)
                    full = r.random() < 0.8
                    items.append(("track", t, duration if full else r.randint(30_001, max(30_001, duration - 1)),
                                  r.randint(0, 3_000), full))
        else:  # a skim: tracks skipped within 30 s, and sometimes something since removed from Spotify
            for _ in range(r.randint(1, 5)):
                if r.random() < 0.12:
                    items.append(("removed", -1, 0 if r.random() < 0.4 else r.randint(1_000, 240_000),
                                  r.randint(0, 2_000), False))
                    continue
                t = _other(r, day_tracks, set()) if day_tracks else None
                if t is not None:
                    items.append(("track", t, r.randint(200, 30_000), r.randint(0, 1_500), False))
        return items


def _end_ms(s: Stream) -> int:
    return s.end_ms


def _count(r: random.Random, mean: float) -> int:
    """How many extra sessions of a kind a day has: ``mean`` on average (Bernoulli trials of at most 1 each)."""
    n = int(mean)
    return n + (r.random() < mean - n)


def _other(r: random.Random, pool: list[int], avoid: set[int]) -> int | None:
    """A track of ``pool`` that is not in ``avoid`` (None when there is none after a few tries)."""
    for _ in range(4):
        t = r.choice(pool) if pool else None
        if t is not None and t not in avoid:
            return t
    return None


def _reason_start_after(out: list[Stream]) -> str:
    """Why a stream started, from how the one before it ended."""
    return "trackdone" if out and out[-1].reason_end == "trackdone" else "fwdbtn" if out else "clickrow"


__all__ = ["HISTORY_START", "History", "Place", "Setting", "Stream", "chapter", "device_of"]
