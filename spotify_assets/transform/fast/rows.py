"""The fast path's row rules: a parsed, clean chunk of one source → the candidate rows of its tables.

The fast path only accepts a chunk where *every* unit would take the record-by-record path's happy branch:
status 200, no ``"error"`` key anywhere, no null items/batch entries, no local files or episodes, valid
IDs everywhere, well-formed timestamps, release dates the Python coercion accepts, values within their
columns' declared ranges (min/max per chunk), non-empty genre strings. Anything else — or any Arrow
error — and the whole chunk is fed line by line to the extractor (:func:`feed_chunk`), so quarantine,
exclusions and every quirk keep their exact behaviour. An accepted chunk produces exactly the rows the
record-by-record path would (:mod:`..extract.music`), in the same order, with the same ``_seq``/``_pseq``,
the same early dedupe decisions and the same counts, written through :class:`.plan.CandidateSink`.

What the record-by-record path states is not restated here: the path columns are read, coerced and
range-checked from the table contract (:meth:`.plan.ChunkPlan.add_rows`), the request and page rules are
:mod:`..extract.pages`' own functions, the response shapes :mod:`spotify_assets.spotify.shapes`'. What is
written twice is the walk over the nesting — which object is a candidate of which table, in which order,
with which rank — in columns here and per object there; every transform test runs both and compares.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from spotify_assets.spotify.shapes import EMBEDDED_PAGE_KEYS, ITEM_OBJECT_KEYS, LOOKUP_KEYS

from ..coerce import fetched_rank
from ..extract.builders import FULL
from ..extract.pages import page_offset, request_playlist_id
from ..records import Reject
from .arrow import (
    Fallback,
    check,
    contains,
    field,
    flatten,
    none_true,
    release_dates,
    valid_ids_or_null,
    within,
)
from .plan import CandidateSink, ChunkPlan

_S = pa.string()
_NULL_ID = 'id"[ \t\r]*:[ \t\r]*null'  # a body with "id": null is a (broken) single body, not a batch


def feed_chunk(ex: CandidateSink, path, source, data: pa.Buffer, table: pa.Table | None, first: int,
               last: list[int], stats) -> int:
    """Feed one chunk (fast if it was parsed and validates, else line by line); returns its number of lines."""
    commit = None
    if table is not None:
        try:
            commit, nlines = _prepare(ex, source, data, table)
        except Fallback:
            pass
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    if commit is not None:
        commit()
        last[0] = first + nlines - 1
        if stats is not None:
            stats["fast_lines"] = stats.get("fast_lines", 0) + nlines
        return nlines
    lines = data.to_pybytes().split(b"\n")
    del data
    _lines(ex, path, lines, first, last, stats)
    return len(lines)


def _lines(ex: CandidateSink, path, lines: list[bytes], first: int, last: list[int], stats) -> None:
    if stats is not None:
        stats["slow_lines"] = stats.get("slow_lines", 0) + len(lines)
    feed = ex.feed_line
    for i, ln in enumerate(lines):
        if ln.strip():
            feed(path, first + i, ln)
            last[0] = first + i


# -- sources -----------------------------------------------------------------------------------------


def _prepare(ex: CandidateSink, source: str, data: pa.Buffer, tab: pa.Table):
    """Validate a clean chunk parsed into ``tab``; returns ``(commit, lines)`` or raises Fallback / an Arrow error."""
    n = tab.num_rows  # one object per line: a clean chunk has no blank line and no "}{" (.reader._clean)
    requests = tab.column("request").to_pylist()
    check(all(type(r) is str for r in requests))
    check(pc.all(pc.equal(tab.column("status"), 200)).as_py() is True and tab.column("status").null_count == 0)
    body = tab.column("body").combine_chunks()
    check(body.null_count == 0)
    ranks = np.array([fetched_rank(f) for f in tab.column("fetched_at").to_pylist()], dtype=np.int64)
    plan = ChunkPlan(ex)
    plan.lines = n
    if source == "playlist_items":
        pids = []
        offsets = []
        items = field(body, "items")
        check(items.null_count == 0)
        lens = pc.list_value_length(items).to_pylist()
        for req, off, k in zip(requests, field(body, "offset").to_pylist(), lens, strict=True):
            pids.append(_fast(request_playlist_id, req))
            offsets.append(_fast(page_offset, off, req, k))
        _items(plan, pa.array(pids, _S), np.array(offsets, dtype=np.int64), items, ranks)
    elif source == "playlists":
        _playlists(plan, body, requests, ranks)
    elif source == "albums":
        values, parents = _batch_entries(source, data, body)
        _albums(plan, values, ranks[parents], full=True)
    elif source == "artists":
        values, parents = _batch_entries(source, data, body)
        _full_artists(plan, values, ranks[parents] + FULL)
    else:
        raise Fallback
    return plan.commit, n


def _batch_entries(source: str, data: pa.Buffer, body: pa.StructArray) -> tuple[pa.Array, np.ndarray]:
    """The entries of a chunk of batch look-up bodies (``{"albums": [...]}``), with each one's line; Fallback
    unless every line is a batch body (no ``"id"``, not even ``"id": null``) without a null entry."""
    check(field(body, "id").null_count == len(body) and not contains(data, _NULL_ID))
    entries = field(body, LOOKUP_KEYS[source])
    check(entries.null_count == 0)
    values, parents, _ = flatten(entries)
    check(values.null_count == 0)
    return values, parents


def _fast(rule, *args):
    """A rule the record-by-record path applies per line (:mod:`..extract.pages`), applied the same way;
    where it rejects, the chunk falls back so that the record-by-record path quarantines the line."""
    try:
        return rule(*args)
    except Reject:
        raise Fallback from None


def _playlists(plan: ChunkPlan, body: pa.StructArray, requests: list[str], ranks: np.ndarray) -> None:
    n = len(body)
    pid = field(body, "id")
    # shapes.embedded_item_page: the first of the keys whose items is an array, else the first present one
    first_key, second_key = EMBEDDED_PAGE_KEYS
    first, second = field(body, first_key), field(body, second_key)
    use_first = pc.or_(pc.is_valid(field(first, "items")),
                       pc.and_(pc.invert(pc.is_valid(field(second, "items"))), pc.is_valid(first)))
    if pc.all(use_first).as_py():  # (if_else copies the nested columns: only when needed)
        page = first
    elif not pc.any(use_first).as_py():
        page = second
    else:
        page = pc.if_else(use_first, first, second)
    plan.count("playlists", "seen", n)
    total = field(page, "total")
    within(total, plan.sink.valid["playlists"]["total_items"])
    page_items = field(page, "items")
    lens = pc.fill_null(pc.list_value_length(page_items), 0).to_numpy(zero_copy_only=False)
    offs = []
    for req, off, k in zip(requests, field(page, "offset").to_pylist(), lens.tolist(), strict=True):
        offs.append(_fast(page_offset, off, req, k) if k else 0)
    kept = plan.dedupe["playlists"].emit(pid, ranks)
    km = pa.array(kept)
    plan.count("playlists", "emitted", int(kept.sum()))
    plan.count("playlists", "duplicate merged", int(n - kept.sum()))
    plan.add_rows("playlists", body, km, playlist_id=pid.filter(km), total_items=total.filter(km), _rank=ranks[kept])
    # items of lines whose page has a non-empty items list (a null page / null items → none)
    _items(plan, pid, np.array(offs, dtype=np.int64), page_items, ranks)


def _items(plan: ChunkPlan, pids: pa.Array, offsets: np.ndarray, items: pa.Array, ranks: np.ndarray) -> None:
    it, parent, pos = flatten(items)
    n = len(it)
    plan.count("playlist_items", "seen", n)
    if n == 0:
        return
    check(it.null_count == 0)
    # shapes.item_value: the first of the keys that is not null
    first_key, second_key = ITEM_OBJECT_KEYS
    first, second = field(it, first_key), field(it, second_key)
    if second.null_count == len(second):  # (coalesce copies the nested columns: only when needed)
        obj = first
    elif first.null_count == len(first):
        obj = second
    else:
        obj = pc.coalesce(first, second)
    check(obj.null_count == 0)
    none_true(field(it, "is_local"))
    none_true(field(obj, "is_local"))
    none_true(pc.equal(field(obj, "type"), "episode"))
    tid = field(obj, "id")
    linked = field(obj, "linked_from", "id")
    valid_ids_or_null(linked)
    irank = ranks[parent]
    plan.add_rows("playlist_items", it, None, playlist_id=pids.take(pa.array(parent)), position=offsets[parent] + pos,
              item_type=pa.array(["track"], _S).take(pa.array(np.zeros(n, dtype=np.int64))), item_id=tid,
              linked_from_id=linked, _rank=irank)
    plan.count("playlist_items", "emitted", n)
    _tracks(plan, obj, irank)




def _tracks(plan: ChunkPlan, t: pa.Array, ranks: np.ndarray) -> None:
    n = len(t)
    tid = field(t, "id")
    album = field(t, "album")
    artists = field(t, "artists")
    plan.count("tracks", "seen", n)
    # nested albums first (their artists come before the track's own in the artists order)
    has_album = pc.is_valid(album).to_numpy(zero_copy_only=False)
    album_pos = np.flatnonzero(has_album)
    al = album if album.null_count == 0 else album.filter(pa.array(has_album))
    album_id = field(album, "id")  # null where the album is null
    kept = plan.dedupe["tracks"].emit(tid, ranks)
    k = int(kept.sum())
    plan.count("tracks", "emitted", k)
    plan.count("tracks", "duplicate merged", n - k)
    km = pa.array(kept)
    # artists of the track: one artists candidate each; links only for kept tracks
    tva, tpar, tpos = flatten(artists)
    check(tva.null_count == 0)
    # albums (simplified) and their artists
    a_vals, a_par = _albums(plan, al, ranks[album_pos], full=False, defer_artists=True)
    seq = plan.add_rows("tracks", t, km, track_id=tid.filter(km), album_id=album_id.filter(km), _rank=ranks[kept])
    _artist_links(plan, "track_artists", "track_id", tid, kept, seq, field(tva, "id"), tpar, tpos)
    # artists candidates in Python order: per item, the album's artists then the track's artists
    item_of_album_artist = album_pos[a_par]
    keys = np.concatenate([item_of_album_artist * 2, tpar * 2 + 1])
    order = np.argsort(keys, kind="stable")
    both = pa.concat_arrays([a_vals, tva]) if len(a_vals) else tva
    both_ranks = np.concatenate([ranks[item_of_album_artist], ranks[tpar]])
    _simple_artists(plan, both.take(pa.array(order)), both_ranks[order])


def _artist_links(plan: ChunkPlan, table: str, parent_col: str, parent_ids: pa.Array, kept: np.ndarray, seq: np.ndarray,
                  artist_ids: pa.Array, parent: np.ndarray, position: np.ndarray) -> None:
    """``track_artists``/``album_artists`` rows of the kept parents only, each pointing at its parent's
    planned row (``_pseq``); ``parent``/``position`` index every artist into its parent's list."""
    pseq = np.full(len(kept), -1, dtype=np.int64)
    pseq[kept] = seq
    lk = kept[parent]
    plan.add_rows(table, None, None, **{parent_col: parent_ids.take(pa.array(parent[lk]))},
              artist_id=artist_ids.filter(pa.array(lk)), position=position[lk], _pseq=pseq[parent[lk]])
    plan.count(table, "seen", int(lk.sum()))
    plan.count(table, "emitted", int(lk.sum()))


