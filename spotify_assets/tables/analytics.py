"""The output contract of each analytics query: its columns, types and descriptions.

The query's result (without its trailing ``dt`` column, which is the partition) is cast to this schema
before it is staged, so both engines publish identical files; a result that cannot be cast, or with a
null key, fails the step and leaves the published day untouched. Glue tables and DuckDB views of the
analytics are typed from these schemas too.
"""

from __future__ import annotations

import pyarrow as pa

from .contract import Column, TableSpec


def _spec(name: str, key: tuple[str, ...], description: str, columns: list[Column]) -> TableSpec:
    return TableSpec(name, key=key, description=description, columns=tuple(columns), source=f"sql/{name}.sql")


ANALYTICS_TABLES: dict[str, TableSpec] = {
    s.name: s
    for s in (
        _spec(
            "daily_top_tracks",
            ("track_rank",),
            "The day's top tracks by popularity (by playlist appearances where popularity is absent, as in "
            "development quota mode).",
            [
                Column("track_rank", pa.int64(), "1 for the day's top track.", nullable=False),
                Column("track_id", pa.string(), "Spotify ID of the track."),
                Column("name", pa.string(), "Track name."),
                Column("album_id", pa.string(), "Spotify ID of the track's album."),
                Column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
                Column("playlist_appearances", pa.int64(), "Playlist positions holding the track that day."),
                Column("playlist_count", pa.int64(), "Distinct playlists holding the track that day."),
                Column("ranked_by", pa.string(), "`popularity`, or `playlist_appearances` where popularity is null."),
            ],
        ),
        _spec(
            "artist_trend",
            ("artist_id", "snapshot_dt"),
            "Artist popularity and followers over the last partitions, with day-over-day change.",
            [
                Column("artist_id", pa.string(), "Spotify ID of the artist.", nullable=False),
                Column("name", pa.string(), "Artist name on the snapshot day."),
                Column("snapshot_dt", pa.string(), "Day of the snapshot (YYYY-MM-DD).", nullable=False),
                Column("previous_snapshot_dt", pa.string(), "The artist's previous snapshot day in the window."),
                Column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
                Column("popularity_change", pa.int64(), "Change since the previous snapshot."),
                Column("followers", pa.int64(), "Follower count; null in development quota mode."),
                Column("followers_change", pa.int64(), "Change since the previous snapshot."),
            ],
        ),
        _spec(
            "genre_share",
            ("genre",),
            "Share of artists and of playlist track appearances per genre.",
            [
                Column("genre", pa.string(), "Genre name, as Spotify spells it.", nullable=False),
                Column("artist_count", pa.int64(), "Artists of the day tagged with the genre."),
                Column("artist_share", pa.float64(), "artist_count over all artists of the day."),
                Column("track_appearances", pa.int64(), "Playlist positions holding a track by an artist of the genre."),
                Column("track_appearance_share", pa.float64(), "track_appearances over all track positions of the day."),
            ],
        ),
        _spec(
            "playlist_churn",
            ("playlist_id",),
            "Items added to and removed from each playlist since its previous snapshot.",
            [
                Column("playlist_id", pa.string(), "Spotify ID of the playlist.", nullable=False),
                Column("previous_dt", pa.string(), "The playlist's previous snapshot day in the look-back window."),
                Column("item_count", pa.int64(), "Distinct item ids in the playlist that day."),
                Column("previous_item_count", pa.int64(), "Distinct item ids at the previous snapshot."),
                Column("items_added", pa.int64(), "Item ids present now and not at the previous snapshot."),
                Column("items_removed", pa.int64(), "Item ids present at the previous snapshot and not now."),
            ],
        ),
        _spec(
            "listening_by_hour",
            ("weekday", "hour"),
            "The user's plays of the last 28 days by weekday and hour of day (UTC): when the user listens.",
            [
                Column("weekday", pa.int64(), "ISO weekday of the plays: 1 = Monday … 7 = Sunday (UTC).", nullable=False),
                Column("weekday_name", pa.string(), "The weekday's English name."),
                Column("hour", pa.int64(), "Hour of day of the plays, 0-23 (UTC).", nullable=False),
                Column("plays", pa.int64(), "Plays in that weekday and hour over the window."),
                Column("distinct_tracks", pa.int64(), "Different tracks among those plays."),
                Column("track_minutes", pa.float64(), "The played tracks' lengths added up, in minutes (a skipped "
                       "track counts whole: Spotify does not say how much was heard)."),
                Column("share_of_plays", pa.float64(), "plays over all plays of the window."),
                Column("window_days", pa.int64(), "Days in the window, ending with the partition day."),
            ],
        ),
        _spec(
            "top_artists_by_plays",
            ("window_days", "artist_rank"),
            "The user's top artists by plays over the last 7 and the last 30 days (every credited artist of a "
            "played track counts the play).",
            [
                Column("window_days", pa.int64(), "7 or 30: the window, ending with the partition day.", nullable=False),
                Column("artist_rank", pa.int64(), "1 for the window's most played artist.", nullable=False),
                Column("artist_id", pa.string(), "Spotify ID of the artist."),
                Column("name", pa.string(), "Artist name (on the latest day of the window it appears on)."),
                Column("plays", pa.int64(), "Plays of tracks the artist is credited on, in the window."),
                Column("distinct_tracks", pa.int64(), "Different tracks of the artist played in the window."),
                Column("share_of_plays", pa.float64(), "plays over all plays of the window (shares add up to more "
                       "than 1 when tracks credit several artists)."),
            ],
        ),
        _spec(
            "discoveries",
            ("track_id",),
            "Tracks the user played on the partition day and not in the 90 days before (within the plays the "
            "lake holds): the day's first plays.",
            [
                Column("track_id", pa.string(), "Spotify ID of the track.", nullable=False),
                Column("name", pa.string(), "Track name."),
                Column("album_id", pa.string(), "Spotify ID of the track's album."),
                Column("first_played_at", pa.timestamp("us", tz="UTC"), "The day's first play of the track (UTC)."),
                Column("plays", pa.int64(), "Plays of the track that day."),
                Column("first_context_type", pa.string(), "Context of that first play (`playlist`, `album`, …)."),
                Column("first_context_uri", pa.string(), "Spotify URI of that context."),
            ],
        ),
    )
}
