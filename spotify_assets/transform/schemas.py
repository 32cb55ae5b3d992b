"""Arrow schemas of the transformed tables: the contract Glue, Athena SQL and users' queries depend on.

Each column carries its description in the field metadata (key ``description``); the same text becomes
the Dagster ``dagster/column_schema`` description and the Glue column comment. Table and column names
are a contract with Glue, Athena and users' queries: add columns freely, rename none. ``dt`` is not a column in the files: it is the
Hive partition key of the path (``dt=YYYY-MM-DD``) and is added by the query engines.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


def column(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    """A column of a table contract, its description in the field metadata."""
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


@dataclass(frozen=True)
class TableSpec:
    """A transformed table: its name, primary key, Arrow schema and a description for the UI and Glue."""

    name: str
    key: tuple[str, ...]
    schema: pa.Schema
    description: str

    def column_descriptions(self) -> dict[str, str]:
        return {f.name: (f.metadata or {}).get(b"description", b"").decode() for f in self.schema}


PLAYLISTS = TableSpec(
    name="playlists",
    key=("playlist_id",),
    description="One row per playlist and day: its metadata as of the daily snapshot.",
    schema=pa.schema(
        [
            column("playlist_id", pa.string(), "Spotify ID of the playlist (base62).", nullable=False),
            column("name", pa.string(), "Playlist name."),
            column("description", pa.string(), "Playlist description (may contain HTML entities)."),
            column("owner_id", pa.string(), "Spotify user ID of the owner."),
            column("public", pa.bool_(), "Whether the playlist is public; null when not relevant."),
            column("collaborative", pa.bool_(), "Whether other users may modify the playlist."),
            column("followers", pa.int64(), "Follower count; null in development quota mode."),
            column("snapshot_id", pa.string(), "Version identifier of the playlist contents."),
            column("total_items", pa.int64(), "Number of items the playlist reports."),
        ]
    ),
)

PLAYLIST_ITEMS = TableSpec(
    name="playlist_items",
    key=("playlist_id", "position"),
    description="One row per playlist position and day: which track, episode or local file sits there.",
    schema=pa.schema(
        [
            column("playlist_id", pa.string(), "Spotify ID of the playlist.", nullable=False),
            column("position", pa.int64(), "Zero-based position of the item in the playlist.", nullable=False),
            column("item_type", pa.string(), "`track`, `episode` or `local` (a local file, no Spotify ID)."),
            column("item_id", pa.string(), "Spotify ID of the track or episode; null for local files."),
            column("added_at", pa.timestamp("us", tz="UTC"), "When the item was added (null if unknown)."),
            column("added_by_id", pa.string(), "User ID of who added the item; null on very old playlists."),
            column("linked_from_id", pa.string(), "When Spotify relinked the track for the market: the ID originally "
                 "in the playlist (item_id is the playable track's ID, as in tracks.track_id); else null."),
        ]
    ),
)

TRACKS = TableSpec(
    name="tracks",
    key=("track_id",),
    description="One row per track and day, from playlist items and track look-ups.",
    schema=pa.schema(
        [
            column("track_id", pa.string(), "Spotify ID of the track.", nullable=False),
            column("name", pa.string(), "Track name (empty for taken-down tracks)."),
            column("album_id", pa.string(), "Spotify ID of the track's album."),
            column("duration_ms", pa.int64(), "Track length in milliseconds."),
            column("explicit", pa.bool_(), "Whether the track has explicit lyrics."),
            column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
            column("isrc", pa.string(), "International Standard Recording Code."),
            column("disc_number", pa.int64(), "Disc number (usually 1)."),
            column("track_number", pa.int64(), "Position of the track on its disc."),
        ]
    ),
)

TRACK_ARTISTS = TableSpec(
    name="track_artists",
    key=("track_id", "artist_id"),
    description="Which artists perform on which track, in credit order.",
    schema=pa.schema(
        [
            column("track_id", pa.string(), "Spotify ID of the track.", nullable=False),
            column("artist_id", pa.string(), "Spotify ID of the artist.", nullable=False),
            column("position", pa.int64(), "Zero-based order of the artist in the track's credits."),
        ]
    ),
)

ALBUMS = TableSpec(
    name="albums",
    key=("album_id",),
    description="One row per album and day.",
    schema=pa.schema(
        [
            column("album_id", pa.string(), "Spotify ID of the album.", nullable=False),
            column("name", pa.string(), "Album name."),
            column("album_type", pa.string(), "`album`, `single` or `compilation`."),
            column("release_date", pa.date32(), "Release date; the first day of the period for coarser precisions."),
            column("release_date_precision", pa.string(), "`year`, `month` or `day`."),
            column("total_tracks", pa.int64(), "Number of tracks on the album."),
            column("label", pa.string(), "Record label."),
            column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
            column("upc", pa.string(), "Universal Product Code."),
            column("release_date_raw", pa.string(), "release_date exactly as the API sent it (e.g. '0000' for "
                 "taken-down albums, whose release_date is null)."),
        ]
    ),
)

ALBUM_ARTISTS = TableSpec(
    name="album_artists",
    key=("album_id", "artist_id"),
    description="Which artists an album is credited to, in credit order.",
    schema=pa.schema(
        [
            column("album_id", pa.string(), "Spotify ID of the album.", nullable=False),
            column("artist_id", pa.string(), "Spotify ID of the artist.", nullable=False),
            column("position", pa.int64(), "Zero-based order of the artist in the album's credits."),
        ]
    ),
)

ARTISTS = TableSpec(
    name="artists",
    key=("artist_id",),
    description="One row per artist and day.",
    schema=pa.schema(
        [
            column("artist_id", pa.string(), "Spotify ID of the artist.", nullable=False),
            column("name", pa.string(), "Artist name."),
            column("followers", pa.int64(), "Follower count; null in development quota mode."),
            column("popularity", pa.int64(), "Popularity 0-100; null in development quota mode."),
        ]
    ),
)

ARTIST_GENRES = TableSpec(
    name="artist_genres",
    key=("artist_id", "genre"),
    description="The genres Spotify assigns to each artist (artists with none have no rows).",
    schema=pa.schema(
        [
            column("artist_id", pa.string(), "Spotify ID of the artist.", nullable=False),
            column("genre", pa.string(), "Genre name, as Spotify spells it.", nullable=False),
        ]
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (PLAYLISTS, PLAYLIST_ITEMS, TRACKS, TRACK_ARTISTS, ALBUMS, ALBUM_ARTISTS, ARTISTS, ARTIST_GENRES)
}

# Which raw sources feed which table (the lineage graph shows these edges; the audit checks they were read).
TABLE_SOURCES: dict[str, tuple[str, ...]] = {
    "playlists": ("playlists",),
    "playlist_items": ("playlists", "playlist_items"),
    "tracks": ("playlists", "playlist_items", "tracks"),
    "track_artists": ("playlists", "playlist_items", "tracks"),
    "albums": ("albums", "tracks", "playlist_items", "playlists"),
    "album_artists": ("albums",),
    "artists": ("artists", "tracks", "playlist_items", "playlists", "albums"),
    "artist_genres": ("artists",),
}
