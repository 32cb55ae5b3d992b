"""The record-by-record path of the streams table: one landed record → a candidate row, or a quarantine
reason. The reference for every rule (the Arrow path, :mod:`.fast`, takes only files where all of its
records take this path's happy branch).

Quarantine reasons: not a JSON object; ``ts``/``endTime`` missing, not an ISO 8601 timestamp, outside
2006–2099; ``ms_played``/``msPlayed`` missing, not an integer, negative; a URI that is not
``spotify:<type>:<22-character id>``; a text or boolean field of another type. An empty ``reason_start`` or
``reason_end`` is no reason (null); ``offline_timestamp`` is milliseconds or seconds, told apart by its
magnitude, and 0 means not offline. ``kind``: a track URI, or no URI at all but a track or artist name,
makes a track; then an episode URI or name or show; then a chapter or audiobook URI or title; else unknown
(removed content; account data names it "Unknown Artist" / "Unknown Track"). The oldest account data (``StreamingHistory<n>.json``) mixes podcasts into the music:
``track_or_episode``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from hashlib import sha256

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..lake.gzip_stream import GzipDamage
from ..lake.raw import read_line_blocks
from ..lake.storage import Lake
from ..tables.history import STREAMS
from ..transform.coerce import Bad, timestamp_us, to_int, to_str
from .platforms import platform_family

_URI = re.compile(r"spotify:([a-z_]+):([0-9A-Za-z]{22})")
MIN_ENDED_AT_US = timestamp_us("2006-01-01T00:00:00Z")  # Spotify was founded in 2006
MAX_ENDED_AT_US = timestamp_us("2100-01-01T00:00:00Z")
_MINUTE_US = 60_000_000

_COLUMNS = [c.name for c in STREAMS.columns]
# A candidate row: STREAMS' columns, then two names keys the exclusions need (see .streams): the names of a
# record without URIs (null when it has one), and the names of every record ("" for unknown content).
CANDIDATE_SCHEMA = pa.schema([*STREAMS.schema, pa.field("_names_unless_uri", pa.string()),
                              pa.field("_names", pa.string())])


class _Reject(Exception):
    pass


def names_key(a: str | None, b: str | None) -> str:
    """The names of a stream compared across exports: (artist, track), (show, episode) or (book, chapter),
    trimmed and case-folded."""
    return f"{(a or '').strip().casefold()}\x1f{(b or '').strip().casefold()}"


def read_file(lake: Lake, entry: dict, export_id: str, occurrences: Counter) -> tuple[pa.Table, list[dict], int]:
    """``(candidate rows, quarantine records, lines read)`` of one landed raw file; a damaged or missing raw
    file gives what it can (the caller counts the rest as unreadable). ``occurrences``: the account-data
    identities already seen in this export."""
    rows, quarantine = [], []
    generation, content = entry["generation"], entry["content"]
    lines = 0
    try:
        for block in read_line_blocks(lake, entry["raw_file"]):
            for data in block:
                if not data.strip():
                    continue
                lines += 1
                row = _read_record(data, lines, entry, export_id, generation, content, occurrences, quarantine)
                if row is not None:
                    rows.append(row)
    except (GzipDamage, FileNotFoundError):
        pass  # the lines before the damage were read
    return rows_table(rows), quarantine, lines


def quarantine_record(reason: str, entry: dict, line: int | None, record, export_id: str,
                      problem: dict | None = None) -> dict:
    return {
        "table": "streams", "reason": reason, "raw_file": entry["raw_file"], "raw_line": line, "request": None,
        "record": record, "export_id": export_id, "source_file": entry["path"],
        **({"problem": problem} if problem else {}),
    }


def _read_record(data: bytes, line: int, entry: dict, export_id: str, generation: str, content: str,
                 occurrences: Counter, quarantine: list) -> tuple | None:
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError:
        quarantine.append(quarantine_record("not JSON (the raw line was altered after landing)", entry, line, None,
                                            export_id))
        return None
    if type(record) is not dict:
        quarantine.append(quarantine_record(f"not a JSON object but a JSON {type(record).__name__}", entry, line,
                                            None, export_id))
        return None
    try:
        if generation == "account_data":
            values, identity, uri_less, names = _account_data_row(record, content, occurrences)
        else:
            values, identity, uri_less, names = _extended_row(record, content == "video")
    except (Bad, _Reject) as e:
        quarantine.append(quarantine_record(e.args[0], entry, line, record, export_id))
        return None
    stream_id = sha256(identity.encode()).hexdigest()[:16]
    return (stream_id, *values, generation, export_id, entry["path"], uri_less, names)


# The row a record becomes: STREAMS' columns in order — stream_id, then the values below, then generation,
# export_id, source_file — followed by two hidden names keys (see streams._keep_each_stream_once). ``dt`` is filled from
# ended_at when the table is built.
_VALUES = ("ended_at", "ended_at_precision", "started_at", "dt", "ms_played", "kind", "track_id", "episode_id",
           "audiobook_id", "audiobook_chapter_id", "track_name", "artist_name", "album_name", "episode_name",
           "show_name", "audiobook_title", "audiobook_chapter_title", "video", "platform", "platform_family",
           "country", "reason_start", "reason_end", "shuffle", "skipped", "offline", "offline_at", "incognito_mode")
assert ("stream_id", *_VALUES, "generation", "export_id", "source_file") == tuple(_COLUMNS)

_TEXTS = ("master_metadata_track_name", "master_metadata_album_artist_name", "master_metadata_album_album_name",
          "episode_name", "episode_show_name", "audiobook_title", "audiobook_chapter_title", "platform",
          "conn_country", "reason_start", "reason_end")
_BOOLS = ("shuffle", "skipped", "offline", "incognito_mode")
_fromisoformat = dt.datetime.fromisoformat
_UTC = dt.UTC


def _ended_at(value, what: str, *, minute: bool = False) -> int:
    """Microseconds since the epoch of an ISO 8601 ``ts``/``endTime`` (UTC when it says no zone)."""
    if type(value) is not str:
        raise _Reject(f"{what} missing" if value is None else f"{what} has type {type(value).__name__}, expected string")
    try:
        t = _fromisoformat(value)
    except ValueError:
        raise _Reject(f"{what} is not an ISO-8601 timestamp: {value[:40]!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=_UTC)
    us = int(t.timestamp()) * 1_000_000 + t.microsecond
    if not MIN_ENDED_AT_US <= us < MAX_ENDED_AT_US:
        raise _Reject(f"{what} outside 2006-2099: {value[:40]!r}")
    return us - us % _MINUTE_US if minute else us


def _ms_played(value, what: str) -> int:
    ms = value if type(value) is int else to_int(value, what)
    if ms is None:
        raise _Reject(f"{what} missing")
    if ms < 0:
        raise _Reject(f"{what} is negative: {ms}")
    return ms


def _uri_id(value, what: str) -> str | None:
    """The id of a Spotify URI field (an empty string counts as absent)."""
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise _Reject(f"{what} has type {type(value).__name__}, expected string")
    m = _URI.fullmatch(value)
    if m is None:
        raise _Reject(f"{what} is not a Spotify URI (spotify:<type>:<22-character id>): {value[:60]!r}")
    return m.group(2)


def _offline_at(value) -> int | None:
    n = value if type(value) is int else to_int(value, "offline_timestamp")
    if not n or n < 0:
        return None
    # milliseconds in the endsong_* generation, seconds in newer files: told apart by magnitude (1e11 s is
    # the year 5138, 1e11 ms is 1973)
    return n * 1000 if n > 100_000_000_000 else n * 1_000_000


def _extended_row(r: dict, video: bool) -> tuple[tuple, str, str | None, str]:
    get = r.get
    ended = _ended_at(get("ts"), "ts")
    ms = _ms_played(get("ms_played"), "ms_played")
    track_uri, episode_uri = get("spotify_track_uri"), get("spotify_episode_uri")
    book_uri, chapter_uri = get("audiobook_uri"), get("audiobook_chapter_uri")
    track_id = _uri_id(track_uri, "spotify_track_uri") if track_uri is not None else None
    episode_id = _uri_id(episode_uri, "spotify_episode_uri") if episode_uri is not None else None
    book_id = _uri_id(book_uri, "audiobook_uri") if book_uri is not None else None
    chapter_id = _uri_id(chapter_uri, "audiobook_chapter_uri") if chapter_uri is not None else None
    texts = [get(k) for k in _TEXTS]
    for key, v in zip(_TEXTS, texts, strict=True):
        if v is not None and type(v) is not str:
            raise _Reject(f"{key} has type {type(v).__name__}, expected string")
    track_name, artist_name, album, episode_name, show, book, chapter, platform, country, start, end = texts
    flags = [get(k) for k in _BOOLS]
    for key, v in zip(_BOOLS, flags, strict=True):
        if v is not None and v is not True and v is not False:
            raise _Reject(f"{key} has type {type(v).__name__}, expected boolean")
    offline_ts = get("offline_timestamp")
    if track_id or (not episode_id and not chapter_id and (track_name or artist_name)):
        kind, names = "track", names_key(artist_name, track_name)
    elif episode_id or episode_name or show:
        kind, names = "episode", names_key(show, episode_name)
    elif chapter_id or book_id or book or chapter:
        kind, names = "audiobook_chapter", names_key(book, chapter)
    else:
        kind, names = "unknown", ""
    values = (ended, "second", ended - ms * 1000, None, ms, kind, track_id, episode_id, book_id, chapter_id,
              track_name, artist_name, album, episode_name, show, book, chapter, video, platform,
              platform_family(platform), country, start or None, end or None,  # "" (real exports) is no reason
              flags[0], flags[1], flags[2], _offline_at(offline_ts) if offline_ts else None, flags[3])
    uri = (track_uri if track_id else None) or (episode_uri if episode_id else None) or \
        (chapter_uri if chapter_id else None)
    content = uri or (f"names:{kind}:{names}" if names else "unknown")
    return values, f"s|{ended}|{ms}|{content}", (names if uri is None else None), names


_ACCOUNT_DATA_KINDS = {
    "music": ("track", "artistName", "trackName"),
    "podcast": ("episode", "podcastName", "episodeName"),
    "audiobook": ("audiobook_chapter", "audiobookName", "chapterName"),
    "mixed": ("track_or_episode", "artistName", "trackName"),
}


# How account data names removed content (the extended history leaves every metadata field null).
_REMOVED = ("Unknown Artist", "Unknown Track")


def _account_data_row(r: dict, content: str, occurrences: Counter) -> tuple[tuple, str, None, str]:
    ended = _ended_at(r.get("endTime"), "endTime", minute=True)
    ms = _ms_played(r.get("msPlayed"), "msPlayed")
    kind, first, second = _ACCOUNT_DATA_KINDS[content]
    a, b = to_str(r.get(first), first), to_str(r.get(second), second)
    if (a, b) == _REMOVED:
        a = b = None
    if not a and not b:
        kind = "unknown"
    names = names_key(a, b) if kind != "unknown" else ""  # as removed content of the extended history
    track = artist = episode = show = book = chapter = None
    if kind == "episode":
        show, episode = a, b
    elif kind == "audiobook_chapter":
        book, chapter = a, b
    else:
        artist, track = a, b
    values = (ended, "minute", ended - ms * 1000, None, ms, kind, None, None, None, None, track, artist, None,
              episode, show, book, chapter, False, None, None, None, None, None, None, None, None, None, None)
    identity = f"m|{ended}|{ms}|{names}"
    occurrences[identity] += 1
    return values, f"{identity}#{occurrences[identity]}", None, names


def rows_table(rows: list[tuple]) -> pa.Table:
    """Candidate rows (tuples in CANDIDATE_SCHEMA's order, ``dt`` still empty) as a table."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(CANDIDATE_SCHEMA)
    arrays = []
    for values, f in zip(columns, CANDIDATE_SCHEMA, strict=True):
        arrays.append(pa.array(values, type=pa.int64()).cast(f.type) if pa.types.is_timestamp(f.type)
                      else pa.array(values, type=f.type) if f.name != "dt" else None)
    del columns
    ended = arrays[_COLUMNS.index("ended_at")]
    arrays[_COLUMNS.index("dt")] = pc.strftime(ended, format="%Y-%m-%d") if len(ended) else pa.array([], pa.string())
    return pa.Table.from_arrays(arrays, schema=CANDIDATE_SCHEMA)
