"""The ordered track feed: full tracks reach the look-ups in one canonical order, whatever order the
responses complete in.

The order: playlists in seed order then ``me/playlists`` order, each playlist's items in page order; then
the user's top tracks and saved tracks (after the playlists, so the playlists' look-up batches are what
they would be without the library); then the look-ups of seed tracks not seen in full. Each of these is a
:class:`Segment` whose parts (item pages, look-up answers) arrive in any order and are consumed in plan
order - a reorder buffer. Because the look-up batches are cut from this order, the crawl makes the same
requests, and writes the same records, in every run.
"""

from __future__ import annotations

from functools import partial

from .lookups import Lookups
from .refs import TrackRefs


class Segment:
    """One unit of the ordered track feed (a playlist, a library source, or the seed-track look-ups): its
    parts (item pages / look-up batches) arrive in any order and are consumed in plan order."""

    __slots__ = ("n_parts", "parts", "next")

    def __init__(self) -> None:
        self.n_parts: int | None = None  # None until the plan for this segment is known
        self.parts: dict[int, list[TrackRefs]] = {}
        self.next = 0


class TrackFeed:
    """The segments in canonical order, consumed into :class:`~.lookups.Lookups` by :meth:`pump`.

    The feed is *closed* once every playlist segment is known (all ``me/playlists`` pages in); it is *done*
    once every segment, the seed-track look-ups included, is consumed, and then the look-ups send their
    remainders."""

    def __init__(self, lookups: Lookups, seed_tracks: list[str]) -> None:
        self.lookups = lookups
        self._segments: list[Segment] = []
        self._cursor = 0
        self._closed = False
        self.done = False
        self._seed_tracks = list(seed_tracks)
        self._library_segments: list[Segment] = []  # join the feed after the playlists'
        self._library_joined = False

    def segment(self) -> Segment:
        """A new segment at the end of the feed (a playlist)."""
        seg = Segment()
        self._segments.append(seg)
        return seg

    def library_segment(self) -> Segment:
        """A new segment of the user's library, consumed after every playlist's."""
        seg = Segment()
        self._library_segments.append(seg)
        return seg

    def close(self) -> None:
        """No playlist segment will be added any more."""
        self._closed = True

    def pump(self) -> None:
        """Consume every part that is next in canonical order; at the feed's end, flush the look-ups."""
        while True:
            while self._cursor < len(self._segments):
                seg = self._segments[self._cursor]
                while seg.n_parts is not None and seg.next < seg.n_parts and seg.next in seg.parts:
                    for refs in seg.parts.pop(seg.next):
                        self.lookups.consume(refs)
                    seg.next += 1
                if seg.n_parts is None or seg.next < seg.n_parts:
                    return
                self._cursor += 1
            if not self._closed or self.done:
                return
            if self._library_joined or not self._library_segments:
                break
            self._library_joined = True
            self._segments.extend(self._library_segments)
        missing = self.lookups.unknown_tracks(self._seed_tracks)
        self._seed_tracks = []
        if missing:  # seed tracks not seen in full: one more segment, then the end
            self._look_up_seed_tracks(missing)
            return
        self.done = True
        self.lookups.feed_ended()

    def _look_up_seed_tracks(self, ids: list[str]) -> None:
        seg = self.segment()
        batches = self.lookups.track_batches(ids)
        seg.n_parts = len(batches)
        for i, batch in enumerate(batches):
            self.lookups.look_up_tracks(batch, partial(self.deliver, seg, i))

    def deliver(self, seg: Segment, part: int, refs: list[TrackRefs]) -> None:
        """Part ``part`` of ``seg`` has arrived: consume what is next in order."""
        seg.parts[part] = refs
        self.pump()
