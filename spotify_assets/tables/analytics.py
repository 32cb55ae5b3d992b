"""Every analytics query, declared once: its SQL file, the tables it reads, its parameters and its output.

An :class:`AnalyticsQuery` is the one registry of a query. Everything else is derived from it: the list of
queries (:data:`spotify_assets.sql.ANALYTICS`), the parameters a run renders into the SQL, the Dagster asset
with its lineage, column schema and description (``defs/analytics``), the Glue table and the DuckDB view.
Adding a query is one entry in :data:`ANALYTICS_QUERIES` plus its ``spotify_assets/sql/<name>.sql`` file.

The query's result (without its trailing ``dt`` column, which is the partition) is cast to the declared
schema before it is staged, so both engines publish identical files; a result that cannot be cast, or with
a null key, fails the step and leaves the published day untouched.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from .contract import Column, TableSpec


def _day(day: _dt.date, days_before: int) -> str:
    return (day - _dt.timedelta(days=days_before)).isoformat()


def _at_least_one(value: Any) -> int:
    return max(int(value), 1)


@dataclass(frozen=True)
class AnalyticsQuery:
    """One analytics query: ``spotify_assets/sql/<name>.sql`` and the table it publishes.

    ``reads`` are the lake tables the SQL reads (the lineage the UI draws; a test checks it against the
    SQL). ``defaults`` are the tunable parameters (a run may override them); ``derive`` turns the partition
    day and those tunables into the SQL's ``{{ placeholders }}`` other than ``dt``.
    """

    name: str
    key: tuple[str, ...]
    description: str
    columns: tuple[Column, ...]
    reads: tuple[str, ...]
    defaults: Mapping[str, int] = field(default_factory=dict)
    derive: Callable[[_dt.date, Mapping[str, Any]], dict[str, Any]] = lambda day, tunables: dict(tunables)

    @property
    def sql_file(self) -> str:
        """The source file's name, in ``spotify_assets/sql/``."""
        return f"{self.name}.sql"

    @property
    def table(self) -> TableSpec:
        """The output contract: Parquet schema, Glue columns, DuckDB view and the UI's column schema."""
        return TableSpec(self.name, key=self.key, description=self.description, columns=self.columns,
                         source=f"sql/{self.sql_file}")

    def parameters(self, day: _dt.date, **overrides: Any) -> dict[str, Any]:
        """The SQL parameters for partition ``day``: the defaults, overridden, derived; other overrides as given."""
        tunables = {name: overrides.pop(name, default) for name, default in self.defaults.items()}
        return {"dt": day.isoformat(), **self.derive(day, tunables), **overrides}


