"""The listening history tables: ``streams`` (every stream of the user's Spotify data export) and ``listens``
(each listen once, from the export and the hourly ``plays`` together).

Years of history are partitioned by **month** (``month=YYYY-MM``, the UTC month of the stream's end), not by
day: ten years are 120 partitions of a few thousand rows instead of 3,650 folders of a few dozen, and one
import is one Dagster run (see docs/architecture.md, "Listening history"). Each row also carries ``dt``, its
UTC day as the ``YYYY-MM-DD`` string every daily table is partitioned by, so a day is ``WHERE dt = '…'``
on both engines (add ``month = '…'`` to let Athena skip the other months' files).

Table and column names are a contract (the report reads ``listens``): add columns, rename none.
"""

from __future__ import annotations

import pyarrow as pa

from .contract import Column, TableSpec

_S, _I, _B = pa.string(), pa.int64(), pa.bool_()
_TS = pa.timestamp("us", tz="UTC")

# What ``kind`` may be, in both tables (``track_or_episode`` only in streams: see STREAMS.kind).
KINDS = ("track", "episode", "audiobook_chapter", "unknown")

STREAMS = TableSpec(
    "streams",
    key=("stream_id",),
    partition_key="month",
    description="One row per stream of the user's Spotify data export (\"Download your data\"): every kind — "
    "tracks, podcast episodes, audiobook chapters, music videos and removed content — with how long it "
    "played, how it started and ended, on which platform. Every imported export together, each stream once.",
    source="a record of an imported export's streaming history file (without IP addresses, user agents, "
    "location and user name, which never reach the lake)",
    columns=(
        Column("stream_id", _S, "Identity of the stream: 16 hex digits of the SHA-256 of its end (to the second, "
               "or the minute for account data), ms_played and content (URI, else the names).", nullable=False,
               filled_by="ts, ms_played and the URI or names (see docs/architecture.md, 'The stream key')"),
        Column("ended_at", _TS, "When the stream ended (UTC): the export's `ts` (`endTime` in account data, "
               "to the minute).", nullable=False, filled_by="ts / endTime"),
        Column("ended_at_precision", _S, "`second` (extended history) or `minute` (account data).", nullable=False,
               filled_by="the file's generation"),
        Column("started_at", _TS, "When it started: ended_at minus ms_played.", filled_by="ts − ms_played"),
        Column("dt", _S, "UTC day of ended_at, YYYY-MM-DD (query a day with dt = '…').", nullable=False,
               filled_by="ended_at"),
        Column("ms_played", _I, "Milliseconds played (0 is common: a stream skipped at once).", nullable=False,
               filled_by="ms_played / msPlayed"),
        Column("kind", _S, "`track`, `episode` (podcasts; music videos too), `audiobook_chapter`, `unknown` "
               "(removed content: every metadata field null) or `track_or_episode` (the oldest account data, "
               "which mixes podcasts into the music history).", nullable=False,
               filled_by="which URI or names the record has, and its file"),
        Column("track_id", _S, "22-character Spotify ID of the track (from spotify_track_uri); null when absent.",
               filled_by="spotify_track_uri"),
        Column("episode_id", _S, "Spotify ID of the episode or music video (from spotify_episode_uri).",
               filled_by="spotify_episode_uri"),
        Column("audiobook_id", _S, "Spotify ID of the audiobook (from audiobook_uri).", filled_by="audiobook_uri"),
        Column("audiobook_chapter_id", _S, "Spotify ID of the audiobook chapter (from audiobook_chapter_uri).",
               filled_by="audiobook_chapter_uri"),
        Column("track_name", _S, "Track name.", filled_by="master_metadata_track_name / trackName"),
        Column("artist_name", _S, "The album artist's name, as the export gives it.",
               filled_by="master_metadata_album_artist_name / artistName"),
        Column("album_name", _S, "Album name.", filled_by="master_metadata_album_album_name"),
        Column("episode_name", _S, "Episode (or music video) name.", filled_by="episode_name / episodeName"),
        Column("show_name", _S, "Podcast show name.", filled_by="episode_show_name / podcastName"),
        Column("audiobook_title", _S, "Audiobook title.", filled_by="audiobook_title"),
        Column("audiobook_chapter_title", _S, "Audiobook chapter title.", filled_by="audiobook_chapter_title"),
        Column("video", _B, "True for a stream of the video history (Streaming_History_Video_*).",
               filled_by="the file's name"),
        Column("platform", _S, "The platform verbatim: a long free string in older exports (\"iOS 14.7.1 "
               "(iPhone10,3)\"), a short token in newer ones (\"ios\").", filled_by="platform"),
        Column("platform_family", _S, "The platform normalized: android, ios, windows, macos, linux, web, cast, "
               "tv, console, speaker, car or other; null when the export does not say.", filled_by="platform"),
        Column("country", _S, "Country of the connection (ISO 3166-1 alpha-2).", filled_by="conn_country"),
        Column("reason_start", _S, "Why the stream started (trackdone, clickrow, fwdbtn, …); null when absent "
               "or empty.", filled_by="reason_start"),
        Column("reason_end", _S, "Why it ended (trackdone, fwdbtn, endplay, logout, …); null when absent or empty.",
               filled_by="reason_end"),
        Column("shuffle", _B, "Whether shuffle was on.", filled_by="shuffle"),
        Column("skipped", _B, "Whether the user skipped to the next item; null in old data.", filled_by="skipped"),
        Column("offline", _B, "Whether it was played offline.", filled_by="offline"),
        Column("offline_at", _TS, "When the offline stream happened, as the client recorded it; null when not "
               "offline.", filled_by="offline_timestamp (milliseconds or seconds, by its magnitude; 0 = null)"),
        Column("incognito_mode", _B, "Whether it was played in a private session.", filled_by="incognito_mode"),
        Column("generation", _S, "Which kind of export file it came from: `extended` (Streaming_History_*), "
               "`endsong` (older extended history) or `account_data` (StreamingHistory*).", nullable=False,
               filled_by="the file's name"),
        Column("export_id", _S, "The import that first brought the stream (raw/streaming_history/export=<id>/).",
               nullable=False, filled_by="the raw folder"),
        Column("source_file", _S, "The export's file the stream was read from.", nullable=False,
               filled_by="the raw file's manifest entry"),
    ),
)

