"""Plays in the raw zone: where a run's recently-played answers land, and the cursor of the next run.

``GET /me/player/recently-played`` only remembers the user's last 50 plays, so plays are fetched often (the
``raw_plays`` asset's cron, hourly by default; the fetch is :mod:`spotify_assets.spotify.plays`) and every run must
land exactly the plays the lake does not hold yet:

* **Cursor** (:func:`plays_cursor`): the newest play already landed — in the latest ``raw/plays/dt=…``
  partition that holds a file, the newest play *of that day* (a file may also hold plays of the next day,
  see below, and those may not have landed in their own day's folder yet). No plays landed at all: no
  cursor, and the run takes the last 50 plays.
* **Land** (:func:`land_plays`): every answer holding plays is written verbatim (the raw zone records real
  responses, never a response cut in two) into the folder of each UTC day its plays were played on — one day
  usually, two for a run just after midnight — as one new file per run and day,
  ``plays-<first>-<last>.jsonl.gz``, named after that day's first and last play in it. Days are written
  oldest first, so a run that dies half-way leaves the cursor behind everything not landed, and the next
  run fetches it again.

The transform takes from a day's files the plays of that day only (the others are "played on another
day") and keeps one row per ``played_at`` — overlapping files (two runs at once) never duplicate a play.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from .paths import PLAYS_SOURCE, raw_file
from .raw import PLAYS_FILE_PREFIX, iter_raw_envelopes
from .storage import Lake

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def played_at_ms(value: Any) -> int | None:
    """``played_at`` (ISO 8601) as milliseconds since the epoch, UTC; None when it is not a timestamp."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return (t - _EPOCH) // timedelta(milliseconds=1)


def _day_of(ms: int) -> str:
    return (_EPOCH + timedelta(milliseconds=ms)).date().isoformat()


def _plays_of(body: Any) -> list[int]:
    """The ``played_at`` (ms) of the plays in a recently-played answer that have a readable one."""
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return []
    out = []
    for it in items:
        ms = played_at_ms(it.get("played_at")) if isinstance(it, dict) else None
        if ms is not None:
            out.append(ms)
    return out


def plays_cursor(lake: Lake) -> tuple[int | None, str | None]:
    """``(newest landed play in ms, the partition it was found in)``, or ``(None, None)`` when no play landed
    yet; see the module docstring."""
    for day in reversed(lake.list_partitions(f"raw/{PLAYS_SOURCE}")):
        own = [ms for env in iter_raw_envelopes(lake, PLAYS_SOURCE, day) if env.get("status") == 200
               for ms in _plays_of(env.get("body")) if _day_of(ms) == day]
        if own:
            return max(own), day
    return None, None


@dataclass
class LandedDay:
    """What one run wrote into one day's folder."""

    path: str
    plays: int  # plays of that day in the file
    responses: int
    bytes: int
    first_ms: int
    last_ms: int


@dataclass
class PlaysLanding:
    days: dict[str, LandedDay] = field(default_factory=dict)  # day -> file written, oldest day first

    @property
    def plays(self) -> int:
        return sum(d.plays for d in self.days.values())


def _stamp(ms: int) -> str:
    t = _EPOCH + timedelta(milliseconds=ms)
    return t.strftime("%Y%m%dT%H%M%S") + f"{ms % 1000:03d}Z"


def ms_iso(ms: int | None) -> str:
    """Milliseconds since the epoch as ISO 8601 (UTC), or "none"."""
    return "none" if ms is None else (_EPOCH + timedelta(milliseconds=ms)).isoformat(timespec="milliseconds")


def land_plays(lake: Lake, envelopes: list[dict], *, fallback_day: str) -> PlaysLanding:
    """Write the recently-played envelopes (``{"request", "status", "fetched_at", "body"}``) holding plays into
    the folders of the days they were played on (oldest day first); see the module docstring.

    An answer whose plays all lack a readable ``played_at`` goes to ``fallback_day`` (the run's), where the
    transform quarantines them."""
    by_day: dict[str, list[tuple[dict, list[int]]]] = {}
    for envelope in envelopes:
        body = envelope.get("body")
        items = body.get("items") if isinstance(body, dict) else None
        if envelope.get("status") != 200 or not isinstance(items, list) or not items:
            continue
        found = _plays_of(body)
        days = sorted({_day_of(ms) for ms in found}) or [fallback_day]
        for day in days:
            by_day.setdefault(day, []).append((envelope, [ms for ms in found if _day_of(ms) == day]))
    landing = PlaysLanding()
    for day in sorted(by_day):
        entries = by_day[day]
        own = sorted(ms for _, found in entries for ms in found)
        first, last = (own[0], own[-1]) if own else (0, 0)
        name = (f"{PLAYS_FILE_PREFIX}{_stamp(first)}-{_stamp(last)}" if own
                else f"{PLAYS_FILE_PREFIX}unreadable-{_stamp(_now_ms())}")
        data = gzip.compress(b"".join(orjson.dumps(envelope) + b"\n" for envelope, _ in entries), mtime=0)
        path = raw_file(PLAYS_SOURCE, day, name)
        lake.write_bytes(path, data)
        landing.days[day] = LandedDay(path, len(own), len(entries), len(data), first, last)
    return landing


def _now_ms() -> int:
    return (datetime.now(UTC) - _EPOCH) // timedelta(milliseconds=1)
