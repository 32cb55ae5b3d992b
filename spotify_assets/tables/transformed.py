"""The transformed tables: the contract Glue, Athena SQL and users' queries depend on.

Eight catalog tables (playlists and their items, tracks, albums, artists and their links) and four
listening tables, the user's own data (``plays``, ``top_tracks``, ``top_artists``, ``saved_tracks``).

Table and column names are a contract: add columns freely, rename none. ``dt`` is not a column of the
files: it is the Hive partition key of the path (``dt=YYYY-MM-DD``), added by the query engines. Each
column says where its value comes from (see :mod:`.contract`): a ``path`` in the row's source object, or
``filled_by`` for what the transform computes.
"""

from __future__ import annotations

import pyarrow as pa

from .contract import PARTITION_DAY, Column, Range, Reference, TableSpec

_S, _I, _B = pa.string(), pa.int64(), pa.bool_()
_POPULARITY = Range(0, 100)
_COUNT = Range(0)  # counts, lengths, positions
_NOT_AFTER_THE_DAY = Range(high=PARTITION_DAY)
_TRACK = Reference("tracks", "track_id")
_ALBUM = Reference("albums", "album_id")
_ARTIST = Reference("artists", "artist_id")

PLAYLISTS = TableSpec(
    "playlists",
    key=("playlist_id",),
    description="One row per playlist and day: its metadata as of the daily snapshot.",
    source="a playlist object (GET /playlists/{id})",
    columns=(
        Column("playlist_id", _S, "Spotify ID of the playlist (base62).", nullable=False,
               filled_by="id (a valid Spotify ID, else the playlist is quarantined)"),
        Column("name", _S, "Playlist name.", path="name"),
        Column("description", _S, "Playlist description (may contain HTML entities).", path="description"),
        Column("owner_id", _S, "Spotify user ID of the owner.", path="owner.id"),
        Column("public", _B, "Whether the playlist is public; null when not relevant.", path="public"),
        Column("collaborative", _B, "Whether other users may modify the playlist.", path="collaborative"),
        Column("followers", _I, "Follower count; null in development quota mode.", path="followers.total",
               valid=_COUNT),
        Column("snapshot_id", _S, "Version identifier of the playlist contents.", path="snapshot_id"),
        Column("total_items", _I, "Number of items the playlist reports.", valid=_COUNT,
               filled_by="total of the embedded first page (tracks in extended mode, items in development mode)"),
    ),
)

PLAYLIST_ITEMS = TableSpec(
    "playlist_items",
    key=("playlist_id", "position"),
    description="One row per playlist position and day: which track, episode or local file sits there.",
    source="a playlist item (in a playlist's embedded page or an item page)",
    columns=(
        Column("playlist_id", _S, "Spotify ID of the playlist.", nullable=False,
               filled_by="the playlist the page belongs to", references=Reference("playlists", "playlist_id")),
        Column("position", _I, "Zero-based position of the item in the playlist.", nullable=False, valid=_COUNT,
               filled_by="the page's offset plus the item's index in the page"),
        Column("item_type", _S, "`track`, `episode` or `local` (a local file, no Spotify ID).",
               filled_by="is_local and the object's type"),
        Column("item_id", _S, "Spotify ID of the track or episode; null for local files.",
               filled_by="id of the item's track (extended mode) or item (development mode) object",
               references=Reference("tracks", "track_id", when=("item_type", "track"))),
        Column("added_at", pa.timestamp("us", tz="UTC"), "When the item was added (null if unknown).",
               path="added_at", coerce="timestamp"),
        Column("added_by_id", _S, "User ID of who added the item; null on very old playlists.", path="added_by.id"),
        Column("linked_from_id", _S, "When Spotify relinked the track for the market: the ID originally in the "
               "playlist (item_id is the playable track's ID, as in tracks.track_id); else null.",
               filled_by="linked_from.id of the track object"),
    ),
)

TRACKS = TableSpec(
    "tracks",
    key=("track_id",),
    description="One row per track and day, from playlist items and track look-ups.",
    source="a track object (in a playlist item or a track look-up)",
    columns=(
        Column("track_id", _S, "Spotify ID of the track.", nullable=False, filled_by="id"),
        Column("name", _S, "Track name (empty for taken-down tracks).", path="name"),
        Column("album_id", _S, "Spotify ID of the track's album.", references=_ALBUM,
               filled_by="id of the album object (a valid Spotify ID, else the track is quarantined)"),
        Column("duration_ms", _I, "Track length in milliseconds.", path="duration_ms", valid=_COUNT),
        Column("explicit", _B, "Whether the track has explicit lyrics.", path="explicit"),
        Column("popularity", _I, "Popularity 0-100; null in development quota mode.", path="popularity",
               valid=_POPULARITY),
        Column("isrc", _S, "International Standard Recording Code.", path="external_ids.isrc"),
        Column("disc_number", _I, "Disc number (usually 1).", path="disc_number", valid=_COUNT),
        Column("track_number", _I, "Position of the track on its disc.", path="track_number"),
    ),
)

