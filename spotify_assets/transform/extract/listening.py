"""Row rules of the user's own listening: plays, top tracks/artists, saved tracks.

Part of :class:`.extractor.Extractor` (a mixin: it uses the extractor's builders, readers and counts).

Decisions:

* ``plays`` (recently played pages): a raw file of day D may hold a response with plays of the day
  before too (a run just after midnight lands the response in both days' folders, verbatim); a play
  whose ``played_at`` (UTC) is not on the day of the file's ``dt=`` folder is not this day's row
  (exclusion "played on another day"), so every play is a row of exactly one day. Overlapping responses
  (a re-run, two runs at once) give the same play twice: one row per ``played_at`` (latest
  ``fetched_at`` wins, like every entity). A play without a valid ``played_at`` (1970-01-01 counts as
  missing), without its track object, or of an episode is quarantined; a local file's play is a row
  with a null ``track_id`` and nothing in ``tracks`` (exclusion "local track").
* ``top_tracks`` / ``top_artists``: ``time_range`` is the request's (Spotify's default
  ``medium_term`` when absent; any other value rejects the page, :func:`.pages.request_time_range`),
  ``rank`` is offset + index + 1.
* ``saved_tracks``: one row per saved track; local files cannot be keyed by ``track_id`` (exclusion
  "local track").
* The tracks and artists inside these responses are full objects: candidates of ``tracks`` /
  ``artists`` (and, through them, ``albums`` and the link tables) exactly like a playlist item's track
  (:mod:`.music`).
"""

from __future__ import annotations

import datetime as _dt
import re

from spotify_assets.spotify.shapes import track_of

from ... import tables as S
from ..coerce import Bad, spotify_id, timestamp_us
from .pages import page_items, page_offset, request_time_range

_FILE_DAY = re.compile(r"(?:^|/)dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/")
_DAY_US = 86_400_000_000


class ListeningRows:
    """The listening sources' row rules (methods of :class:`.extractor.Extractor`)."""

    # -- bodies per source ---------------------------------------------------------------------------
    def _body_plays(self, body: dict) -> None:
        items = page_items(body)
        day = self._file_day(self.env.file)
        for it in items:
            self.play(it, day)

    def _body_top_tracks(self, body: dict) -> None:
        self._top(body, "top_tracks", "track")

    def _body_top_artists(self, body: dict) -> None:
        self._top(body, "top_artists", "artist")

    def _body_saved_tracks(self, body: dict) -> None:
        items = page_items(body)
        for it in items:
            self.saved_track(it)

    # -- rows ----------------------------------------------------------------------------------------
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
            obj = track_of(it)
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

    def _top(self, body: dict, table: str, kind: str) -> None:
        time_range = request_time_range(self.env.request)
        items = page_items(body)
        offset = page_offset(body.get("offset"), self.env.request, len(items) + 1)  # ranks run to offset + len(items)
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
        obj = track_of(it)
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