def _albums(plan: ChunkPlan, a: pa.Array, base_ranks: np.ndarray, full: bool, defer_artists: bool = False):
    """Album candidates (``album(a, full)``); returns their artists (values, parent album index)."""
    n = len(a)
    ranks = base_ranks + FULL if full else base_ranks
    plan.count("albums", "seen", n)
    aid = field(a, "id")
    artists = field(a, "artists")
    av, apar, apos = flatten(artists)
    check(av.null_count == 0)
    sent = field(a, "release_date")
    days, precision = release_dates(sent, field(a, "release_date_precision"))
    within(days, plan.sink.valid["albums"]["release_date"])  # every copy's, as for the path columns
    kept = plan.dedupe["albums"].emit(aid, ranks)
    k = int(kept.sum())
    plan.count("albums", "emitted", k)
    plan.count("albums", "duplicate merged", n - k)
    km = pa.array(kept)
    if days.null_count > sent.null_count:  # "0000", "2007-13": kept as null (release_date_raw has it)
        plan.coerce("albums", "release_date", pc.and_(pc.is_valid(sent), pc.is_null(days)).filter(km))
    seq = plan.add_rows("albums", a, km, album_id=aid.filter(km), release_date=days.filter(km),
                    release_date_precision=precision.filter(km), _rank=ranks[kept])
    _artist_links(plan, "album_artists", "album_id", aid, kept, seq, field(av, "id"), apar, apos)
    if not defer_artists:
        _simple_artists(plan, av, base_ranks[apar])
    return av, apar