TRACK_ARTISTS = TableSpec(
    "track_artists",
    key=("track_id", "artist_id"),
    description="Which artists perform on which track, in credit order.",
    source="a track's artists array",
    columns=(
        Column("track_id", _S, "Spotify ID of the track.", nullable=False, filled_by="the track's id",
               references=_TRACK),
        Column("artist_id", _S, "Spotify ID of the artist.", nullable=False, filled_by="the artist's id",
               references=_ARTIST),
        Column("position", _I, "Zero-based order of the artist in the track's credits.",
               filled_by="index in the array"),
    ),
)

ALBUMS = TableSpec(
    "albums",
    key=("album_id",),
    description="One row per album and day.",
    source="an album object (an album look-up, or the simplified album inside a track)",
    columns=(
        Column("album_id", _S, "Spotify ID of the album.", nullable=False, filled_by="id"),
        Column("name", _S, "Album name.", path="name"),
        Column("album_type", _S, "`album`, `single` or `compilation`.", path="album_type"),
        Column("release_date", pa.date32(), "Release date; the first day of the period for coarser precisions.",
               filled_by="release_date read with release_date_precision (null when it is not a calendar date, "
               "e.g. '0000')", valid=_NOT_AFTER_THE_DAY),
        Column("release_date_precision", _S, "`year`, `month` or `day`.",
               filled_by="release_date_precision, else the shape of release_date"),
        Column("total_tracks", _I, "Number of tracks on the album.", path="total_tracks", valid=_COUNT),
        Column("label", _S, "Record label.", path="label"),
        Column("popularity", _I, "Popularity 0-100; null in development quota mode.", path="popularity",
               valid=_POPULARITY),
        Column("upc", _S, "Universal Product Code.", path="external_ids.upc"),
        Column("release_date_raw", _S, "release_date exactly as the API sent it (e.g. '0000' for taken-down "
               "albums, whose release_date is null).", path="release_date"),
    ),
)

ALBUM_ARTISTS = TableSpec(
    "album_artists",
    key=("album_id", "artist_id"),
    description="Which artists an album is credited to, in credit order.",
    source="an album's artists array",
    columns=(
        Column("album_id", _S, "Spotify ID of the album.", nullable=False, filled_by="the album's id",
               references=_ALBUM),
        Column("artist_id", _S, "Spotify ID of the artist.", nullable=False, filled_by="the artist's id",
               references=_ARTIST),
        Column("position", _I, "Zero-based order of the artist in the album's credits.",
               filled_by="index in the array"),
    ),
)

ARTISTS = TableSpec(
    "artists",
    key=("artist_id",),
    description="One row per artist and day.",
    source="an artist object (an artist look-up, or a simplified artist inside a track or album)",
    columns=(
        Column("artist_id", _S, "Spotify ID of the artist.", nullable=False, filled_by="id"),
        Column("name", _S, "Artist name.", path="name"),
        Column("followers", _I, "Follower count; null in development quota mode.", path="followers.total",
               simplified=False, valid=_COUNT),
        Column("popularity", _I, "Popularity 0-100; null in development quota mode.", path="popularity",
               simplified=False, valid=_POPULARITY),
    ),
)

ARTIST_GENRES = TableSpec(
    "artist_genres",
    key=("artist_id", "genre"),
    description="The genres Spotify assigns to each artist (artists with none have no rows).",
    source="a full artist's genres array",
    columns=(
        Column("artist_id", _S, "Spotify ID of the artist.", nullable=False, filled_by="the artist's id",
               references=_ARTIST),
        Column("genre", _S, "Genre name, as Spotify spells it.", nullable=False,
               filled_by="an entry of genres (a non-empty string, else quarantined)"),
    ),
)

_TS = pa.timestamp("us", tz="UTC")

# -- the user's own data (needs a user token; both quota modes) --------------------------------------------

