"""The incremental part of the crawl: what is carried over from the previous partition instead of fetched.

Two things are carried, both as the verbatim previous envelope plus ``"carried_from": "YYYY-MM-DD"`` (the day
it was originally fetched), keeping its original ``fetched_at``. Every day's partition stays complete, and a
copy's age is always known, so the transform's "latest wins" ranking stays honest.

**Unchanged playlists' item pages.** A playlist whose ``snapshot_id`` equals the previous partition's, and
whose item pages there cover today's page plan, costs one request (its metadata): its pages are carried.

**Album and artist copies.** An album or artist barely changes from one day to the next, and in development
mode each costs one request (no batch look-ups there). So the crawl looks one up only when it is new or its
last full copy is too old, and otherwise carries that copy. The rules:

* **Age.** A copy is carried while it is younger than ``max_age_days`` whole days: its age is the partition
  day minus the UTC day of its ``fetched_at`` (``carried_from`` when that is missing). With the default of 7
  each album and artist is looked up again once a week; ``0`` looks them all up every day. A copy dated
  after the partition day (possible only when a past day is re-crawled on purpose) is not carried.
* **One look-back day is enough.** The previous partition holds every album and artist it needed, fresh or
  carried, and a carried copy keeps its original ``fetched_at``; so the latest earlier partition knows the
  age of every copy there is. An album not needed yesterday but needed today counts as new.
* **What is carried is a whole response.** Development mode looks each album and artist up on its own, so
  each id is carried or looked up on its own. Extended mode's batch look-ups (``/albums?ids=`` of 20) are
  carried only as a whole: when every album the batch answered for is needed again today (an album that
  left the library would otherwise come back as a row). Albums of a batch that cannot be carried are looked
  up with the new ones. Copying entries out of a batch into new single-album envelopes would not be
  verbatim, so that is never done.
* **Extended mode looks artists up every day**, because their popularity and followers change daily
  (``/artists?ids=`` of 50 is cheap); albums there follow the rules above.
* Only responses of today's kind are carried (batches in extended mode, single look-ups in development
  mode), with status 200 and exactly the objects they were asked for; anything else is looked up again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qs

import orjson

from ... import settings
from ..ids import artist_ids, is_spotify_id

CARRIED_SOURCES = ("albums", "artists")


def max_age_days(value: int | None = None) -> int:
    """The maximum age of a carried copy in days: ``value`` when given (the run's config), else the setting
    ``SPOTIFY_FULL_COPY_MAX_AGE_DAYS`` (default 7). ``0`` disables carrying albums and artists. Raises
    ``ValueError`` for a negative value (a bad setting is a ConfigurationError naming it)."""
    if value is None:
        value = settings.load().full_copy_max_age_days
    if value < 0:
        raise ValueError(f"the maximum age of a carried album/artist copy must be >= 0 days, not {value}")
    return value


def _fetched_on(envelope: dict) -> date | None:
    for key in ("fetched_at", "carried_from"):
        value = envelope.get(key)
        if isinstance(value, str) and len(value) >= 10:
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                continue
    return None


@dataclass(frozen=True, eq=False)
class FullCopy:
    """One previous look-up response of albums or artists that could be carried over."""

    source: str  # "albums" | "artists"
    ids: tuple[str, ...]  # the ids it answered for, in request order
    batch: bool  # an extended-mode ``?ids=`` batch, else a single look-up
    fetched_on: date
    line: bytes  # the envelope as JSON: bytes take a fifth of the memory of the parsed objects
    artist_ids: tuple[str, ...] = ()  # album copies: the artists of its albums, in order

    def age_days(self, today: date) -> int:
        return (today - self.fetched_on).days

    def envelope(self) -> dict:
        """The envelope to write today: verbatim, plus ``carried_from`` (kept if it already had one)."""
        env = orjson.loads(self.line)
        env.setdefault("carried_from", self.fetched_on.isoformat())
        return env

    @classmethod
    def parse(cls, source: str, envelope: dict) -> FullCopy | None:
        """The copy a previous ``albums``/``artists`` envelope offers, or None if it offers none."""
        if source not in CARRIED_SOURCES or not isinstance(envelope, dict) or envelope.get("status") != 200:
            return None
        request, body = envelope.get("request"), envelope.get("body")
        fetched_on = _fetched_on(envelope)
        if not isinstance(request, str) or not isinstance(body, dict) or fetched_on is None:
            return None
        path, _, query = request.partition("?")
        parts = path.rstrip("/").split("/")
        if parts[-1] == source:  # /v1/albums?ids=a,b,c
            ids = tuple(",".join(parse_qs(query).get("ids", [])).split(","))
            objects = body.get(source)
            batch = True
        elif len(parts) >= 2 and parts[-2] == source:  # /v1/albums/a
            ids, objects, batch = (parts[-1],), [body], False
        else:
            return None
        if not all(is_spotify_id(i) for i in ids) or not isinstance(objects, list) or len(objects) != len(ids):
            return None
        if not all(isinstance(o, dict) and o.get("id") == i for o, i in zip(objects, ids, strict=True)):
            return None  # a null entry, or not the objects asked for: look them up again
        artists = tuple(a for o in objects for a in artist_ids(o.get("artists"))) if source == "albums" else ()
        return cls(source, ids, batch, fetched_on, orjson.dumps(envelope), artists)


class PreviousCopies:
    """The album and artist copies of the previous partition, collected from its envelopes."""

    def __init__(self) -> None:
        self._copies: dict[str, list[FullCopy]] = {s: [] for s in CARRIED_SOURCES}

    def add(self, source: str, envelope: dict) -> None:
        copy = FullCopy.parse(source, envelope)
        if copy is not None:
            self._copies[source].append(copy)

    def of(self, source: str, *, batch: bool) -> list[FullCopy]:
        return [c for c in self._copies[source] if c.batch == batch]


@dataclass
class CarryCounts:
    """What happened to the ids of one source, for the report and the log."""

    carried: int = 0  # ids answered by a carried copy
    copies_carried: int = 0  # envelopes carried
    new: int = 0  # looked up: no previous copy
    stale: int = 0  # looked up: the previous copy was too old (or dated after the partition)
    partial: int = 0  # looked up: its batch was not needed again as a whole
    ages: list[int] = field(default_factory=list)  # age in days of each carried copy

    def describe(self, fetched: str) -> str:
        ages = ""
        if self.ages:
            lo, hi = min(self.ages), max(self.ages)
            ages = f" (copies {lo if lo == hi else f'{lo}-{hi}'} day{'' if hi == 1 else 's'} old)"
        looked = self.new + self.stale + self.partial
        why = [f"{n} {what}" for n, what in ((self.new, "new"), (self.stale, "with a copy too old"),
                                              (self.partial, "from a batch not needed as a whole")) if n]
        return (f"{self.carried} carried in {self.copies_carried} responses{ages}, {looked} {fetched}"
                + (f" ({', '.join(why)})" if why else ""))


class Carrier:
    """Decides, id by id in the crawl's discovery order, whether today's look-up of one kind (albums or
    artists) is answered by a previous copy.

    ``covers(id)`` says whether a usable copy answers for the id; if not, the crawl looks it up. If so,
    ``take(id)`` marks it needed and returns the copy once every id of that copy is needed (for a single
    look-up: at once); the crawl then writes the copy. Ids of batches that never complete come back from
    ``leftovers()`` at the end, in discovery order, to be looked up.
    """

    def __init__(self, copies: Iterable[FullCopy], *, today: date, max_age_days: int) -> None:
        self.counts = CarryCounts()
        self._today = today
        usable, self._stale_ids = [], set()
        for c in copies:
            if 0 <= c.age_days(today) < max_age_days:
                usable.append(c)
            else:
                self._stale_ids.update(c.ids)
        # Each id is answered by one copy: the latest (first of equals) wins, and a copy some of whose ids
        # went to a later one can never be carried whole, so it is dropped (its ids are looked up).
        usable.sort(key=lambda c: c.fetched_on, reverse=True)
        self._copy_of: dict[str, FullCopy] = {}
        self._missing: dict[FullCopy, set[str]] = {}  # copies hash by identity
        claimed: set[str] = set()
        for c in usable:
            if claimed.isdisjoint(c.ids):
                for i in c.ids:
                    self._copy_of[i] = c
                self._missing[c] = set(c.ids)
            claimed.update(c.ids)
        self._known = claimed | self._stale_ids
        self._held: list[str] = []

    def covers(self, ident: str) -> bool:
        if ident in self._copy_of:
            return True
        if ident in self._stale_ids:
            self.counts.stale += 1
        elif ident in self._known:
            self.counts.partial += 1
        else:
            self.counts.new += 1
        return False

    def take(self, ident: str) -> FullCopy | None:
        copy = self._copy_of[ident]
        missing = self._missing[copy]
        missing.discard(ident)
        self._held.append(ident)
        if missing:
            return None
        self.counts.carried += len(copy.ids)
        self.counts.copies_carried += 1
        self.counts.ages.append(copy.age_days(self._today))
        return copy

    def leftovers(self) -> list[str]:
        """Ids taken whose copy never completed, in the order they were taken; counted as looked up."""
        out = [i for i in self._held if self._missing[self._copy_of[i]]]
        self.counts.partial += len(out)
        self._held = []
        return out


# ------------------------------------------------------------------------------------------------- playlists
@dataclass
class PreviousPlaylist:
    """A playlist as the previous partition has it: its ``snapshot_id`` and its item page envelopes."""

    snapshot_id: str | None = None
    pages: dict[str, dict] = field(default_factory=dict)  # request -> envelope


def parse_playlist_request(request: str) -> tuple[str | None, str | None, dict]:
    """``/v1/playlists/ID/tracks?limit=..`` -> ("ID", "tracks", {"limit": "100", ...})."""
    path, _, query = request.partition("?")
    parts = path.strip("/").split("/")
    try:
        i = parts.index("playlists")
    except ValueError:
        return None, None, {}
    pid = parts[i + 1] if len(parts) > i + 1 else None
    kind = parts[i + 2] if len(parts) > i + 2 else None
    return pid, kind, {k: v[0] for k, v in parse_qs(query).items()}


def index_previous(previous: Iterable[tuple[str, dict]] | None) -> dict[str, PreviousPlaylist]:
    """The previous partition's playlists by id, from its ``playlists`` and ``playlist_items`` records."""
    out: dict[str, PreviousPlaylist] = {}
    for source, env in previous or ():
        if source not in ("playlists", "playlist_items") or not isinstance(env, dict):
            continue
        pid, kind, _ = parse_playlist_request(str(env.get("request", "")))
        if not pid:
            continue
        prev = out.setdefault(pid, PreviousPlaylist())
        if source == "playlists" and kind is None:
            body = env.get("body")
            prev.snapshot_id = body.get("snapshot_id") if env.get("status") == 200 and isinstance(body, dict) \
                else None
        elif source == "playlist_items" and kind is not None:
            prev.pages[env["request"]] = env
    return out


def _pages_to_carry(prev: PreviousPlaylist, endpoint: str, limit: int,
                    offsets: list[int] | None) -> list[dict] | None:
    """Previous item envelopes to carry over, or None if they do not cover today's plan: the pages at
    ``offsets`` of today's ``endpoint`` (``None``: no page was embedded today, so the previous partition
    must hold the answer to the probe of the first page and every page after it)."""
    same_kind: dict[int, dict] = {}
    terminal: list[dict] = []
    for request, env in prev.pages.items():
        _, kind, query = parse_playlist_request(request)
        if kind != endpoint:
            continue
        if env.get("status") == 200:
            try:
                same_kind[int(query.get("offset", 0))] = env
            except ValueError:
                continue
        elif env.get("status") in (403, 404):
            terminal.append(env)
    if offsets is None:  # no embedded items today: previous must have the answer for the probe
        if terminal and not same_kind:
            return terminal
        if 0 in same_kind:
            got = same_kind[0].get("body") or {}
            total = int(got.get("total") or 0) if isinstance(got, dict) else 0
            rest = range(len(got.get("items") or []) if isinstance(got, dict) else 0, total, limit)
            if all(o in same_kind for o in rest):
                return [same_kind[o] for o in sorted(same_kind)]
        return None
    if all(o in same_kind for o in offsets):
        return [same_kind[o] for o in offsets]
    return None


# ------------------------------------------------------------------------------------------------- the crawl's
def split_previous(previous: Iterable[tuple[str, dict]] | None) -> tuple[dict[str, PreviousPlaylist],
                                                                         PreviousCopies]:
    """The previous partition's playlists and its album/artist copies, in one pass (``previous`` may be a
    stream read from the lake)."""
    copies = PreviousCopies()

    def playlist_records() -> Iterator[tuple[str, dict]]:
        for source, env in previous or ():
            if source in CARRIED_SOURCES:
                copies.add(source, env)
            else:
                yield source, env

    return index_previous(playlist_records()), copies


class Carrying:
    """Everything one crawl carries over: it writes the carried envelopes (through ``write``, which counts
    them as records) and counts them per source for the report.

    Until :meth:`start` knows the quota mode, nothing is carried."""

    def __init__(self, playlists: dict[str, PreviousPlaylist], copies: PreviousCopies, *,
                 write: Callable[[str, dict], None], today: date, max_age_days: int) -> None:
        self._playlists = playlists
        self._copies = copies
        self._write = write
        self.today = today
        self.max_age_days = max_age_days
        self.carried: Counter[str] = Counter()  # envelopes carried over, per source
        self.albums = self.artists = Carrier((), today=today, max_age_days=0)

    def start(self, mode: str) -> None:
        """Set up the album and artist carriers for the quota mode (which decides what a copy is)."""
        batch = mode == "extended"
        self.albums = Carrier(self._copies.of("albums", batch=batch), today=self.today,
                              max_age_days=self.max_age_days)
        # extended mode looks artists up every day: their popularity and followers change daily
        self.artists = Carrier(() if batch else self._copies.of("artists", batch=False), today=self.today,
                               max_age_days=self.max_age_days)

    def playlist_pages(self, pid: str, snapshot_id: object, endpoint: str, limit: int,
                       offsets: list[int] | None) -> list[dict] | None:
        """Carry an unchanged playlist's item pages: the previous envelopes written (in page order), or None
        when the playlist changed or the previous partition does not cover today's plan (fetch them)."""
        prev = self._playlists.get(pid)
        if prev is None or not prev.snapshot_id or prev.snapshot_id != snapshot_id:
            return None
        pages = _pages_to_carry(prev, endpoint, limit, offsets)
        for env in pages or ():
            out = dict(env)
            out.setdefault("carried_from", str(env.get("fetched_at", ""))[:10])
            self._write("playlist_items", out)
            self.carried["playlist_items"] += 1
        return pages

    def copy(self, copy: FullCopy) -> None:
        """Write a previous look-up response into today's partition instead of looking it up."""
        self._write(copy.source, copy.envelope())
        self.carried[copy.source] += 1

    def log_summary(self, logger: logging.Logger, mode: str, artists_fetched: int) -> None:
        if self.max_age_days == 0:
            logger.info("spotify crawl: albums and artists all looked up (carrying them over is off: "
                        "maximum copy age 0 days)")
            return
        albums = self.albums.counts.describe("looked up")
        if mode == "extended":
            artists = f"{artists_fetched} looked up (every day in extended mode)"
        else:
            artists = self.artists.counts.describe("looked up")
        logger.info("spotify crawl: copies younger than %d days carried over from the previous partition; "
                    "albums: %s; artists: %s", self.max_age_days, albums, artists)
