"""The crawl report: what one crawl asked for and what it wrote, for the log and the raw assets' metadata.

Requests made (per endpoint, retries, 429s, 5xx, dropped connections, bytes) come from the client's
accounting; the minimum (the requests the plan needed, by kind) and the records per source from the
request queue; what became of the playlists, albums and artists from the crawl's state objects.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ..accounting import RequestStats
from .carry import CARRIED_SOURCES, Carrying
from .lookups import Discovered
from .playlists import PlaylistCounts
from .scheduling import RequestQueue

SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists", "top_tracks", "top_artists", "saved_tracks")


@dataclass
class CrawlReport:
    mode: str
    requests_by_endpoint: dict[str, int]
    total_requests: int
    minimum_requests: int
    minimum_breakdown: dict[str, int]
    retries: int
    rate_limited: int
    server_errors: int
    dropped_connections: int
    token_refreshes: int
    bytes: int
    seconds: float
    playlists_total: int
    playlists_unchanged: int
    playlists_changed: int
    playlists_unavailable: int
    tracks: int
    albums: int  # albums in today's partition: fetched + carried
    artists: int  # artists in today's partition: fetched + carried
    records_by_source: dict[str, int]
    records_carried: int  # envelopes carried over from the previous partition, all sources
    albums_fetched: int = 0
    albums_carried: int = 0
    artists_fetched: int = 0
    artists_carried: int = 0
    records_carried_by_source: dict[str, int] = field(default_factory=dict)
    full_copy_max_age_days: int = 0
    completed: bool = True

    @property
    def requests_per_second(self) -> float:
        return self.total_requests / self.seconds if self.seconds > 0 else 0.0

    def as_metadata(self) -> dict[str, Any]:
        """Flat, JSON-able (str/int/float/bool) dict for Dagster metadata. Contains no secrets."""
        out: dict[str, Any] = {}
        for k, v in asdict(self).items():
            if isinstance(v, dict):
                for kk, vv in v.items():
                    out[f"{k}.{kk}"] = vv
            else:
                out[k] = v
        out["requests_per_second"] = round(self.requests_per_second, 2)
        return out


def crawl_report(*, mode: str, stats: RequestStats, started: float, requests: RequestQueue,
                 playlists: PlaylistCounts, found: Discovered, carrying: Carrying, completed: bool) -> CrawlReport:
    """The report of a crawl so far (also of one that stopped half-way); ``started``: its ``time.monotonic()``."""
    snap = stats.snapshot()
    return CrawlReport(
        mode=mode,
        requests_by_endpoint=snap["requests_by_endpoint"],
        total_requests=snap["total_requests"],
        minimum_requests=sum(requests.minimum.values()),
        minimum_breakdown=dict(requests.minimum),
        retries=snap["retries"],
        rate_limited=snap["rate_limited"],
        server_errors=snap["server_errors"],
        dropped_connections=snap["dropped_connections"],
        token_refreshes=snap["token_refreshes"],
        bytes=snap["bytes"],
        seconds=round(time.monotonic() - started, 3),
        playlists_total=playlists.total,
        playlists_unchanged=playlists.unchanged,
        playlists_changed=playlists.changed,
        playlists_unavailable=playlists.unavailable,
        tracks=len(found.tracks),
        albums=found.albums_fetched + carrying.albums.counts.carried,
        artists=found.artists_fetched + carrying.artists.counts.carried,
        records_by_source={s: requests.records.get(s, 0) for s in SOURCES},
        records_carried=sum(carrying.carried.values()),
        albums_fetched=found.albums_fetched,
        albums_carried=carrying.albums.counts.carried,
        artists_fetched=found.artists_fetched,
        artists_carried=carrying.artists.counts.carried,
        records_carried_by_source={s: carrying.carried.get(s, 0) for s in ("playlist_items", *CARRIED_SOURCES)},
        full_copy_max_age_days=carrying.max_age_days,
        completed=completed,
    )