PLAYS = TableSpec(
    "plays",
    key=("played_at",),
    description="One row per play of the user's listening history that day (UTC): when, which track, from "
    "which context. Landed hourly (the API only remembers the last 50 plays), deduplicated by played_at.",
    source="a play history object (GET /me/player/recently-played)",
    columns=(
        Column("played_at", _TS, "When the track was played (UTC, millisecond precision).", nullable=False,
               path="played_at", coerce="timestamp", valid=Range(PARTITION_DAY, PARTITION_DAY)),
        Column("track_id", _S, "Spotify ID of the track played; null for a local file.",
               filled_by="id of the play's track object", references=_TRACK),
        Column("context_type", _S, "What the track was played from: `playlist`, `album`, `artist`, "
               "`collection` (saved tracks), …; null when Spotify reports no context.", path="context.type"),
        Column("context_uri", _S, "Spotify URI of that context (e.g. `spotify:playlist:…`).", path="context.uri"),
    ),
)

TOP_TRACKS = TableSpec(
    "top_tracks",
    key=("time_range", "rank"),
    description="The user's top tracks as Spotify ranks them on the day of the crawl, per time range.",
    source="a track of GET /me/top/tracks",
    columns=(
        Column("time_range", _S, "`short_term` (about 4 weeks), `medium_term` (about 6 months) or `long_term` "
               "(about a year).", nullable=False, filled_by="the request's time_range (Spotify's default: medium_term)"),
        Column("rank", _I, "1 for the user's top track in that time range.", nullable=False, valid=Range(1),
               filled_by="the page's offset plus the track's index in the page, plus 1"),
        Column("track_id", _S, "Spotify ID of the track.", filled_by="id of the track object", references=_TRACK),
    ),
)

TOP_ARTISTS = TableSpec(
    "top_artists",
    key=("time_range", "rank"),
    description="The user's top artists as Spotify ranks them on the day of the crawl, per time range.",
    source="an artist of GET /me/top/artists",
    columns=(
        Column("time_range", _S, "`short_term` (about 4 weeks), `medium_term` (about 6 months) or `long_term` "
               "(about a year).", nullable=False, filled_by="the request's time_range (Spotify's default: medium_term)"),
        Column("rank", _I, "1 for the user's top artist in that time range.", nullable=False, valid=Range(1),
               filled_by="the page's offset plus the artist's index in the page, plus 1"),
        Column("artist_id", _S, "Spotify ID of the artist.", filled_by="id of the artist object", references=_ARTIST),
    ),
)

SAVED_TRACKS = TableSpec(
    "saved_tracks",
    key=("track_id",),
    description="The tracks in the user's library (Liked Songs) on the day of the crawl, with when each was saved.",
    source="a saved track object (GET /me/tracks)",
    columns=(
        Column("track_id", _S, "Spotify ID of the saved track.", nullable=False,
               filled_by="id of the saved track's track object", references=_TRACK),
        Column("added_at", _TS, "When the user saved the track (UTC).", path="added_at", coerce="timestamp",
               valid=_NOT_AFTER_THE_DAY),
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (PLAYLISTS, PLAYLIST_ITEMS, TRACKS, TRACK_ARTISTS, ALBUMS, ALBUM_ARTISTS, ARTISTS, ARTIST_GENRES,
              PLAYS, TOP_TRACKS, TOP_ARTISTS, SAVED_TRACKS)
}

# The listening tables (the user's own data, fetched with a user token), in TABLES order.
LISTENING_TABLES = ("plays", "top_tracks", "top_artists", "saved_tracks")

# Which raw sources feed which table (the lineage graph shows these edges; the audit checks they were read).
# The tracks inside the listening sources (a play's, a top track, a saved track) are full track objects.
_TRACK_SOURCES = ("top_tracks", "saved_tracks", "plays")
TABLE_SOURCES: dict[str, tuple[str, ...]] = {
    "playlists": ("playlists",),
    "playlist_items": ("playlists", "playlist_items"),
    "tracks": ("playlists", "playlist_items", "tracks", *_TRACK_SOURCES),
    "track_artists": ("playlists", "playlist_items", "tracks", *_TRACK_SOURCES),
    "albums": ("albums", "tracks", "playlist_items", "playlists", *_TRACK_SOURCES),
    "album_artists": ("albums",),
    "artists": ("artists", "tracks", "playlist_items", "playlists", "albums", "top_artists", *_TRACK_SOURCES),
    "artist_genres": ("artists", "top_artists"),
    "plays": ("plays",),
    "top_tracks": ("top_tracks",),
    "top_artists": ("top_artists",),
    "saved_tracks": ("saved_tracks",),
}
