"""Row extraction: Spotify objects (both quota modes' shapes) → candidate rows of the transformed tables.

One :class:`Extractor` per partition. It is fed envelopes source by source and appends *candidate*
rows to column builders (chunks of ``chunk_rows`` rows become Arrow record batches, so no partition's
worth of Python dicts is ever alive at once). Every candidate row of an entity table carries ``_rank``
(full object over simplified, then latest ``fetched_at``) and ``_seq`` (processing order: source,
file, line, position); link tables carry ``_pseq``, the ``_seq`` of the parent row they came from, so
after dedupe only the chosen parent's links survive (see :mod:`.dedupe`).

Decisions:

* ``track: null`` / ``item: null`` → no ``playlist_items`` row (exclusion "null item").
* Local files (``is_local``) → ``playlist_items`` row with ``item_type='local'``, ``item_id`` null;
  nothing in ``tracks`` (exclusion "local track").
* Episodes → ``item_type='episode'``, ``item_id`` = the episode ID; episodes are not tracks.
* Relinking (``linked_from``): ``item_id`` and ``tracks.track_id`` are the *returned* (playable) track's
  ``id``, so ``playlist_items.item_id`` always joins to ``tracks``; the originally requested ID is kept
  in the column ``playlist_items.linked_from_id``.
* A simplified album/artist seen inside a track (or an album's artists) is a candidate row too, ranked
  below any full object of the same ID.
* Early dedupe: an occurrence whose key was already kept with an equal or higher rank cannot win the
  final dedupe; it is counted as "duplicate merged" right away and its other fields are not validated
  (so a malformed copy of an entity already seen is not quarantined). Artists nested in such a copy are
  still candidates of their own.
* ``added_at`` of 1970-01-01T00:00:00Z → null (unknown). ``added_by: null`` → null ``added_by_id``.
  Values a coercion turns into null (these, and release dates that are not calendar dates) are counted
  per table and column (:meth:`Extractor.coerced_counts`).
* Columns with a ``path`` in :mod:`spotify_assets.tables` are read, coerced and checked against their
  valid range by :class:`.columns.RowReader` (the first wrong one names the reason); the code below
  computes the other columns (checking the computed ones that declare a range: a playlist's
  ``total_items``, an album's ``release_date`` not after the partition day) and walks the nesting.
* Quarantine is at the smallest unit that failed: an item whose own fields or whose track/episode ID
  are broken → ``playlist_items``; a track with a valid ID but broken fields (a value out of range, an
  album without a valid ID) → ``tracks``; an album/artist → ``albums``/``artists``; a bad artist
  reference or genre → the link table. Unknown fields are ignored. Rows that name a quarantined record
  (a playlist item of a quarantined track, the track of a quarantined album) are quarantined after the
  dedupe, "parent quarantined" (:mod:`.cascade`).

The listening sources (the user's own data):

* ``plays`` (recently played pages): a raw file of day D may hold a response with plays of the day
  before too (a run just after midnight lands the response in both days' folders, verbatim); a play
  whose ``played_at`` (UTC) is not on the day of the file's ``dt=`` folder is not this day's row
  (exclusion "played on another day"), so every play is a row of exactly one day. Overlapping responses
  (a re-run, two runs at once) give the same play twice: one row per ``played_at`` (latest
  ``fetched_at`` wins, like every entity). A play without a valid ``played_at`` (1970-01-01 counts as
  missing), without its track object, or of an episode is quarantined; a local file's play is a row
  with a null ``track_id`` and nothing in ``tracks`` (exclusion "local track").
* ``top_tracks`` / ``top_artists``: ``time_range`` is the request's (Spotify's default
  ``medium_term`` when absent; any other value rejects the page), ``rank`` is offset + index + 1.
* ``saved_tracks``: one row per saved track; local files cannot be keyed by ``track_id`` (exclusion
  "local track").
* The tracks and artists inside these responses are full objects: candidates of ``tracks`` /
  ``artists`` (and, through them, ``albums`` and the link tables) exactly like a playlist item's track.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter, defaultdict
from urllib.parse import parse_qs, urlsplit

import numpy as np
import orjson
import pyarrow as pa

from .. import tables as S
from .coerce import (
    INT64_MAX,
    SPOTIFY_ID,
    Bad,
    opt_id,
    release_date,
    short_number,
    spotify_id,
    timestamp_us,
    to_dict,
    to_int,
    to_list,
)
from .columns import RowReader, bounds
from .records import (
    SOURCE_TABLE,
    Envelope,
    QuarantineRecord,
    Reject,
    SourceCount,
    TableCount,
    restore_records,
)

FULL = 1 << 40  # rank bonus of a full object over a simplified one (ranks are epoch seconds otherwise)

_valid_id = SPOTIFY_ID.fullmatch
_PLAYLIST_REQUEST = re.compile(r"/playlists/([^/?#]+)/(?:tracks|items)\b")
_FILE_DAY = re.compile(r"(?:^|/)dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/")
TIME_RANGES = ("short_term", "medium_term", "long_term")
_DAY_US = 86_400_000_000


def page_offset_limit(n_items: int) -> int:
    """The largest page offset whose ``n_items`` positions (``offset + i``) all fit in int64."""
    return INT64_MAX - max(n_items - 1, 0)


def output_schema(table: str) -> pa.Schema:
    """The schema of a transformed table as written (the contract's columns, the table's description)."""
    spec = S.TABLES[table]
    return spec.schema.with_metadata({"description": spec.description})


PARENT_EXTRA = [pa.field("_rank", pa.int64()), pa.field("_seq", pa.int64())]
CHILD_EXTRA = [pa.field("_pseq", pa.int64()), pa.field("_seq", pa.int64())]
CHILD_OF = {"track_artists": "tracks", "album_artists": "albums", "artist_genres": "artists"}


class Builder:
    """Rows (tuples, without ``_seq``) appended to :attr:`rows`; Arrow record batches out.

    Hot paths append to ``rows`` directly (``seq = builder.seq_base + len(builder.rows)``);
    :meth:`maybe_flush` is called between lines, so ``seq_base`` is constant while a line is processed.
    ``_seq`` is ``task << 40 | n``: the raw file's index in the partition's processing order, then the
    row's order within that file — a global order no matter which process handled the file.
    """

    TASK_SHIFT = 40

    def __init__(self, table: str, chunk_rows: int):
        extra = CHILD_EXTRA if table in CHILD_OF else PARENT_EXTRA
        self.table = table
        self.schema = pa.schema(list(output_schema(table)) + extra)
        self.chunk_rows = chunk_rows
        self.rows: list[tuple] = []
        self.batches: list[pa.RecordBatch] = []
        self.seq_base = 0
        self.count = 0  # rows flushed

    def start_task(self, task: int) -> None:
        self.flush()
        self.seq_base = task << self.TASK_SHIFT

    @property
    def n(self) -> int:
        return self.count + len(self.rows)

    def maybe_flush(self) -> None:
        if len(self.rows) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        rows = self.rows
        if not rows:
            return
        fields = list(self.schema)
        cols = list(zip(*rows, strict=True))
        arrays = [pa.array(c, type=f.type) for c, f in zip(cols, fields[:-1], strict=True)]
        arrays.append(pa.array(np.arange(self.seq_base, self.seq_base + len(rows), dtype=np.int64)))
        self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.seq_base += len(rows)
        self.count += len(rows)
        rows.clear()

    @property
    def next_seq(self) -> int:
        """The ``_seq`` of the next row, whether appended to :attr:`rows` or by :meth:`append_columns`."""
        return self.seq_base + len(self.rows)

    def append_columns(self, columns: dict[str, pa.Array], n: int) -> None:
        """Append ``n`` rows given as Arrow columns (every column of the schema but ``_seq``), in order."""
        self.flush()
        arrays = [columns[f.name] for f in self.schema if f.name != "_seq"]
        arrays.append(pa.array(np.arange(self.seq_base, self.seq_base + n, dtype=np.int64)))
        self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.seq_base += n
        self.count += n

    def to_table(self) -> pa.Table:
        self.flush()
        return pa.Table.from_batches(self.batches, schema=self.schema)


class Extractor:
    """Feeds envelopes of one partition into the tables' builders, the quarantine and the accounting."""

    def __init__(self, chunk_rows: int = 50_000, partition: str | None = None):
        self.partition = partition
        self.builders = {t: Builder(t, chunk_rows) for t in S.TABLES}
        self.quarantine: dict[str, list[QuarantineRecord]] = defaultdict(list)
        self.sources: dict[str, SourceCount] = {}
        self.env: Envelope | None = None
        self._sc: SourceCount | None = None
        self.task = 0
        self._line_q: list[QuarantineRecord] = []  # entity-level quarantine of the current line
        # Early dedupe (keys only): the best rank seen so far per entity key. A candidate whose rank is
        # not higher can never win the final dedupe (same rank → the earlier row wins), so it is counted
        # as "duplicate merged" and not stored. Memory: one small int per distinct key.
        # (shared with the fast path, which updates it once a chunk validated)
        self.best_ranks: dict[str, dict[str, int]] = {t: {} for t in ("playlists", "tracks", "albums", "artists")}
        self._flushers = [b.maybe_flush for b in self.builders.values()]
        # valid ranges per table and column, relative to the partition day where they say so
        self.valid = {t: bounds(spec, partition) for t, spec in S.TABLES.items()}
        self._rows = {t: RowReader(spec, valid=self.valid[t]) for t, spec in S.TABLES.items()}
        self._simple_artist = RowReader(S.TABLES["artists"], simplified=True, valid=self.valid["artists"])
        # values coerced to null in emitted rows, per table and column, beyond the readers' own counts
        # (computed columns, and the fast path's rows): see coerced_counts()
        self.coerced: dict[str, Counter] = defaultdict(Counter)
        self._day_bounds: dict[str, tuple[int, int] | None] = {}  # raw file -> its dt= day in UTC µs

    def coerced_counts(self) -> dict[str, dict[str, int]]:
        """``{table: {column: n}}``: values of the emitted rows that a coercion turned into null."""
        out: dict[str, Counter] = defaultdict(Counter)
        for t, reader in self._rows.items():
            out[t].update(reader.coerced)
        out["artists"].update(self._simple_artist.coerced)
        for t, c in self.coerced.items():
            out[t].update(c)
        return {t: dict(sorted(c.items())) for t, c in sorted(out.items()) if +c}

    # -- context -------------------------------------------------------------------------------------
    def begin_task(self, task: int, source: str) -> None:
        """Start a raw file: ``task`` is its index in the partition's processing order."""
        self.task = task
        for b in self.builders.values():
            b.start_task(task)
        self.begin_source(source)

    def begin_source(self, source: str) -> None:
        self.source = source
        self._sc = self.sources.setdefault(source, SourceCount())
        t = self._sc.tables
        self._c: dict[str, TableCount] = {name: t[name] for name in S.TABLES}

    def count_parsed_lines(self, n: int) -> None:
        """``n`` lines of the current source were parsed (by the fast path)."""
        self._sc.lines += n
        self._sc.parsed += n

    def count(self, table: str, what: str, n: int) -> None:
        """Add ``n`` to ``table``'s ``seen``/``emitted`` count of the current source, or to an exclusion."""
        c = self._c[table]
        if what in ("seen", "emitted"):
            setattr(c, what, getattr(c, what) + n)
        else:
            c.excluded[what] += n

    def _q(self, table: str, reason: str, record) -> None:
        env = self.env
        q = QuarantineRecord(table, reason, env.file, env.line_no, env.request, record, self.task)
        self.quarantine[table].append(q)
        self._line_q.append(q)
        self._c[table].quarantined += 1

    # -- lines ---------------------------------------------------------------------------------------
    def feed_line(self, file: str, line_no: int, data: bytes) -> None:
        from .records import parse_envelope  # local: keeps the import graph flat

        sc = self._sc
        sc.lines += 1
        table = SOURCE_TABLE[self.source]
        try:
            env = parse_envelope(file, line_no, data)
        except Reject as e:
            self._q_line(table, str(e), file, line_no, None, data.decode("utf-8", "replace"))
            return
        self.env = env
        body = env.body
        if env.status != 200:
            if body is None or type(body) in (dict, str):
                sc.excluded["non-200 response"] += 1
            else:
                self._q_line(table, f"non-200 response with a malformed body ({type(body).__name__})",
                             file, line_no, env.request, self._verbatim(env, data, body))
            return
        if type(body) is not dict:
            self._q_line(table, f"body is a JSON {type(body).__name__}, expected object", file, line_no,
                         env.request, self._verbatim(env, data, body))
            return
        if "error" in body and "id" not in body:
            self._q_line(table, "error body with status 200", file, line_no, env.request, self._verbatim(env, data, body))
            return
        try:
            getattr(self, f"_body_{self.source}")(body)
        except Reject as e:
            self._q_line(table, str(e), file, line_no, env.request, self._verbatim(env, data, body))
            return
        finally:
            if env.blanked and self._line_q:
                restore_records(data, self._line_q)
            self._line_q = []
            for flush in self._flushers:
                flush()
        sc.parsed += 1

    @staticmethod
    def _verbatim(env: Envelope, data: bytes, body):
        """The body as received (markets included) for a quarantined line."""
        if not env.blanked:
            return body
        try:
            return orjson.loads(data).get("body", body)
        except (orjson.JSONDecodeError, AttributeError):
            return body

    def quarantine_unreadable(self, file: str, line_no: int, reason: str, record: dict) -> None:
        """The rest of a raw file cannot be decoded: one quarantined "line" for it (``record`` describes it)."""
        self._sc.lines += 1
        self._q_line(SOURCE_TABLE[self.source], reason, file, line_no, None, record)

    def _q_line(self, table, reason, file, line_no, request, record) -> None:
        self.quarantine[table].append(QuarantineRecord(table, reason, file, line_no, request, record, self.task))
        self._sc.quarantined += 1

    # -- bodies per source ---------------------------------------------------------------------------
    def _body_playlists(self, body: dict) -> None:
        self.playlist(body)

    def _body_playlist_items(self, body: dict) -> None:
        m = _PLAYLIST_REQUEST.search(self.env.request)
        if not m:
            raise Reject("request path names no playlist (/playlists/{id}/tracks or /items)")
        try:
            pid = spotify_id(m.group(1), "playlist id in request")
        except Bad as e:
            raise Reject(e.reason) from None
        items = body.get("items")
        if type(items) is not list:
            raise Reject("page has no items array")
        self.items(pid, self._page_offset(body, len(items)), items)

    def _page_offset(self, page: dict, n_items: int) -> int:
        """The page's ``offset`` (else the request's), checked so that every item's position
        (``offset + i``) is a non-negative int64; :class:`Reject` otherwise."""
        try:
            off = to_int(page.get("offset"), "offset")
        except Bad as e:
            raise Reject(e.reason) from None
        if off is None:
            q = parse_qs(urlsplit(self.env.request).query)
            try:
                off = int(q.get("offset", ["0"])[0])
            except ValueError:
                raise Reject("page has no usable offset") from None
        if not 0 <= off <= page_offset_limit(n_items):
            raise Reject(f"page offset {short_number(off)} out of range for {n_items} items (positions must be "
                         "non-negative int64)")
        return off

    def _batch_or_single(self, body: dict, key: str, add) -> None:
        entries = body.get(key)
        if "id" not in body and key in body:
            if type(entries) is not list:
                raise Reject(f"batch body's {key!r} is not an array")
            c = self._c[SOURCE_TABLE[self.source]]
            for e in entries:
                if e is None:
                    c.seen += 1
                    c.excluded["null batch entry"] += 1
                elif type(e) is not dict:
                    c.seen += 1
                    self._q(SOURCE_TABLE[self.source], f"batch entry is a JSON {type(e).__name__}", e)
                else:
                    add(e)
        else:
            add(body)

    def _body_tracks(self, body: dict) -> None:
        self._batch_or_single(body, "tracks", self.track)

    def _body_albums(self, body: dict) -> None:
        self._batch_or_single(body, "albums", lambda a: self.album(a, True))

    def _body_artists(self, body: dict) -> None:
        self._batch_or_single(body, "artists", lambda a: self.artist(a, True))

    def _body_plays(self, body: dict) -> None:
        items = body.get("items")
        if type(items) is not list:
            raise Reject("page has no items array")
        day = self._file_day(self.env.file)
        for it in items:
            self.play(it, day)

    def _body_top_tracks(self, body: dict) -> None:
        self._top(body, "top_tracks", "track")

    def _body_top_artists(self, body: dict) -> None:
        self._top(body, "top_artists", "artist")

    def _body_saved_tracks(self, body: dict) -> None:
        items = body.get("items")
        if type(items) is not list:
            raise Reject("page has no items array")
        for it in items:
            self.saved_track(it)

    # -- entities ------------------------------------------------------------------------------------
    def _in_range(self, table: str, column: str, v) -> None:
        """``Bad`` when the computed value ``v`` of ``table.column`` is outside the column's valid range."""
        if v is not None:
            self.valid[table][column].check(v)

    def _is_dup(self, table: str, key: str, rank: int) -> bool:
        best = self.best_ranks[table]
        b = best.get(key)
        if b is not None and b >= rank:
            self._c[table].excluded["duplicate merged"] += 1
            return True
        best[key] = rank
        return False

    def playlist(self, p: dict) -> None:
        c = self._c["playlists"]
        c.seen += 1
        try:
            pid = spotify_id(p.get("id"), "playlist id")
            page = self._embedded_page(p)
            total = to_int(page.get("total"), "total") if page else None
            self._in_range("playlists", "total_items", total)
            values = self._rows["playlists"].read(p)
            items = to_list(page.get("items"), "items") if page else None
            offset = self._page_offset(page, len(items)) if items else 0
        except (Bad, Reject) as e:
            self._q("playlists", e.reason if isinstance(e, Bad) else str(e), p)
            return
        if not self._is_dup("playlists", pid, self.env.rank):
            row = self._rows["playlists"].build(values, self.env.rank, playlist_id=pid, total_items=total)
            self.builders["playlists"].rows.append(row)
            c.emitted += 1
        if items:
            self.items(pid, offset, items)

    @staticmethod
    def _embedded_page(p: dict) -> dict | None:
        # Extended mode: ``tracks`` (paging of items carrying ``track``); development mode: ``items``.
        pages = [to_dict(p.get(k), k) for k in ("tracks", "items")]
        pages = [pg for pg in pages if pg is not None]
        for pg in pages:
            if type(pg.get("items")) is list:
                return pg
        return pages[0] if pages else None

    def items(self, pid: str, offset: int, items: list) -> None:
        c = self._c["playlist_items"]
        ct = self._c["tracks"]
        reader = self._rows["playlist_items"]
        rows = self.builders["playlist_items"].rows
        append = rows.append
        before = len(rows)
        rank = self.env.rank
        track = self.track
        is_id = _valid_id
        c.seen += len(items)
        for i, it in enumerate(items):
            if it is None:
                c.excluded["null item"] += 1
                continue
            if type(it) is not dict:
                self._q("playlist_items", f"item is a JSON {type(it).__name__}", it)
                continue
            try:
                obj = it.get("track")
                if obj is None:
                    obj = it.get("item")  # development mode
                if obj is None:
                    if it.get("is_local") is True:
                        itype, iid, linked = "local", None, None
                    else:
                        c.excluded["null item"] += 1
                        continue
                elif type(obj) is not dict:
                    raise Bad(f"track is a JSON {type(obj).__name__}")
                elif it.get("is_local") is True or obj.get("is_local") is True:
                    itype, iid, linked = "local", None, None
                elif obj.get("type") == "episode":
                    itype, iid, linked = "episode", spotify_id(obj.get("id"), "episode id"), None
                else:
                    itype = "track"
                    iid = obj.get("id")
                    if type(iid) is not str or not is_id(iid):
                        spotify_id(iid, "track id")  # raises with the reason
                    lf = obj.get("linked_from")
                    linked = opt_id(lf.get("id"), "linked_from.id") if type(lf) is dict else None
                values = reader.read(it)
            except Bad as e:
                self._q("playlist_items", e.reason, it)
                continue
            append(reader.build(values, rank, playlist_id=pid, position=offset + i, item_type=itype, item_id=iid,
                                linked_from_id=linked))
            if itype == "track":
                track(obj)
            elif itype == "local":
                ct.seen += 1
                ct.excluded["local track"] += 1
        c.emitted += len(rows) - before

    def track(self, t: dict) -> None:
        c = self._c["tracks"]
        c.seen += 1
        tid = t.get("id")
        rank = self.env.rank
        best = self.best_ranks["tracks"].get(tid) if type(tid) is str else None
        if best is not None and best >= rank:
            c.excluded["duplicate merged"] += 1
            album, artists = t.get("album"), t.get("artists")
            if type(album) is dict:
                self.album(album, False)
            if type(artists) is list:
                self._nested_artists(artists)
            return
        try:
            if type(tid) is not str or not _valid_id(tid):
                spotify_id(tid, "track id")
            album = t.get("album")
            if album is not None:  # the track's reference to its album must be usable
                if type(album) is not dict:
                    raise Bad("album is not an object")
                album_ref = album.get("id")
                if type(album_ref) is not str or not _valid_id(album_ref):
                    spotify_id(album_ref, "album id")
            artists = t.get("artists")
            if artists is not None and type(artists) is not list:
                raise Bad("artists is not an array")
            values = self._rows["tracks"].read(t)
        except Bad as e:
            self._q("tracks", e.reason, t)
            return
        album_id = self.album(album, False) if album is not None else None
        if self._is_dup("tracks", tid, rank):
            if artists:  # the nested artists are candidates of their own
                self._nested_artists(artists)
            return
        b = self.builders["tracks"]
        seq = b.seq_base + len(b.rows)
        b.rows.append(self._rows["tracks"].build(values, rank, track_id=tid, album_id=album_id))
        c.emitted += 1
        if artists:
            link = self._artist_link
            for pos, a in enumerate(artists):
                link("track_artists", seq, tid, a, pos)

    def album(self, a: dict, full: bool) -> str | None:
        """Add an album candidate; returns its ID when valid (even if its other fields are quarantined)."""
        c = self._c["albums"]
        c.seen += 1
        rank = self.env.rank + FULL if full else self.env.rank
        aid = a.get("id")
        best = self.best_ranks["albums"].get(aid) if type(aid) is str else None
        if best is not None and best >= rank:
            # A copy that cannot win the dedupe: counted, its own fields not re-validated; its artists
            # are still candidates of their own.
            c.excluded["duplicate merged"] += 1
            artists = a.get("artists")
            if type(artists) is list:
                self._nested_artists(artists)
            return aid
        try:
            aid = spotify_id(aid, "album id")
        except Bad as e:
            self._q("albums", e.reason, a)
            return None
        try:
            sent_date = a.get("release_date")
            days, precision = release_date(sent_date, a.get("release_date_precision"))
            self._in_range("albums", "release_date", days)
            artists = to_list(a.get("artists"), "artists")
            values = self._rows["albums"].read(a)
        except Bad as e:
            self._q("albums", e.reason, a)
            return aid
        if self._is_dup("albums", aid, rank):
            if artists:
                self._nested_artists(artists)
            return aid
        if days is None and sent_date is not None:  # "0000", "2007-13": kept as null (release_date_raw has it)
            self.coerced["albums"]["release_date"] += 1
        b = self.builders["albums"]
        seq = b.seq_base + len(b.rows)
        b.rows.append(self._rows["albums"].build(values, rank, album_id=aid, release_date=days,
                                                 release_date_precision=precision))
        c.emitted += 1
        if artists:
            for pos, ar in enumerate(artists):
                self._artist_link("album_artists", seq, aid, ar, pos)
        return aid

    def _nested_artists(self, artists: list) -> None:
        """Artists inside an occurrence that lost early: no links, but each artist is a candidate."""
        for a in artists:
            if type(a) is dict and type(a.get("id")) is str and _valid_id(a["id"]):
                self.artist(a, False)

    def _artist_link(self, table: str, pseq: int, parent_id: str, a, pos: int) -> None:
        c = self._c[table]
        c.seen += 1
        try:
            if type(a) is not dict:
                raise Bad(f"artist is a JSON {type(a).__name__}")
            arid = spotify_id(a.get("id"), "artist id")
        except Bad as e:
            self._q(table, e.reason, a)
            return
        parent = "track_id" if table == "track_artists" else "album_id"
        self.builders[table].rows.append(
            self._rows[table].build((), pseq, **{parent: parent_id}, artist_id=arid, position=pos))
        c.emitted += 1
        self.artist(a, False)

    def artist(self, a: dict, full: bool) -> None:
        c = self._c["artists"]
        c.seen += 1
        rank = self.env.rank + FULL if full else self.env.rank
        arid = a.get("id")
        best = self.best_ranks["artists"].get(arid) if type(arid) is str else None
        if best is not None and best >= rank:
            c.excluded["duplicate merged"] += 1
            return
        reader = self._rows["artists"] if full else self._simple_artist
        try:
            arid = spotify_id(arid, "artist id")
            values = reader.read(a)
            genres = to_list(a.get("genres"), "genres") if full else None
        except Bad as e:
            self._q("artists", e.reason, a)
            return
        if self._is_dup("artists", arid, rank):
            return
        b = self.builders["artists"]
        seq = b.seq_base + len(b.rows)
        b.rows.append(reader.build(values, rank, artist_id=arid))
        c.emitted += 1
        if genres:
            cg = self._c["artist_genres"]
            genre_row = self._rows["artist_genres"].build
            append = self.builders["artist_genres"].rows.append
            for g in genres:
                cg.seen += 1
                if type(g) is str and g:
                    append(genre_row((), seq, artist_id=arid, genre=g))
                    cg.emitted += 1
                else:
                    self._q("artist_genres", "genre is not a non-empty string", {"artist_id": arid, "genre": g})

    # -- the listening sources -----------------------------------------------------------------------
    def _file_day(self, file: str) -> tuple[int, int] | None:
        """``[start, end)`` in UTC microseconds of the day named by ``file``'s ``dt=`` folder (None: no such
        folder, every play is kept)."""
        if file not in self._day_bounds:
            m = _FILE_DAY.search(file)
            bounds = None
            if m:
                try:
                    start = timestamp_us(_dt.date.fromisoformat(m.group(1)).isoformat() + "T00:00:00+00:00")
                    bounds = (start, start + _DAY_US)
                except ValueError:
                    bounds = None
            self._day_bounds[file] = bounds
        return self._day_bounds[file]

    def play(self, it, day: tuple[int, int] | None) -> None:
        c = self._c["plays"]
        c.seen += 1
        if it is None:
            c.excluded["null item"] += 1
            return
        if type(it) is not dict:
            self._q("plays", f"play is a JSON {type(it).__name__}", it)
            return
        reader = self._rows["plays"]
        try:
            values = reader.read(it, check=False)  # (a play of another day is an exclusion, not out of range)
            played = values[0]  # played_at is the table's first path column (checked in _PLAYED_AT)
            if played is None:
                raise Bad("missing played_at")
        except Bad as e:
            self._q("plays", e.reason, it)
            return
        if day is not None and not day[0] <= played < day[1]:
            c.excluded["played on another day"] += 1  # that day's folder holds the response too
            return
        try:
            reader.check(values)
            obj = it.get("track")
            if obj is None:
                raise Bad("missing track")
            if type(obj) is not dict:
                raise Bad(f"track is a JSON {type(obj).__name__}")
            if obj.get("type") == "episode":
                raise Bad("play of an episode (recently played lists tracks only)")
            local = obj.get("is_local") is True
            tid = None if local else spotify_id(obj.get("id"), "track id")
        except Bad as e:
            self._q("plays", e.reason, it)
            return
        self.builders["plays"].rows.append(reader.build(values, self.env.rank, track_id=tid))
        c.emitted += 1
        if local:
            ct = self._c["tracks"]
            ct.seen += 1
            ct.excluded["local track"] += 1
        else:
            self.track(obj)

    def _time_range(self) -> str:
        q = parse_qs(urlsplit(self.env.request).query)
        time_range = q.get("time_range", ["medium_term"])[0]  # Spotify's default
        if time_range not in TIME_RANGES:
            raise Reject(f"request's time_range {time_range[:40]!r} is not one of {', '.join(TIME_RANGES)}")
        return time_range

    def _top(self, body: dict, table: str, kind: str) -> None:
        time_range = self._time_range()
        items = body.get("items")
        if type(items) is not list:
            raise Reject("page has no items array")
        offset = self._page_offset(body, len(items) + 1)  # ranks run to offset + len(items)
        c = self._c[table]
        build = self._rows[table].build
        append = self.builders[table].rows.append
        rank = self.env.rank
        for i, obj in enumerate(items):
            c.seen += 1
            if obj is None:
                c.excluded["null item"] += 1
                continue
            if type(obj) is not dict:
                self._q(table, f"{kind} is a JSON {type(obj).__name__}", obj)
                continue
            try:
                oid = spotify_id(obj.get("id"), f"{kind} id")
            except Bad as e:
                self._q(table, e.reason, obj)
                continue
            append(build((), rank, time_range=time_range, rank=offset + i + 1, **{f"{kind}_id": oid}))
            c.emitted += 1
            if kind == "track":
                self.track(obj)
            else:
                self.artist(obj, True)

    def saved_track(self, it) -> None:
        c = self._c["saved_tracks"]
        c.seen += 1
        if it is None:
            c.excluded["null item"] += 1
            return
        if type(it) is not dict:
            self._q("saved_tracks", f"saved track is a JSON {type(it).__name__}", it)
            return
        obj = it.get("track")
        if obj is None:
            c.excluded["null item"] += 1
            return
        reader = self._rows["saved_tracks"]
        try:
            if type(obj) is not dict:
                raise Bad(f"track is a JSON {type(obj).__name__}")
            if obj.get("is_local") is True:
                c.excluded["local track"] += 1  # no Spotify ID to key the row by
                return
            tid = spotify_id(obj.get("id"), "track id")
            values = reader.read(it)
        except Bad as e:
            self._q("saved_tracks", e.reason, it)
            return
        self.builders["saved_tracks"].rows.append(reader.build(values, self.env.rank, track_id=tid))
        c.emitted += 1
        self.track(obj)


# Extractor.play reads played_at as the first value RowReader gives for plays.
_PLAYED_AT = S.TABLES["plays"].path_columns[0].name
assert _PLAYED_AT == "played_at", "plays: played_at must stay the first path column"
