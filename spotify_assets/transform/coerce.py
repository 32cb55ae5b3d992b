"""Coercion of the API's loosely typed values into the tables' exact types.

Every function raises :class:`Bad` (with a human-readable reason) when a value has the wrong type;
callers turn that into a quarantine record for the smallest enclosing unit (item, track, album, …).

Decisions (documented here and in the pipeline docstring):

* Integers: ints pass; floats with an integral value (``204053.0``) and numeric strings, including
  E-notation (``"2.3024383E7"``), become ints; booleans, fractional or non-finite numbers, other strings
  and values outside int64 (every int column is int64: ``9223372036854775808``, ``"1e30"``) are ``Bad``.
  A float of magnitude 2**63 or more is out of range even when it rounds into it: JSON parsers read
  integer literals beyond int64 as floats, so ``-9223372036854775809`` must not become int64's minimum.
* Release dates: ``"1983"`` → 1983-01-01 (``year``), ``"2007-03"`` → 2007-03-01 (``month``),
  ``"2007-03-15"`` (``day``). ``"0000"`` (taken-down items) and strings that are not a valid calendar
  date give a null date (the row is kept, the verbatim string goes to ``release_date_raw``); the
  precision is the reported one when valid, else inferred from the string's shape, else null.
* Timestamps: ISO-8601 (``Z`` or offset) → microseconds since the epoch, UTC. ``added_at`` of exactly
  the epoch (1970-01-01T00:00:00Z, Spotify's placeholder on its own playlists) becomes null ("unknown").
"""

from __future__ import annotations

import datetime as _dt
import re

_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)

SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
"""A Spotify base62 ID (tracks, albums, artists, playlists, episodes): exactly 22 base62 characters."""

_is_id = SPOTIFY_ID.fullmatch

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_FLOAT_LIMIT = float(1 << 63)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
PRECISIONS = frozenset(("year", "month", "day"))


class Bad(Exception):
    """A value that cannot be coerced; ``args[0]`` is the reason recorded in quarantine."""

    @property
    def reason(self) -> str:
        return self.args[0]


def spotify_id(v, what: str = "id") -> str:
    """A valid Spotify ID or ``Bad`` (missing, wrong type or not base62/22)."""
    if type(v) is str and _is_id(v):
        return v
    if v is None:
        raise Bad(f"missing {what}")
    raise Bad(f"invalid {what}: {str(v)[:60]!r}")


def opt_id(v, what: str = "id") -> str | None:
    return None if v is None else spotify_id(v, what)


def to_int(v, what: str = "integer") -> int | None:
    """An int64 (or None) from an int, an integral float or a decimal number string; ``Bad`` otherwise."""
    t = type(v)
    if t is int:
        if INT64_MIN <= v <= INT64_MAX:
            return v
        raise Bad(f"{what} is out of the int64 range: {short_number(v)}")
    if v is None:
        return None
    if t is float:
        return _float_to_int(v, what, repr(v))
    if t is str:
        s = v.strip()
        if not _NUMBER.fullmatch(s):  # int()/float() would also take "1_000", "nan", "١٢" …
            raise Bad(f"{what} is not a number: {v[:40]!r}")
        try:
            return to_int(int(s), what)
        except ValueError:
            return _float_to_int(float(s), what, repr(v[:40]))
    raise Bad(f"{what} has type {t.__name__}, expected integer")


def _float_to_int(f: float, what: str, shown: str) -> int:
    if -_FLOAT_LIMIT < f < _FLOAT_LIMIT:  # (False for NaN)
        if f.is_integer():
            return int(f)
        raise Bad(f"{what} is not an integer: {shown}")
    raise Bad(f"{what} is out of the int64 range: {shown}" if f == f else f"{what} is not an integer: {shown}")


def short_number(n: int) -> str:
    """``n`` for a message: at most 40 characters."""
    text = str(n)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} digits)"


def to_str(v, what: str = "string") -> str | None:
    if v is None or type(v) is str:
        return v
    raise Bad(f"{what} has type {type(v).__name__}, expected string")


def to_bool(v, what: str = "boolean") -> bool | None:
    if v is None or v is True or v is False:
        return v
    raise Bad(f"{what} has type {type(v).__name__}, expected boolean")


def to_dict(v, what: str) -> dict | None:
    if v is None or type(v) is dict:
        return v
    raise Bad(f"{what} has type {type(v).__name__}, expected object")


def to_list(v, what: str) -> list | None:
    if v is None or type(v) is list:
        return v
    raise Bad(f"{what} has type {type(v).__name__}, expected array")


_date_cache: dict[str, tuple[int | None, str | None]] = {}


def release_date(value, precision) -> tuple[int | None, str | None]:
    """``(days since epoch or None, precision or None)`` for an album's release date.

    Wrong *types* are ``Bad``; well-typed but meaningless values ("0000", "2007-13") give a null date.
    """
    if precision is not None and type(precision) is not str:
        _bad_precision(precision)
    if value is None:
        return None, precision if precision in PRECISIONS else None
    if type(value) is not str:
        raise Bad(f"release_date has type {type(value).__name__}, expected string")
    key = value
    hit = _date_cache.get(key)
    if hit is None:
        hit = _parse_release_date(value)
        if len(_date_cache) < 200_000:
            _date_cache[key] = hit
    days, shape = hit
    prec = precision if precision in PRECISIONS else shape
    return days, prec


def _bad_precision(p):
    raise Bad(f"release_date_precision has type {type(p).__name__}, expected string")


def _parse_release_date(s: str) -> tuple[int | None, str | None]:
    parts = s.split("-")
    shape = {1: "year", 2: "month", 3: "day"}.get(len(parts))
    try:
        y = int(parts[0])
        m = int(parts[1]) if len(parts) > 1 else 1
        d = int(parts[2]) if len(parts) > 2 else 1
        if len(parts) > 3 or y < 1:
            return None, shape
        return _dt.date(y, m, d).toordinal() - _EPOCH_ORDINAL, shape
    except (ValueError, IndexError):
        return None, shape


def timestamp_us(v, what: str = "timestamp", *, epoch_is_null: bool = False) -> int | None:
    """ISO-8601 string → microseconds since the epoch (UTC); ``Bad`` when unparseable."""
    if v is None:
        return None
    if type(v) is not str:
        raise Bad(f"{what} has type {type(v).__name__}, expected string")
    try:
        t = _dt.datetime.fromisoformat(v)
    except ValueError:
        raise Bad(f"{what} is not an ISO-8601 timestamp: {v[:40]!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    us = (t - _EPOCH) // _dt.timedelta(microseconds=1)
    if epoch_is_null and us == 0:
        return None
    return us


def fetched_rank(v) -> int:
    """Seconds since the epoch of an envelope's ``fetched_at`` (0 when absent or unparseable)."""
    try:
        us = timestamp_us(v)
    except Bad:
        return 0
    return 0 if us is None else us // 1_000_000
