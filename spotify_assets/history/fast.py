"""The Arrow path of the streams table: a whole raw file of the extended history at once.

``pyarrow.json`` parses the file with the fields' types fixed, and the columns are computed with Arrow's
kernels. It takes a file only when every record in it would take the happy branch of the record-by-record
path (:mod:`.records`, where every rule and quarantine reason is stated): a value of another type, a ``ts``
that is not exactly ``YYYY-MM-DDTHH:MM:SSZ`` or out of range, a missing or negative ``ms_played``, a URI
that is not one — and the file goes through that path instead. Both give the same rows; the tests build
every fixture both ways and compare. The names keys and the stream key are computed by the same Python
functions in both (per distinct value here), so they cannot drift.
"""

from __future__ import annotations

from hashlib import sha256

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from ..lake.storage import Lake
from .platforms import platform_family
from .records import CANDIDATE_SCHEMA, MAX_ENDED_AT_US, MIN_ENDED_AT_US, names_key

_S, _I, _B = pa.string(), pa.int64(), pa.bool_()
_TEXTS = ("platform", "conn_country", "master_metadata_track_name", "master_metadata_album_artist_name",
          "master_metadata_album_album_name", "episode_name", "episode_show_name", "audiobook_title",
          "audiobook_chapter_title", "reason_start", "reason_end")
_URIS = ("spotify_track_uri", "spotify_episode_uri", "audiobook_uri", "audiobook_chapter_uri")
_FLAGS = ("shuffle", "skipped", "offline", "incognito_mode")
_SCHEMA = pa.schema([("ts", _S), ("ms_played", _I), ("offline_timestamp", _I)]
                    + [(k, _S) for k in (*_TEXTS, *_URIS)] + [(k, _B) for k in _FLAGS])
_URI_SHAPE = r"^spotify:[a-z_]+:[0-9A-Za-z]{22}$"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_US = pa.timestamp("us", tz="UTC")


