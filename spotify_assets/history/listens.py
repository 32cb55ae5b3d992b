"""``streams`` (the export) + ``plays`` (recently played, landed hourly) → ``listens``: each listen once.

**How the two sources relate.** Spotify documents recently-played's ``played_at`` only as "the date and
time the track was played", and says a track counts once it has played for more than 30 seconds and shows
up when it has finished. Developers who compared it with other sources report that ``played_at`` is when
playback of the track *ended* (spotify/web-api issues #613, #1199), with some clients and offline periods
reporting the start instead (#1083). The export's ``ts`` is the stream's end, to the second. So a play and
its stream are the same event seen twice, and streams of 30 s or less (skips, 0 ms) and everything that is
not a track are in the export only.

**The matching rule** (one-to-one; every stream and every play is one listen, a matched pair one row):

1. ``end``: a play matches a stream of the same track (``track_id``) that played more than 30 s whose end
   (``ended_at``) lies within :data:`TOLERANCE_S` seconds of ``played_at``;
2. ``start``: failing that, one whose start (``ended_at − ms_played``) lies within the tolerance (the
   start-time variant);
3. ``minute``: failing that, an account-data stream (no ids, minute precision) of the same track name and
   artist (case-folded; the export names the album's artist, so the play's album artist or its first credited
   artist) ending in the same minute as ``played_at`` (or the minute before or after).

Candidate pairs are taken nearest first — rule 1 before 2 before 3, then the smaller time difference —
and a stream or play already taken is skipped. A play left over is a listen of its own (``source`` =
``plays``, ``ms_played`` and ``skipped`` unknown); a stream left over too (``export``).

The tolerance: ``ts`` is ``played_at`` truncated to the second, so an exact pair differs by less than one
second; 5 s leaves room for clients whose clocks drift, while two plays of one track, each longer than
30 s, are at least 30 s apart — a wider window could not pair the wrong ones either, a narrower one would
leave true pairs as two listens.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..lake.parquet import read_published
from ..lake.publication.manifests import Manifests
from ..lake.storage import Lake
from ..tables import TABLES
from ..tables.history import LISTENS

TOLERANCE_S = 5
MIN_MS_PLAYED = 30_000  # recently played lists a track only after more than 30 s
_US = 1_000_000
_MINUTE_US = 60 * _US
_RULES = ("end", "start", "minute")


@dataclass
class ListensBuild:
    table: pa.Table  # LISTENS.schema, sorted by (listened_at, listen_id)
    streams: int
    plays: int
    matched: dict[str, int]  # rule → pairs

    @property
    def both(self) -> int:
        return sum(self.matched.values())

    def summary(self) -> dict:
        return {
            "streams": self.streams, "plays": self.plays, "matched": self.both, "matched_by": dict(self.matched),
            "rows": self.table.num_rows, "export_only": self.streams - self.both, "plays_only": self.plays - self.both,
        }


def _names(artist, track) -> str:
    return f"{(artist or '').strip().casefold()}\x1f{(track or '').strip().casefold()}"


def match_plays(streams: pa.Table, plays: pa.Table, play_names: dict[str, tuple[str | None, str | None]]) -> dict[int, tuple[int, str]]:
    """``{play row: (stream row, rule)}`` by the matching rule (see the module docstring). ``plays`` has
    ``played_at`` and ``track_id``; ``play_names`` maps a track id to ``(name, first credited artist's name,
    album artist's name)`` (the last optional)."""
    if plays.num_rows == 0 or streams.num_rows == 0:
        return {}
    # only streams that could match: a track, longer than 30 s, within a day of the plays' span
    played = pc.cast(plays["played_at"], pa.int64())
    day = 86_400 * _US
    ended_us = pc.cast(streams["ended_at"], pa.int64())
    candidate = pc.and_(
        pc.and_(pc.is_in(streams["kind"], value_set=pa.array(["track", "track_or_episode"])),
                pc.greater(streams["ms_played"], MIN_MS_PLAYED)),
        pc.and_(pc.greater_equal(ended_us, pc.min(played).as_py() - day),
                pc.less_equal(ended_us, pc.max(played).as_py() + day)))
    rows = pc.indices_nonzero(pc.fill_null(candidate, False)).to_pylist()
    near = streams.take(pa.array(rows, pa.int64())).select(
        ["ended_at", "started_at", "track_id", "ended_at_precision", "track_name", "artist_name"])
    ended = pc.cast(near["ended_at"], pa.int64()).to_pylist()
    started = pc.cast(near["started_at"], pa.int64()).to_pylist()
    by_track: dict[str, list[int]] = {}
    by_minute: dict[tuple[int, str], list[int]] = {}
    for j, (track, precision, name, artist) in enumerate(zip(
            near["track_id"].to_pylist(), near["ended_at_precision"].to_pylist(),
            near["track_name"].to_pylist(), near["artist_name"].to_pylist(), strict=True)):
        if precision == "second" and track is not None:
            by_track.setdefault(track, []).append(j)
        elif precision == "minute":
            by_minute.setdefault((ended[j], _names(artist, name)), []).append(j)
    ends = {t: sorted((ended[j], j) for j in idx) for t, idx in by_track.items()}
    starts = {t: sorted((started[j], j) for j in idx) for t, idx in by_track.items()}
    played = played.to_pylist()
    tracks = plays["track_id"].to_pylist()
    tolerance = TOLERANCE_S * _US
    pairs = []
    for p, (at, track) in enumerate(zip(played, tracks, strict=True)):
        if track is None:
            continue
        for rule, index in ((0, ends.get(track)), (1, starts.get(track))):
            if not index:
                continue
            lo = bisect_left(index, (at - tolerance, -1))
            hi = bisect_right(index, (at + tolerance, len(ended)))
            pairs.extend((rule, abs(t - at), p, i) for t, i in index[lo:hi])
        name, *artists = play_names.get(track, (None, None))
        if by_minute and name:
            minute = at - at % _MINUTE_US
            for key in {_names(artist, name) for artist in artists if artist}:
                for delta in (0, -_MINUTE_US, _MINUTE_US):
                    pairs.extend((2, abs(delta), p, i) for i in by_minute.get((minute + delta, key), ()))
    pairs.sort()
    taken_streams: set[int] = set()
    matches: dict[int, tuple[int, str]] = {}
    for rule, _, p, j in pairs:
        if p in matches or j in taken_streams:
            continue
        matches[p] = (rows[j], _RULES[rule])
        taken_streams.add(j)
    return matches


def build_listens(streams: pa.Table, plays: pa.Table, play_names: dict[str, tuple[str | None, str | None]]) -> ListensBuild:
    """The ``listens`` table of ``streams`` (the STREAMS schema) and ``plays`` (``played_at``, ``track_id``)."""
    matches = match_plays(streams, plays, play_names)
    n = streams.num_rows
    source = ["export"] * n
    matched_by: list[str | None] = [None] * n
    played_at: list[int | None] = [None] * n
    played = pc.cast(plays["played_at"], pa.int64()).to_pylist()
    counts = dict.fromkeys(_RULES, 0)
    for p, (i, rule) in matches.items():
        source[i], matched_by[i], played_at[i] = "both", rule, played[p]
        counts[rule] += 1
    ts = LISTENS.schema.field("listened_at").type
    kind = pc.if_else(pc.equal(streams["kind"], "track_or_episode"), "track", streams["kind"])
    from_streams = pa.table({
        "listen_id": streams["stream_id"],
        "listened_at": streams["ended_at"],
        "dt": streams["dt"],
        "ms_played": streams["ms_played"],
        "kind": kind,
        "track_id": streams["track_id"],
        "track_name": pc.coalesce(streams["track_name"], streams["episode_name"], streams["audiobook_chapter_title"]),
        "artist_name": pc.coalesce(streams["artist_name"], streams["show_name"], streams["audiobook_title"]),
        "skipped": streams["skipped"],
        "source": pa.array(source, pa.string()),
        "played_at": pa.array(played_at, pa.int64()).cast(ts),
        "matched_by": pa.array(matched_by, pa.string()),
        "platform_family": streams["platform_family"],
    })
    alone = [p for p in range(plays.num_rows) if p not in matches]
    only = plays.take(pa.array(alone, pa.int64())) if alone else plays.slice(0, 0)
    at = only["played_at"].cast(ts)
    track_ids = only["track_id"].to_pylist()
    names = [play_names.get(t, (None, None))[:2] if t else (None, None) for t in track_ids]
    from_plays = pa.table({
        "listen_id": pc.binary_join_element_wise(
            "play:", pc.strftime(pc.cast(at, pa.timestamp("ms", tz="UTC"), safe=False), format="%Y-%m-%dT%H:%M:%SZ"), "")
        if len(at) else pa.array([], pa.string()),
        "listened_at": at,
        "dt": pc.strftime(at, format="%Y-%m-%d") if len(at) else pa.array([], pa.string()),
        "ms_played": pa.nulls(len(at), pa.int64()),
        "kind": pa.array(["track"] * len(at), pa.string()),
        "track_id": pa.array(track_ids, pa.string()),
        "track_name": pa.array([nm[0] for nm in names], pa.string()),
        "artist_name": pa.array([nm[1] for nm in names], pa.string()),
        "skipped": pa.nulls(len(at), pa.bool_()),
        "source": pa.array(["plays"] * len(at), pa.string()),
        "played_at": at,
        "matched_by": pa.nulls(len(at), pa.string()),
        "platform_family": pa.nulls(len(at), pa.string()),
    })
    table = pa.concat_tables([from_streams.cast(LISTENS.schema), from_plays.cast(LISTENS.schema)])
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, sort_keys=[("listened_at", "ascending"), ("listen_id", "ascending")]))
    return ListensBuild(table, n, plays.num_rows, counts)