def _simple_artists(plan: ChunkPlan, a: pa.Array, ranks: np.ndarray) -> None:
    n = len(a)
    plan.count("artists", "seen", n)
    if n == 0:
        return
    arid = field(a, "id")
    kept = plan.dedupe["artists"].emit(arid, ranks)
    k = int(kept.sum())
    plan.count("artists", "emitted", k)
    plan.count("artists", "duplicate merged", n - k)
    km = pa.array(kept)
    plan.add_rows("artists", a, km, simplified=True, artist_id=arid.filter(km), _rank=ranks[kept])


def _full_artists(plan: ChunkPlan, a: pa.Array, ranks: np.ndarray) -> None:
    n = len(a)
    plan.count("artists", "seen", n)
    if n == 0:
        return
    arid = field(a, "id")
    genres = field(a, "genres")
    gv, gpar, _ = flatten(genres)
    if len(gv):
        check(gv.null_count == 0 and pc.min(pc.utf8_length(gv)).as_py() > 0)
    kept = plan.dedupe["artists"].emit(arid, ranks)
    k = int(kept.sum())
    plan.count("artists", "emitted", k)
    plan.count("artists", "duplicate merged", n - k)
    km = pa.array(kept)
    seq = plan.add_rows("artists", a, km, artist_id=arid.filter(km), _rank=ranks[kept])
    aseq = np.full(n, -1, dtype=np.int64)
    aseq[kept] = seq
    lk = kept[gpar]
    plan.add_rows("artist_genres", None, None, artist_id=arid.take(pa.array(gpar[lk])), genre=gv.filter(pa.array(lk)),
              _pseq=aseq[gpar[lk]])
    plan.count("artist_genres", "seen", int(lk.sum()))
    plan.count("artist_genres", "emitted", int(lk.sum()))