LISTENS = TableSpec(
    "listens",
    key=("listen_id",),
    partition_key="month",
    description="Each listen once: every stream of the imported exports and every play the platform landed "
    "hourly (recently played), a play the export also holds being one row (source `both`). The input of the "
    "listening report.",
    source="a stream of `streams`, a play of `plays`, or both matched (see docs/architecture.md, 'Listens')",
    columns=(
        Column("listen_id", _S, "stream_id of the listen's stream, or `play:` + played_at (ISO, ms) for a play "
               "seen only through the API.", nullable=False, filled_by="streams.stream_id / plays.played_at"),
        Column("listened_at", _TS, "When the listen ended (UTC): the export's ts, or the play's played_at.",
               nullable=False, filled_by="streams.ended_at / plays.played_at"),
        Column("dt", _S, "UTC day of listened_at, YYYY-MM-DD.", nullable=False, filled_by="listened_at"),
        Column("ms_played", _I, "How long it played; null when unknown (a play seen only through the API).",
               filled_by="streams.ms_played"),
        Column("kind", _S, "`track`, `episode`, `audiobook_chapter` or `unknown` (removed content, every metadata "
               "field null).", nullable=False, filled_by="streams.kind (track_or_episode counts as track); plays: track"),
        Column("track_id", _S, "22-character Spotify ID of the track.", filled_by="streams.track_id / plays.track_id"),
        Column("track_name", _S, "Track name (episode name for an episode, chapter title for a chapter).",
               filled_by="streams names / tracks.name of the play's day"),
        Column("artist_name", _S, "The album artist's name as the export gives it (the show for an episode, the "
               "audiobook for a chapter), or the first credited artist for a play seen only through the API.",
               filled_by="streams.artist_name / the play's first artist"),
        Column("skipped", _B, "Whether it was skipped; null when the source does not say.", filled_by="streams.skipped"),
        Column("source", _S, "`export`, `plays` or `both` (seen in the export and landed hourly).", nullable=False,
               filled_by="the matching rule"),
        Column("played_at", _TS, "The API's played_at of the matched or API-only play (millisecond precision).",
               filled_by="plays.played_at"),
        Column("matched_by", _S, "How the play was matched to the stream: `end` (ts within the tolerance of "
               "played_at), `start` (ts − ms_played within it), `minute` (account data: same minute and names); "
               "null when not matched.", filled_by="the matching rule"),
        Column("platform_family", _S, "The stream's normalized platform.", filled_by="streams.platform_family"),
    ),
)

HISTORY_TABLES: dict[str, TableSpec] = {t.name: t for t in (STREAMS, LISTENS)}