def read_plays(lake: Lake) -> tuple[pa.Table, dict[str, tuple[str | None, ...]]]:
    """Every published play (``played_at``, ``track_id``, ``dt``) and, for the tracks played, ``(name, first
    credited artist's name, album's first artist's name)`` from the catalog tables of the days they were
    played on (the latest day wins)."""
    manifests = Manifests(lake)  # one reading: each day's tables from the same day version; damaged days skipped
    days = [v.partition for v in manifests.readable("transformed", "plays")]
    plays = read_published(lake, "transformed", "plays", days, columns=["played_at", "track_id"], add_dt=True,
                           allow_missing=True, schema=TABLES["plays"].schema, manifests=manifests).table
    played_days = sorted(set(plays["dt"].to_pylist()))

    def read(table: str, columns: list[str]) -> pa.Table:
        return read_published(lake, "transformed", table, played_days, columns=columns, allow_missing=True,
                              add_dt=True, schema=TABLES[table].schema, manifests=manifests).table

    wanted = set(plays["track_id"].drop_null().to_pylist())
    names: dict[str, tuple[str | None, str | None]] = {}
    if not wanted:
        return plays, names
    artist_names = {}
    for row in read("artists", ["artist_id", "name"]).to_pylist():  # day order: the latest day wins
        artist_names[row["artist_id"]] = row["name"]
    first_artist, album_artist = {}, {}
    for row in read("track_artists", ["track_id", "artist_id", "position"]).to_pylist():
        if row["track_id"] in wanted and row["position"] == 0:
            first_artist[row["track_id"]] = row["artist_id"]
    for row in read("album_artists", ["album_id", "artist_id", "position"]).to_pylist():
        if row["position"] == 0:
            album_artist[row["album_id"]] = row["artist_id"]
    for row in read("tracks", ["track_id", "name", "album_id"]).to_pylist():
        if row["track_id"] in wanted:
            names[row["track_id"]] = (row["name"], artist_names.get(first_artist.get(row["track_id"])),
                                      artist_names.get(album_artist.get(row["album_id"])))
    return plays, names
