"""One crawl from start to end: :func:`run_crawl` wires the parts of this package together and runs them.

The crawl is one pipeline, not phases: every request is submitted as soon as what it depends on is known,
so the workers never idle at a phase barrier (playlists -> pages -> albums -> artists overlap). The parts
talk through small state objects the report reads: :class:`~.playlists.PlaylistCounts`,
:class:`~.lookups.Discovered`, :class:`~.carry.Carrying` and the request queue's counters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ..client import SpotifyClient
from ..errors import SpotifyError
from ..ids import validate_ids
from ..mode import detect_mode
from .carry import Carrying, PreviousCopies, PreviousPlaylist, max_age_days, split_previous
from .feed import TrackFeed
from .library import Library
from .lookups import Discovered, Lookups
from .playlists import PlaylistCounts, Playlists
from .report import CrawlReport, crawl_report
from .scheduling import RawSink, RequestQueue

# the package's logger (not this module's): the secret-redacting filter is installed on it by name
log = logging.getLogger(__package__)


@dataclass
class CrawlSeeds:
    playlist_ids: list[str]
    artist_ids: list[str] = field(default_factory=list)
    track_ids: list[str] = field(default_factory=list)
    include_my_playlists: bool = True
    include_my_library: bool = True  # the user's top items and saved tracks (needs a user token)


class Crawl:
    """The state of one crawl, and its run. All callbacks run on the calling (main) thread; workers only
    fetch and write to the sink."""

    def __init__(self, client: SpotifyClient, sink: RawSink, logger: logging.Logger, *,
                 previous_playlists: dict[str, PreviousPlaylist], copies: PreviousCopies, today: date,
                 max_age_days: int) -> None:
        self.client = client
        self.logger = logger
        self.stats = client.reset_accounting()
        self.started = time.monotonic()
        self.mode = client.mode or "auto"
        self.requests = RequestQueue(client, sink, logger)
        self.carrying = Carrying(previous_playlists, copies, write=self.requests.write, today=today,
                                 max_age_days=max_age_days)
        self.playlist_counts = PlaylistCounts()
        self.found = Discovered()
        self.completed = False

    def run(self, seeds: CrawlSeeds) -> None:
        mode, probes = detect_mode(self.client, logger=self.logger)
        self.mode = mode
        if probes:
            self.requests.minimum["mode_probe"] += probes
        self.carrying.start(mode)
        lookups = Lookups(mode, self.requests, self.carrying, self.found, self.logger)
        lookups.seed_artists(seeds.artist_ids)
        feed = TrackFeed(lookups, seeds.track_ids)
        playlists = Playlists(mode, self.requests, feed, self.carrying, self.playlist_counts, self.logger)
        mine = seeds.include_my_playlists and self.client.is_user
        if seeds.include_my_library and self.client.is_user:
            Library(self.requests, feed, self.logger).start()
        elif seeds.include_my_library:
            self.logger.info("spotify crawl: no user token (client credentials only): the user's top items and "
                             "saved tracks are skipped and their raw files stay empty (set SPOTIFY_REFRESH_TOKEN "
                             "to fetch them)")
        self.logger.info("spotify crawl: %d seed playlists%s, %d seed artists, %d seed tracks (mode %s, %d workers)",
                         len(seeds.playlist_ids), " + the user's" if mine else "", len(seeds.artist_ids),
                         len(seeds.track_ids), mode, self.client.settings.max_workers)
        for pid in seeds.playlist_ids:
            playlists.start(pid)
        if mine:
            playlists.start_mine()
        else:
            feed.close()
        feed.pump()
        self.requests.drain()
        if not (feed.done and lookups.artists_flushed) or not self.requests.idle:  # pragma: no cover - a bug
            raise RuntimeError("spotify crawl: the pipeline ended before its feed did")
        self.completed = True
        self.requests.progress.finish()
        self.carrying.log_summary(self.logger, mode, self.found.artists_fetched)

    def report(self) -> CrawlReport:
        return crawl_report(mode=self.mode, stats=self.stats, started=self.started, requests=self.requests,
                            playlists=self.playlist_counts, found=self.found, carrying=self.carrying,
                            completed=self.completed)


def run_crawl(client: SpotifyClient, seeds: CrawlSeeds, sink: RawSink, *,
              previous: Iterable[tuple[str, dict]] | None = None,
              logger: logging.Logger | None = None, today: date | None = None,
              full_copy_max_age_days: int | None = None) -> CrawlReport:
    """Crawl ``seeds`` into ``sink``; see the package docstring.

    ``previous``: the ``(source, envelope)`` records of the previous partition (its playlists, item pages,
    albums and artists), from which unchanged playlists' pages and young album/artist copies are carried.
    ``today``: the partition's day, against which copies are aged (default: today, UTC).
    ``full_copy_max_age_days``: see :func:`.carry.max_age_days` (``None``: ``SPOTIFY_FULL_COPY_MAX_AGE_DAYS``
    or 7; ``0`` looks every album and artist up).

    Raises ``ValueError`` for invalid seed ids or maximum age (before any request), and
    :class:`RateLimitedError` / :class:`RetryBudgetExhaustedError` / :class:`SpotifyAuthError` (with
    ``.report``, the partial report) when the crawl cannot finish."""
    seeds = CrawlSeeds(
        playlist_ids=validate_ids("playlist", seeds.playlist_ids),
        artist_ids=validate_ids("artist", seeds.artist_ids),
        track_ids=validate_ids("track", seeds.track_ids),
        include_my_playlists=seeds.include_my_playlists,
        include_my_library=seeds.include_my_library,
    )
    max_age = max_age_days(full_copy_max_age_days)
    logger = logger or log
    previous_playlists, copies = split_previous(previous)
    crawl = Crawl(client, sink, logger, previous_playlists=previous_playlists, copies=copies,
                  today=today or datetime.now(UTC).date(), max_age_days=max_age)
    try:
        crawl.run(seeds)
    except SpotifyError as e:
        crawl.requests.shutdown()
        e.report = crawl.report()
        logger.error("spotify crawl stopped: %s (%d records fetched)", e, sum(crawl.requests.records.values()))
        raise
    finally:
        crawl.requests.shutdown()
    report = crawl.report()
    logger.info("spotify crawl done: %d requests (minimum %d), %d retries, %d x 429, %.1f s, records %s "
                "(carried over: %s)", report.total_requests, report.minimum_requests, report.retries,
                report.rate_limited, report.seconds, report.records_by_source, report.records_carried_by_source)
    return report
