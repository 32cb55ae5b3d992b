"""Small hand-written Spotify data exports, one of each generation, written the way Spotify formats them
(minified arrays in endsong files, 2-space indentation in newer ones, ``"key" : value`` in account data),
with known IP addresses, user agents and locations for the privacy tests."""

from __future__ import annotations

import json
import os
import zipfile

IPV4 = "203.0.113.77"
IPV6 = "2001:db8:85a3::8a2e:370:7334"
USER_AGENT = "Spotify/8.4.98 Android/29 (SM-G973F)"
CITY, REGION, LAT, LON = "Zwolle", "Overijssel", 52.5168, 6.083
USERNAME = "a1b2c3d4e5-user"
PERSONAL_VALUES = (IPV4, IPV6, USER_AGENT, CITY, REGION, USERNAME, "52.5168", "6.083")

T1, T2, T3, T4 = "4uLU6hMCjMI75M1A2tKUQC", "3n3Ppam7vgaVa1iaRUc9Lp", "7ouMYWpwJ422jRcDASZB7P", "0VjIjW4GlUZAMYd2vXMi3b"
EP1, VID1 = "5Xt5DXGzch68nYYamXrNxZ", "1bYFT7PLrjXJ6T5qcNrA0V"
BOOK1, CH1 = "7iHfbu1YPACw6oZPAFJtqe", "0D5wENdkdwbqlrHoaJ9g29"
EXTENDED_FOLDER = "Spotify Extended Streaming History"


def extended(ts, ms, *, track=None, name=None, artist=None, album=None, episode=None, episode_name=None, show=None,
             chapter=None, book=None, platform="android", skipped=False, ip=IPV4, offline=False, offline_ts=None,
             reason_start="clickrow", reason_end="trackdone", **extra) -> dict:
    """A record of the current extended history (``Streaming_History_Audio_*``), in Spotify's field order."""
    record = {
        "ts": ts, "platform": platform, "ms_played": ms, "conn_country": "NL", "ip_addr": ip,
        "master_metadata_track_name": name, "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": f"spotify:track:{track}" if track else None,
        "episode_name": episode_name, "episode_show_name": show,
        "spotify_episode_uri": f"spotify:episode:{episode}" if episode else None,
        "audiobook_title": "A Book" if (chapter or book) else None,
        "audiobook_uri": f"spotify:audiobook:{book}" if book else None,
        "audiobook_chapter_uri": f"spotify:chapter:{chapter}" if chapter else None,
        "audiobook_chapter_title": "Chapter 1" if chapter else None,
        "reason_start": reason_start, "reason_end": reason_end, "shuffle": False, "skipped": skipped,
        "offline": offline, "offline_timestamp": offline_ts, "incognito_mode": False,
    }
    record.update(extra)
    return record


def endsong(ts, ms, *, track=None, name=None, artist=None, location=False, **extra) -> dict:
    """A record of the older ``endsong_*`` generation (user name, decrypted IP and user agent; the 2020-era
    variant with ``location`` has no URIs and adds the city, region, metro code and coordinates)."""
    record = {
        "ts": ts, "username": USERNAME, "platform": "iOS 14.7.1 (iPhone10,3)", "ms_played": ms,
        "conn_country": "NL", "ip_addr_decrypted": IPV6, "user_agent_decrypted": USER_AGENT,
        "master_metadata_track_name": name, "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": f"spotify:track:{track}" if track else None,
        "episode_name": None, "episode_show_name": None, "spotify_episode_uri": None,
        "reason_start": "trackdone", "reason_end": "trackdone", "shuffle": True, "skipped": None,
        "offline": False, "offline_timestamp": 0, "incognito_mode": False,
    }
    if location:
        for key in ("spotify_track_uri", "spotify_episode_uri"):
            del record[key]
        record.update({"city": CITY, "region": REGION, "metro_code": "0", "latitude": LAT, "longitude": LON})
    record.update(extra)
    return record


def account_music(end_time, ms, artist, track) -> dict:
    return {"endTime": end_time, "artistName": artist, "trackName": track, "msPlayed": ms}


def account_podcast(end_time, ms, show, episode) -> dict:
    return {"endTime": end_time, "podcastName": show, "episodeName": episode, "msPlayed": ms}