ANALYTICS_QUERIES: dict[str, AnalyticsQuery] = {
    q.name: q
    for q in (
        AnalyticsQuery(
            "daily_top_tracks",
            ("track_rank",),
            "The day's top tracks by popularity (by playlist appearances where popularity is absent, as in "
            "development quota mode).",
            (
                Column("track_rank", pa.int64(), "1 for the day's top track.", nullable=False),
                Column("track_id", pa.string(), "Spotify ID of the track."),
                Column("name", pa.string(), "Track name."),
                Column("album_id", pa.string(), "Spotify ID of the track's album."),
                Column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
                Column("playlist_appearances", pa.int64(), "Playlist positions holding the track that day."),
                Column("playlist_count", pa.int64(), "Distinct playlists holding the track that day."),
                Column("ranked_by", pa.string(), "`popularity`, or `playlist_appearances` where popularity is null."),
            ),
            reads=("tracks", "playlist_items"),
            defaults={"top_n": 50},
        ),
        AnalyticsQuery(
            "artist_trend",
            ("artist_id", "snapshot_dt"),
            "Artist popularity and followers over the last partitions, with day-over-day change.",
            (
                Column("artist_id", pa.string(), "Spotify ID of the artist.", nullable=False),
                Column("name", pa.string(), "Artist name on the snapshot day."),
                Column("snapshot_dt", pa.string(), "Day of the snapshot (YYYY-MM-DD).", nullable=False),
                Column("previous_snapshot_dt", pa.string(), "The artist's previous snapshot day in the window."),
                Column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
                Column("popularity_change", pa.int64(), "Change since the previous snapshot."),
                Column("followers", pa.int64(), "Follower count; null in development quota mode."),
                Column("followers_change", pa.int64(), "Change since the previous snapshot."),
            ),
            reads=("artists",),
            defaults={"days": 30},  # the window, ending with the partition day
            derive=lambda day, t: {"start_dt": _day(day, _at_least_one(t["days"]) - 1)},
        ),
        AnalyticsQuery(
            "genre_share",
            ("genre",),
            "Share of artists and of playlist track appearances per genre.",
            (
                Column("genre", pa.string(), "Genre name, as Spotify spells it.", nullable=False),
                Column("artist_count", pa.int64(), "Artists of the day tagged with the genre."),
                Column("artist_share", pa.float64(), "artist_count over all artists of the day."),
                Column("track_appearances", pa.int64(), "Playlist positions holding a track by an artist of the genre."),
                Column("track_appearance_share", pa.float64(), "track_appearances over all track positions of the day."),
            ),
            reads=("artists", "artist_genres", "track_artists", "playlist_items"),
        ),
        AnalyticsQuery(
            "playlist_churn",
            ("playlist_id",),
            "Items added to and removed from each playlist since its previous snapshot.",
            (
                Column("playlist_id", pa.string(), "Spotify ID of the playlist.", nullable=False),
                Column("previous_dt", pa.string(), "The playlist's previous snapshot day in the look-back window."),
                Column("item_count", pa.int64(), "Distinct item ids in the playlist that day."),
                Column("previous_item_count", pa.int64(), "Distinct item ids at the previous snapshot."),
                Column("items_added", pa.int64(), "Item ids present now and not at the previous snapshot."),
                Column("items_removed", pa.int64(), "Item ids present at the previous snapshot and not now."),
            ),
            reads=("playlists", "playlist_items"),
            defaults={"lookback_days": 7},
            derive=lambda day, t: {"start_dt": _day(day, _at_least_one(t["lookback_days"]))},
        ),
        AnalyticsQuery(
            "listening_by_hour",
            ("weekday", "hour"),
            "The user's plays of the last 28 days by weekday and hour of day (UTC): when the user listens.",
            (
                Column("weekday", pa.int64(), "ISO weekday of the plays: 1 = Monday … 7 = Sunday (UTC).", nullable=False),
                Column("weekday_name", pa.string(), "The weekday's English name."),
                Column("hour", pa.int64(), "Hour of day of the plays, 0-23 (UTC).", nullable=False),
                Column("plays", pa.int64(), "Plays in that weekday and hour over the window."),
                Column("distinct_tracks", pa.int64(), "Different tracks among those plays."),
                Column("track_minutes", pa.float64(), "The played tracks' lengths added up, in minutes (a skipped "
                       "track counts whole: Spotify does not say how much was heard)."),
                Column("share_of_plays", pa.float64(), "plays over all plays of the window."),
                Column("window_days", pa.int64(), "Days in the window, ending with the partition day."),
            ),
            reads=("plays", "tracks"),
            defaults={"days": 28},  # four of each weekday
            derive=lambda day, t: {"days": _at_least_one(t["days"]), "start_dt": _day(day, _at_least_one(t["days"]) - 1)},
        ),
        AnalyticsQuery(
            "top_artists_by_plays",
            ("window_days", "artist_rank"),
            "The user's top artists by plays over the last 7 and the last 30 days (every credited artist of a "
            "played track counts the play).",
            (
                Column("window_days", pa.int64(), "7 or 30: the window, ending with the partition day.", nullable=False),
                Column("artist_rank", pa.int64(), "1 for the window's most played artist.", nullable=False),
                Column("artist_id", pa.string(), "Spotify ID of the artist."),
                Column("name", pa.string(), "Artist name (on the latest day of the window it appears on)."),
                Column("plays", pa.int64(), "Plays of tracks the artist is credited on, in the window."),
                Column("distinct_tracks", pa.int64(), "Different tracks of the artist played in the window."),
                Column("share_of_plays", pa.float64(), "plays over all plays of the window (shares add up to more "
                       "than 1 when tracks credit several artists)."),
            ),
            reads=("plays", "track_artists", "artists"),
            defaults={"top_n": 20},
            derive=lambda day, t: {"top_n": t["top_n"], "start_week_dt": _day(day, 6), "start_month_dt": _day(day, 29)},
        ),
        AnalyticsQuery(
            "discoveries",
            ("track_id",),
            "Tracks the user played on the partition day and not in the 90 days before (within the plays the "
            "lake holds): the day's first plays.",
            (
                Column("track_id", pa.string(), "Spotify ID of the track.", nullable=False),
                Column("name", pa.string(), "Track name."),
                Column("album_id", pa.string(), "Spotify ID of the track's album."),
                Column("first_played_at", pa.timestamp("us", tz="UTC"), "The day's first play of the track (UTC)."),
                Column("plays", pa.int64(), "Plays of the track that day."),
                Column("first_context_type", pa.string(), "Context of that first play (`playlist`, `album`, …)."),
                Column("first_context_uri", pa.string(), "Spotify URI of that context."),
            ),
            reads=("plays", "tracks"),
            defaults={"lookback_days": 90},
            derive=lambda day, t: {"lookback_days": _at_least_one(t["lookback_days"]),
                                   "start_dt": _day(day, _at_least_one(t["lookback_days"]))},
        ),
    )
}

ANALYTICS_TABLES: dict[str, TableSpec] = {name: query.table for name, query in ANALYTICS_QUERIES.items()}