def _truthy(values: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.fill_null(pc.not_equal(values, ""), False)


def read_file(lake: Lake, path: str, *, video: bool, generation: str, export_id: str, source_file: str) -> pa.Table | None:
    """The candidate rows of one raw file of the extended history, or None when a record in it needs the
    record-by-record path."""
    try:
        with lake.open_input(path) as raw:
            t = pj.read_json(pa.CompressedInputStream(raw, "gzip"), parse_options=pj.ParseOptions(
                explicit_schema=_SCHEMA, unexpected_field_behavior="ignore"))
    except (pa.ArrowInvalid, OSError):
        return None
    n = t.num_rows
    if n == 0:
        return None
    ts, ms = t["ts"], t["ms_played"]
    if ts.null_count or ms.null_count or pc.min(ms).as_py() < 0:
        return None
    seconds = pc.strptime(ts, format=_TS_FORMAT, unit="s", error_is_null=True)
    # strptime also takes "2014-7-27…" and rolls 02-30 over to March: only the exact round trip is accepted
    if seconds.null_count or not pc.all(pc.equal(pc.strftime(seconds, format=_TS_FORMAT), ts)).as_py():
        return None
    ended = pc.multiply(pc.cast(seconds, _I), 1_000_000)
    if pc.min(ended).as_py() < MIN_ENDED_AT_US or pc.max(ended).as_py() >= MAX_ENDED_AT_US:
        return None
    uris, ids = {}, {}
    for key in _URIS:
        values = t[key]
        present = _truthy(values)
        shaped = pc.fill_null(pc.match_substring_regex(values, _URI_SHAPE), False)
        if pc.any(pc.and_(present, pc.invert(shaped))).as_py():
            return None
        uris[key] = pc.if_else(present, values, None)
        ids[key] = pc.if_else(present, pc.utf8_slice_codeunits(values, start=-22), None)
    track_id, episode_id = ids["spotify_track_uri"], ids["spotify_episode_uri"]
    book_id, chapter_id = ids["audiobook_uri"], ids["audiobook_chapter_uri"]
    track, artist = t["master_metadata_track_name"], t["master_metadata_album_artist_name"]
    episode, show = t["episode_name"], t["episode_show_name"]
    book, chapter = t["audiobook_title"], t["audiobook_chapter_title"]
    has_track, has_episode, has_chapter = pc.is_valid(track_id), pc.is_valid(episode_id), pc.is_valid(chapter_id)
    is_track = pc.or_(has_track, pc.and_(pc.and_(pc.invert(has_episode), pc.invert(has_chapter)),
                                         pc.or_(_truthy(track), _truthy(artist))))
    is_episode = pc.or_(has_episode, pc.or_(_truthy(episode), _truthy(show)))
    is_chapter = pc.or_(pc.or_(has_chapter, pc.is_valid(book_id)), pc.or_(_truthy(book), _truthy(chapter)))
    conditions = pc.make_struct(is_track, is_episode, is_chapter, field_names=["t", "e", "c"])
    kind = pc.case_when(conditions, "track", "episode", "audiobook_chapter", "unknown")
    first = pc.case_when(conditions, artist, show, book)
    second = pc.case_when(conditions, track, episode, chapter)
    uri = pc.coalesce(pc.if_else(has_track, uris["spotify_track_uri"], None),
                      pc.if_else(has_episode, uris["spotify_episode_uri"], None),
                      pc.if_else(has_chapter, uris["audiobook_chapter_uri"], None))
    cache: dict = {}
    kinds = kind.to_pylist()
    names = [
        "" if k == "unknown" else cache.get((a, b)) or cache.setdefault((a, b), names_key(a, b))
        for k, a, b in zip(kinds, first.to_pylist(), second.to_pylist(), strict=True)
    ]
    uri_list = uri.to_pylist()
    stream_ids = [
        sha256(f"s|{e}|{m}|{u or (f'names:{k}:{nm}' if nm else 'unknown')}".encode()).hexdigest()[:16]
        for e, m, u, k, nm in zip(ended.to_pylist(), ms.to_pylist(), uri_list, kinds, names, strict=True)
    ]
    platforms = pc.dictionary_encode(t["platform"]).combine_chunks()
    families = pa.array([platform_family(p) for p in platforms.dictionary.to_pylist()], _S)
    offline = t["offline_timestamp"]
    offline_at = pc.if_else(pc.fill_null(pc.greater(offline, 0), False),
                            pc.if_else(pc.greater(offline, 100_000_000_000), pc.multiply(offline, 1000),
                                       pc.multiply(offline, 1_000_000)), None)
    ended_at = pc.cast(ended, _US)
    columns = {
        "stream_id": pa.array(stream_ids, _S),
        "ended_at": ended_at,
        "ended_at_precision": pa.repeat("second", n),
        "started_at": pc.cast(pc.subtract(ended, pc.multiply(ms, 1000)), _US),
        "dt": pc.strftime(ended_at, format="%Y-%m-%d"),
        "ms_played": ms,
        "kind": kind,
        "track_id": track_id, "episode_id": episode_id, "audiobook_id": book_id, "audiobook_chapter_id": chapter_id,
        "track_name": track, "artist_name": artist, "album_name": t["master_metadata_album_album_name"],
        "episode_name": episode, "show_name": show, "audiobook_title": book, "audiobook_chapter_title": chapter,
        "video": pa.repeat(video, n),
        "platform": t["platform"],
        "platform_family": families.take(platforms.indices),
        "country": t["conn_country"],
        "reason_start": pc.if_else(_truthy(t["reason_start"]), t["reason_start"], None),
        "reason_end": pc.if_else(_truthy(t["reason_end"]), t["reason_end"], None),
        "shuffle": t["shuffle"], "skipped": t["skipped"], "offline": t["offline"],
        "offline_at": pc.cast(offline_at, _US),
        "incognito_mode": t["incognito_mode"],
        "generation": pa.repeat(generation, n), "export_id": pa.repeat(export_id, n),
        "source_file": pa.repeat(source_file, n),
        "_names_unless_uri": pa.array([None if u else nm for u, nm in zip(uri_list, names, strict=True)], _S),
        "_names": pa.array(names, _S),
    }
    return pa.Table.from_arrays([pa.chunked_array([columns[f.name]]) if not isinstance(columns[f.name], pa.ChunkedArray)
                                 else columns[f.name] for f in CANDIDATE_SCHEMA], schema=CANDIDATE_SCHEMA)