def dumps(records, style: str = "indent") -> bytes:
    """JSON as the generation writes it: ``minified`` (endsong), ``indent`` (2 spaces), ``spaced`` (account data)."""
    if style == "minified":
        return json.dumps(records, separators=(",", ":"), ensure_ascii=False).encode()
    if style == "spaced":
        return json.dumps(records, indent=2, separators=(",", " : "), ensure_ascii=False).encode()
    return json.dumps(records, indent=2, ensure_ascii=False).encode()


# -- a complete small export of the current generation ------------------------------------------------------

AUDIO_2014 = [
    extended("2014-07-27T20:34:47Z", 215_000, track=T1, name="Song One", artist="Band A", album="Album A",
             platform="Android OS 4.2.2 API 17 (samsung, GT-I9195)"),
    extended("2014-07-27T20:38:50Z", 240_000, track=T2, name="Song Two", artist="Band B", album="Album B",
             ip=IPV6, platform="OS X 10.15.7 [x86 8]", offline=True, offline_ts=1406493000000),
    extended("2014-07-27T20:38:51Z", 0, track=T3, name="Song Three", artist="Band A", skipped=True,
             reason_end="fwdbtn", platform="Partner google cast_tv;Chromecast;;"),
    extended("2014-07-28T08:00:00Z", 1_800_000, episode=EP1, episode_name="Episode 1", show="The Show",
             platform="ios", reason_start="", reason_end=""),
    extended("2014-07-28T09:00:00Z", 12_000, platform="windows"),  # removed content: every metadata field null
    extended("2014-08-01T10:00:00Z", 95_000, chapter=CH1, book=BOOK1, platform="web_player"),
]
AUDIO_2014.append(dict(AUDIO_2014[0]))  # Spotify's exact duplicates occur
VIDEO = [extended("2020-05-05T19:00:00Z", 180_000, episode=VID1, episode_name="Music Video", show="Band A TV")]
OTHER_FILES = {
    f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF-1.4 the fields explained",
    "MyData/Userdata.json": dumps({"username": USERNAME, "email": "someone@example.com", "country": "NL"}),
    "MyData/Playlist1.json": dumps({"playlists": []}),
}


def standard_files() -> dict[str, bytes]:
    """The files of a small current-generation export: 7 audio records (one an exact duplicate), a video, a
    PDF and other account data."""
    return {
        f"{EXTENDED_FOLDER}/Streaming_History_Audio_2014-2016_0.json": dumps(AUDIO_2014),
        f"{EXTENDED_FOLDER}/Streaming_History_Video_2020-2024.json": dumps(VIDEO),
        **OTHER_FILES,
    }


def write_zip(path, files: dict[str, bytes], *, top: str = "") -> str:
    """The files as a zip Spotify sends (optionally under a ``top`` folder inside)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(f"{top}{name}", data)
    return str(path)


def write_folder(path, files: dict[str, bytes]) -> str:
    """The files as the zip extracts them."""
    for name, data in files.items():
        target = os.path.join(path, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(data)
    return str(path)


def publish_rows(lake, table: str, day: str, rows: list[dict]) -> None:
    """Publish ``rows`` as ``table``'s day, the way the transformed step does (for plays and their catalog)."""
    import pyarrow as pa

    from spotify_assets.lake.parquet import write_table_file
    from spotify_assets.lake.publication.publish import publish
    from spotify_assets.lake.publication.staging import Staging
    from spotify_assets.tables import TABLES

    staging = Staging(lake, day, f"fixture-{table}")
    write_table_file(lake, staging.file("transformed", table), TABLES[table],
                     pa.Table.from_pylist(rows, schema=TABLES[table].schema))
    publish(staging, [("transformed", table)])
    staging.discard()


def publish_plays(lake, day: str, plays: list[tuple], tracks: dict[str, tuple[str, str]]) -> None:
    """A day of ``plays`` (``(played_at, track_id)``) with the tracks' names and first artists
    (``{track_id: (name, artist name)}``) in that day's catalog tables."""
    publish_rows(lake, "plays", day, [{"played_at": at, "track_id": t} for at, t in plays])
    publish_rows(lake, "tracks", day, [{"track_id": t, "name": n} for t, (n, _) in tracks.items()])
    publish_rows(lake, "track_artists", day, [{"track_id": t, "artist_id": f"ar{t[:20]}", "position": 0}
                                              for t in tracks])
    publish_rows(lake, "artists", day, [{"artist_id": f"ar{t[:20]}", "name": a} for t, (_, a) in tracks.items()])
