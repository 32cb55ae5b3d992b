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
    )
}
