"""The raw zone's landed exports → the ``streams`` table, its quarantine and the accounting.

Every landed export is read (oldest landing first, then its files and lines in order) and every record
ends in exactly one place: a row, the quarantine (with its reason and origin), or an exclusion by reason:

    records_in = rows + quarantined + sum(excluded)           (checked: AccountingError otherwise)

where ``records_in`` counts what the export's files held (:mod:`.landing`: landed records plus the
problems — items that are not objects, the unreadable rest of a damaged file).

**Quarantined** (reason in the record): not a JSON object; a damaged file's rest; ``ts``/``endTime``
missing, not a timestamp, or outside 2006–2099; ``ms_played`` missing, not an integer or negative; a URI
that is not ``spotify:<type>:<22-character id>``; a field of the wrong type (text, boolean, number).

**The stream key** (``stream_id``): Spotify gives a stream no id. Its identity is its end (``ts``, to the
second), ``ms_played`` and its content: the URI (track, episode, chapter, in that order), or — for records
without one (the 2020-era files without URIs, removed content) — the names. Two records with the same
identity are one stream: the same export imported again, a newer export repeating the history, Spotify's
own exact duplicates. Where it can collide: two streams of the same content ending in the same second with
the same ``ms_played`` are counted once (a few hundred ms apart, both 0 ms: possible, rare). The account-data
format has minute precision, so its identity is the minute, ``msPlayed``, the names and the record's
occurrence among identical ones of its export (the same track twice in one minute is real and stays two).

**Excluded** (counted, not rows):

* ``duplicate``: the identity of a stream already read (the first one read is kept: re-importing never
  changes a row);
* ``covered by a record with URIs``: a record without URIs whose end, ``ms_played`` and names (case-folded)
  equal those of a record with URIs;
* ``covered by the extended history``: an account-data record whose minute, ``msPlayed`` and names equal
  those of an extended-history stream — count for count: two identical account-data records need two
  extended streams. Importing a basic and an extended export of the same period therefore keeps the
  extended rows (to the second, with URIs and platform) and only the account-data streams the extended
  history lacks.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from ..lake.gzip_stream import GzipDamage
from ..lake.raw import read_line_blocks
from ..lake.storage import Lake
from ..tables.history import STREAMS
from ..transform.coerce import Bad, timestamp_us, to_bool, to_int, to_str
from ..transform.records import AccountingError
from .landing import landed_exports
from .platforms import platform_family

_URI = re.compile(r"spotify:([a-z_]+):([0-9A-Za-z]{22})")
MIN_ENDED_AT_US = timestamp_us("2006-01-01T00:00:00Z")  # Spotify was founded in 2006
MAX_ENDED_AT_US = timestamp_us("2100-01-01T00:00:00Z")
_MINUTE_US = 60_000_000

EXCLUDED_DUPLICATE = "duplicate: the same stream was read before (same end, ms_played and content)"
EXCLUDED_COVERED_BY_URI = "covered by a record with URIs (same end, ms_played and names)"
EXCLUDED_COVERED_BY_EXTENDED = "covered by the extended history (same minute, ms_played and names)"
EXCLUDED_RAW_DAMAGED = "unreadable in the raw zone (damaged raw file: import the export again with reland)"

# the order of STREAMS' columns, as the rows below hold them
_COLUMNS = [c.name for c in STREAMS.columns]
_I = {name: i for i, name in enumerate(_COLUMNS)}


class _Reject(Exception):
    pass


@dataclass
class StreamsBuild:
    """The streams of every landed export, and what became of each record."""

    table: pa.Table  # STREAMS.schema, sorted by (ended_at, stream_id)
    quarantine: list[dict]
    accounting: dict
    exports: list[str]  # the export ids read, oldest landing first
    covered_ids: set[str] = field(default_factory=set)  # stream ids excluded as covered by better records

    @property
    def excluded(self) -> dict[str, int]:
        return self.accounting["excluded"]


@dataclass
class _State:
    rows: list = field(default_factory=list)
    ids: set = field(default_factory=set)
    quarantine: list = field(default_factory=list)
    excluded: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)


def build_streams(lake: Lake) -> StreamsBuild:
    """Read every landed export of ``lake`` into the streams table (see the module docstring)."""
    state = _State()
    per_export = {}
    manifests = landed_exports(lake)
    for manifest in manifests:
        per_export[manifest["export_id"]] = _read_export(lake, manifest, state)
    rows, covered = _exclude_covered(state)
    table = _to_table(rows)
    records_in = sum(e["records_in"] for e in per_export.values())
    accounting = {
        "records_in": records_in,
        "rows": table.num_rows,
        "quarantined": len(state.quarantine),
        "excluded": dict(sorted(state.excluded.items())),
        "quarantine_reasons": dict(state.reasons.most_common()),
        "exports": per_export,
    }
    if records_in != table.num_rows + len(state.quarantine) + sum(state.excluded.values()):
        raise AccountingError(
            f"streams: records in {records_in} != rows {table.num_rows} + quarantined {len(state.quarantine)} + "
            f"excluded {dict(state.excluded)}"
        )
    return StreamsBuild(table, state.quarantine, accounting, [m["export_id"] for m in manifests], covered)


def _read_export(lake: Lake, manifest: dict, state: _State) -> dict:
    export_id = manifest["export_id"]
    occurrences: Counter = Counter()  # account-data identities seen in this export
    counts = {"records_in": 0, "rows_read": 0, "quarantined": 0, "excluded": 0}
    for entry in manifest["files"]:
        counts["records_in"] += entry["records_in"]
        before = (len(state.rows), len(state.quarantine), sum(state.excluded.values()))
        for problem in entry["problems"]:
            _quarantine(state, problem["reason"], entry, None, None, export_id, problem)
        lines = 0
        generation, content = entry["generation"], entry["content"]
        try:
            for block in read_line_blocks(lake, entry["raw_file"]):
                for data in block:
                    if not data.strip():
                        continue
                    lines += 1
                    _read_record(state, data, lines, entry, export_id, generation, content, occurrences)
        except GzipDamage:
            pass  # the lines before the damage were read; the rest is counted below
        except FileNotFoundError:
            pass  # a raw file removed by hand: every record of it is counted as unreadable below
        if lines < entry["records_landed"]:
            state.excluded[EXCLUDED_RAW_DAMAGED] += entry["records_landed"] - lines
        after = (len(state.rows), len(state.quarantine), sum(state.excluded.values()))
        counts["rows_read"] += after[0] - before[0]
        counts["quarantined"] += after[1] - before[1]
        counts["excluded"] += after[2] - before[2]
    return counts


def _quarantine(state: _State, reason: str, entry: dict, line: int | None, record, export_id: str,
                extra: dict | None = None) -> None:
    state.quarantine.append({
        "table": "streams", "reason": reason, "raw_file": entry["raw_file"], "raw_line": line, "request": None,
        "record": record, "export_id": export_id, "source_file": entry["path"],
        **({"problem": extra} if extra else {}),
    })
    state.reasons[reason.split(":")[0].split(" (")[0]] += 1


def _read_record(state: _State, data: bytes, line: int, entry: dict, export_id: str, generation: str,
                 content: str, occurrences: Counter) -> None:
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError:
        _quarantine(state, "not JSON (the raw line was altered after landing)", entry, line, None, export_id)
        return
    if type(record) is not dict:
        _quarantine(state, f"not a JSON object but a JSON {type(record).__name__}", entry, line, None, export_id)
        return
    try:
        if generation == "account_data":
            row, identity = _account_data_row(record, content, occurrences)
        else:
            row, identity = _extended_row(record, generation, content == "video")
    except (Bad, _Reject) as e:
        _quarantine(state, e.args[0], entry, line, record, export_id)
        return
    stream_id = hashlib.sha256(identity.encode()).hexdigest()[:16]
    if stream_id in state.ids:
        state.excluded[EXCLUDED_DUPLICATE] += 1
        return
    state.ids.add(stream_id)
    row[_I["stream_id"]] = stream_id
    row[_I["generation"]] = generation
    row[_I["export_id"]] = export_id
    row[_I["source_file"]] = entry["path"]
    state.rows.append(row)


def _ended_at(value, what: str, *, minute: bool = False) -> int:
    if value is None:
        raise _Reject(f"{what} missing")
    try:
        us = timestamp_us(value, what)
    except Bad as e:
        raise _Reject(e.args[0]) from None
    if not MIN_ENDED_AT_US <= us < MAX_ENDED_AT_US:
        raise _Reject(f"{what} outside 2006-2099: {str(value)[:40]!r}")
    if minute:
        us -= us % _MINUTE_US
    return us


def _ms_played(value, what: str) -> int:
    ms = to_int(value, what)
    if ms is None:
        raise _Reject(f"{what} missing")
    if ms < 0:
        raise _Reject(f"{what} is negative: {ms}")
    return ms


def _uri_id(value, what: str) -> tuple[str | None, str | None]:
    """``(id, uri)`` of a Spotify URI field (an empty string counts as absent)."""
    if value is None or value == "":
        return None, None
    if type(value) is not str:
        raise _Reject(f"{what} has type {type(value).__name__}, expected string")
    m = _URI.fullmatch(value)
    if m is None:
        raise _Reject(f"{what} is not a Spotify URI (spotify:<type>:<22-character id>): {value[:60]!r}")
    return m.group(2), value


def _text(record: dict, key: str) -> str | None:
    return to_str(record.get(key), key)


def _reason(record: dict, key: str) -> str | None:
    return to_str(record.get(key), key) or None  # "" (seen in real exports) is no reason


def _names_key(a: str | None, b: str | None) -> str:
    return f"{(a or '').strip().casefold()}\x1f{(b or '').strip().casefold()}"


def _offline_at(value) -> int | None:
    n = to_int(value, "offline_timestamp")
    if not n or n < 0:
        return None
    # milliseconds in the endsong_* generation, seconds in newer files: told apart by magnitude (1e11 s is
    # the year 5138, 1e11 ms is 1973)
    return n * 1000 if n > 100_000_000_000 else n * 1_000_000


def _extended_row(r: dict, generation: str, video: bool) -> tuple[list, str]:
    ended = _ended_at(r.get("ts"), "ts")
    ms = _ms_played(r.get("ms_played"), "ms_played")
    track_id, track_uri = _uri_id(r.get("spotify_track_uri"), "spotify_track_uri")
    episode_id, episode_uri = _uri_id(r.get("spotify_episode_uri"), "spotify_episode_uri")
    audiobook_id, _ = _uri_id(r.get("audiobook_uri"), "audiobook_uri")
    chapter_id, chapter_uri = _uri_id(r.get("audiobook_chapter_uri"), "audiobook_chapter_uri")
    track_name, artist_name = _text(r, "master_metadata_track_name"), _text(r, "master_metadata_album_artist_name")
    episode_name, show_name = _text(r, "episode_name"), _text(r, "episode_show_name")
    book, chapter = _text(r, "audiobook_title"), _text(r, "audiobook_chapter_title")
    if track_id or (not episode_id and not chapter_id and (track_name or artist_name)):
        kind, names = "track", _names_key(artist_name, track_name)
    elif episode_id or episode_name or show_name:
        kind, names = "episode", _names_key(show_name, episode_name)
    elif chapter_id or audiobook_id or book or chapter:
        kind, names = "audiobook_chapter", _names_key(book, chapter)
    else:
        kind, names = "unknown", ""
    platform = _text(r, "platform")
    row = [None] * len(_COLUMNS)
    row[_I["ended_at"]] = ended
    row[_I["ended_at_precision"]] = "second"
    row[_I["started_at"]] = ended - ms * 1000
    row[_I["ms_played"]] = ms
    row[_I["kind"]] = kind
    row[_I["track_id"]] = track_id
    row[_I["episode_id"]] = episode_id
    row[_I["audiobook_id"]] = audiobook_id
    row[_I["audiobook_chapter_id"]] = chapter_id
    row[_I["track_name"]] = track_name
    row[_I["artist_name"]] = artist_name
    row[_I["album_name"]] = _text(r, "master_metadata_album_album_name")
    row[_I["episode_name"]] = episode_name
    row[_I["show_name"]] = show_name
    row[_I["audiobook_title"]] = book
    row[_I["audiobook_chapter_title"]] = chapter
    row[_I["video"]] = video
    row[_I["platform"]] = platform
    row[_I["platform_family"]] = platform_family(platform)
    row[_I["country"]] = _text(r, "conn_country")
    row[_I["reason_start"]] = _reason(r, "reason_start")
    row[_I["reason_end"]] = _reason(r, "reason_end")
    row[_I["shuffle"]] = to_bool(r.get("shuffle"), "shuffle")
    row[_I["skipped"]] = to_bool(r.get("skipped"), "skipped")
    row[_I["offline"]] = to_bool(r.get("offline"), "offline")
    row[_I["offline_at"]] = _offline_at(r.get("offline_timestamp"))
    row[_I["incognito_mode"]] = to_bool(r.get("incognito_mode"), "incognito_mode")
    uri = track_uri or episode_uri or chapter_uri
    content = uri or (f"names:{kind}:{names}" if names else "unknown")
    row.append(names if uri is None else None)  # hidden: the names key of a record without URIs
    row.append(names)  # hidden: the names key of every record (for the account-data match)
    return row, f"s|{ended}|{ms}|{content}"


_ACCOUNT_DATA_KINDS = {
    "music": ("track", "artistName", "trackName"),
    "podcast": ("episode", "podcastName", "episodeName"),
    "audiobook": ("audiobook_chapter", "audiobookName", "chapterName"),
    "mixed": ("track_or_episode", "artistName", "trackName"),
}


def _account_data_row(r: dict, content: str, occurrences: Counter) -> tuple[list, str]:
    ended = _ended_at(r.get("endTime"), "endTime", minute=True)
    ms = _ms_played(r.get("msPlayed"), "msPlayed")
    kind, first, second = _ACCOUNT_DATA_KINDS[content]
    a, b = _text(r, first), _text(r, second)
    if not a and not b:
        kind = "unknown"
    names = _names_key(a, b)
    row = [None] * len(_COLUMNS)
    row[_I["ended_at"]] = ended
    row[_I["ended_at_precision"]] = "minute"
    row[_I["started_at"]] = ended - ms * 1000
    row[_I["ms_played"]] = ms
    row[_I["kind"]] = kind
    if kind == "episode":
        row[_I["show_name"]], row[_I["episode_name"]] = a, b
    elif kind == "audiobook_chapter":
        row[_I["audiobook_title"]], row[_I["audiobook_chapter_title"]] = a, b
    else:
        row[_I["artist_name"]], row[_I["track_name"]] = a, b
    row[_I["video"]] = False
    identity = f"m|{ended}|{ms}|{names}"
    occurrences[identity] += 1
    row.append(None)
    row.append(names)
    return row, f"{identity}#{occurrences[identity]}"


def _exclude_covered(state: _State) -> tuple[list, set[str]]:
    """Drop the records a better record of the same stream covers (see the module docstring)."""
    names_col, all_names_col = len(_COLUMNS), len(_COLUMNS) + 1
    prec, ended, ms = _I["ended_at_precision"], _I["ended_at"], _I["ms_played"]
    with_uri = {(r[ended], r[ms], r[all_names_col]) for r in state.rows
                if r[prec] == "second" and r[names_col] is None and r[all_names_col]}
    covered: set[str] = set()
    kept = []
    for r in state.rows:
        if r[prec] == "second" and r[names_col] is not None and (r[ended], r[ms], r[names_col]) in with_uri:
            state.excluded[EXCLUDED_COVERED_BY_URI] += 1
            covered.add(r[_I["stream_id"]])
        else:
            kept.append(r)
    by_minute = Counter(
        (r[ended] - r[ended] % _MINUTE_US, r[ms], r[all_names_col]) for r in kept if r[prec] == "second"
    )
    rows = []
    for r in kept:
        if r[prec] == "minute":
            key = (r[ended], r[ms], r[all_names_col])
            if by_minute.get(key):
                by_minute[key] -= 1
                state.excluded[EXCLUDED_COVERED_BY_EXTENDED] += 1
                covered.add(r[_I["stream_id"]])
                continue
        rows.append(r)
    return rows, covered


def _to_table(rows: list) -> pa.Table:
    schema = STREAMS.schema
    columns = list(zip(*rows, strict=False)) if rows else [()] * (len(_COLUMNS) + 2)
    arrays = []
    for i, f in enumerate(schema):
        if f.name == "dt":
            arrays.append(None)
            continue
        values = columns[i]
        arrays.append(pa.array(values, type=pa.int64()).cast(f.type) if pa.types.is_timestamp(f.type)
                      else pa.array(values, type=f.type))
    ended = arrays[_I["ended_at"]]
    arrays[_I["dt"]] = pc.strftime(ended, format="%Y-%m-%d") if len(ended) else pa.array([], pa.string())
    table = pa.Table.from_arrays(arrays, schema=schema)
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, sort_keys=[("ended_at", "ascending"), ("stream_id", "ascending")]))
    return table

