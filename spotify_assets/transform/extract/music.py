"""Row rules of the music catalog: playlists, their items, tracks, albums, artists and the link tables.

Part of :class:`.extractor.Extractor` (a mixin: it uses the extractor's builders, readers and counts).
Where a response keeps things in either quota mode is read through :mod:`spotify_assets.spotify.shapes`.

Decisions:

* ``track: null`` / ``item: null`` → no ``playlist_items`` row (exclusion "null item").
* Local files (``is_local``) → ``playlist_items`` row with ``item_type='local'``, ``item_id`` null;
  nothing in ``tracks`` (exclusion "local track").
* Episodes → ``item_type='episode'``, ``item_id`` = the episode ID; episodes are not tracks.
* Relinking (``linked_from``): ``item_id`` and ``tracks.track_id`` are the *returned* (playable) track's
  ``id``, so ``playlist_items.item_id`` always joins to ``tracks``; the originally requested ID is kept
  in the column ``playlist_items.linked_from_id``.
* A simplified album/artist seen inside a track (or an album's artists) is a candidate row too, ranked
  below any full object of the same ID (:data:`.builders.FULL`).
* Early dedupe (see :mod:`.extractor`): artists nested in a copy that lost early are still candidates of
  their own.
* ``added_at`` of 1970-01-01T00:00:00Z → null (unknown). ``added_by: null`` → null ``added_by_id``.
  Values a coercion turns into null (these, and release dates that are not calendar dates) are counted
  per table and column (:meth:`.extractor.Extractor.coerced_counts`).
* Columns with a ``path`` in :mod:`spotify_assets.tables` are read, coerced and checked against their
  valid range by :class:`..columns.RowReader` (the first wrong one names the reason); the code below
  computes the other columns (checking the computed ones that declare a range: a playlist's
  ``total_items``, an album's ``release_date`` not after the partition day) and walks the nesting.
* Quarantine is at the smallest unit that failed: an item whose own fields or whose track/episode ID
  are broken → ``playlist_items``; a track with a valid ID but broken fields (a value out of range, an
  album without a valid ID) → ``tracks``; an album/artist → ``albums``/``artists``; a bad artist
  reference or genre → the link table. Unknown fields are ignored. Rows that name a quarantined record
  (a playlist item of a quarantined track, the track of a quarantined album) are quarantined after the
  dedupe, "parent quarantined" (:mod:`spotify_assets.transform.cascade`).
"""

from __future__ import annotations

from spotify_assets.spotify.shapes import EMBEDDED_PAGE_KEYS, embedded_item_page, item_value, lookup_batch

from ..coerce import SPOTIFY_ID, Bad, opt_id, release_date, spotify_id, to_dict, to_int, to_list
from ..records import SOURCE_TABLE, Reject
from .builders import FULL
from .pages import page_items, page_offset, request_playlist_id

_valid_id = SPOTIFY_ID.fullmatch


class MusicRows:
    """The catalog's row rules (methods of :class:`.extractor.Extractor`)."""

    # -- bodies per source ---------------------------------------------------------------------------
    def _body_playlists(self, body: dict) -> None:
        self.playlist(body)

    def _body_playlist_items(self, body: dict) -> None:
        pid = request_playlist_id(self.env.request)
        items = page_items(body)
        self.items(pid, page_offset(body.get("offset"), self.env.request, len(items)), items)

    def _batch_or_single(self, body: dict, endpoint: str, add) -> None:
        batch, entries = lookup_batch(body, endpoint)
        if batch:
            if type(entries) is not list:
                raise Reject(f"batch body's {endpoint!r} is not an array")
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

    # -- entities ------------------------------------------------------------------------------------
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
            offset = page_offset(page.get("offset"), self.env.request, len(items)) if items else 0
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
        """The playlist's embedded item page (:func:`~spotify_assets.spotify.shapes.embedded_item_page`);
        ``Bad`` when one of the keys holds something else than an object."""
        for key in EMBEDDED_PAGE_KEYS:
            to_dict(p.get(key), key)
        return embedded_item_page(p)

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
                obj = item_value(it)
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
        best = self._best["tracks"].get(tid) if type(tid) is str else None
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
        best = self._best["albums"].get(aid) if type(aid) is str else None
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
            self._coerced["albums"]["release_date"] += 1
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
        best = self._best["artists"].get(arid) if type(arid) is str else None
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

