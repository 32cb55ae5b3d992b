"""The incremental part of the crawl: album and artist copies carried over from the previous partition.

An album or artist barely changes from one day to the next, and in development mode each costs one
request (no batch look-ups there). So the crawl looks one up only when it is new or its last full copy is
too old, and otherwise writes that copy into today's raw zone again, the way unchanged playlists' item
pages are carried: the verbatim previous envelope plus ``"carried_from": "YYYY-MM-DD"`` (the day it was
originally fetched), keeping its original ``fetched_at``. Every day's partition stays complete, and a
copy's age is always known, so the transform's "latest wins" ranking stays honest.

The rules:

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

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qs

import orjson

from .ids import artist_ids, is_spotify_id

MAX_AGE_ENV = "SPOTIFY_FULL_COPY_MAX_AGE_DAYS"
DEFAULT_MAX_AGE_DAYS = 7
CARRIED_SOURCES = ("albums", "artists")


def max_age_days(value: int | None = None, env: dict[str, str] | None = None) -> int:
    """The maximum age of a carried copy in days: ``value`` when given, else ``SPOTIFY_FULL_COPY_MAX_AGE_DAYS``,
    else 7. ``0`` disables carrying albums and artists. Raises ``ValueError`` for a negative or non-integer value."""
    if value is None:
        raw = (os.environ if env is None else env).get(MAX_AGE_ENV, "").strip()
        try:
            value = int(raw) if raw else DEFAULT_MAX_AGE_DAYS
        except ValueError:
            raise ValueError(f"{MAX_AGE_ENV}={raw!r} is not a whole number of days") from None
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
