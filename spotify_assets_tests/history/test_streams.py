"""The streams table from landed exports: every kind and column, bad records quarantined with their reason,
exact accounting, and the stream key — idempotent re-imports, newer exports repeating the history, basic
and extended exports of one period, the older files without URIs."""

from __future__ import annotations

import datetime as dt

import pytest

from spotify_assets.history.landing import land_export
from spotify_assets.history.streams import (
    EXCLUDED_COVERED_BY_EXTENDED,
    EXCLUDED_COVERED_BY_URI,
    EXCLUDED_DUPLICATE,
    build_streams,
)
from spotify_assets.lake.storage import Lake
from spotify_assets.tables.history import STREAMS

from .exports import (
    BOOK1,
    CH1,
    EP1,
    T1,
    T2,
    T3,
    VID1,
    account_music,
    account_podcast,
    dumps,
    endsong,
    extended,
    standard_files,
    write_folder,
    write_zip,
)

UTC = dt.UTC


def both_ways(lake: Lake):
    """The streams of the lake, built both ways: the Arrow path (for the files it takes) and record by record
    give the same rows, quarantine and accounting."""
    fast, slow = build_streams(lake), build_streams(lake, use_fast_path=False)
    assert fast.table.equals(slow.table, check_metadata=True), (fast.table.to_pylist(), slow.table.to_pylist())
    assert (fast.quarantine, fast.accounting, fast.covered_ids) == (slow.quarantine, slow.accounting, slow.covered_ids)
    assert slow.fast_files == 0
    return fast


def land(lake: Lake, path, files: dict[str, bytes]) -> str:
    return land_export(lake, write_folder(path, files), log=lambda _: None).export_id


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(str(tmp_path / "lake"))


def test_every_kind_and_column_of_the_current_generation(lake, tmp_path):
    export_id = land(lake, tmp_path / "e", standard_files())
    build = both_ways(lake)
    assert build.table.schema == STREAMS.schema
    assert build.fast_files == 2  # both files went through the Arrow path
    rows = build.table.to_pylist()
    assert [(r["kind"], r["track_id"] or r["episode_id"] or r["audiobook_chapter_id"], r["ms_played"]) for r in rows] == [
        ("track", T1, 215_000), ("track", T2, 240_000), ("track", T3, 0), ("episode", EP1, 1_800_000),
        ("unknown", None, 12_000), ("audiobook_chapter", CH1, 95_000), ("episode", VID1, 180_000)]
    first = rows[0]
    assert first["ended_at"] == dt.datetime(2014, 7, 27, 20, 34, 47, tzinfo=UTC)
    assert first["started_at"] == dt.datetime(2014, 7, 27, 20, 31, 12, tzinfo=UTC)
    assert (first["dt"], first["ended_at_precision"], first["generation"], first["export_id"]) == (
        "2014-07-27", "second", "extended", export_id)
    assert (first["track_name"], first["artist_name"], first["album_name"], first["country"]) == (
        "Song One", "Band A", "Album A", "NL")
    assert (first["reason_start"], first["reason_end"], first["shuffle"], first["skipped"]) == (
        "clickrow", "trackdone", False, False)
    assert first["source_file"] == "Spotify Extended Streaming History/Streaming_History_Audio_2014-2016_0.json"
    assert [(r["platform"], r["platform_family"]) for r in rows[:6]] == [
        ("Android OS 4.2.2 API 17 (samsung, GT-I9195)", "android"), ("OS X 10.15.7 [x86 8]", "macos"),
        ("Partner google cast_tv;Chromecast;;", "cast"), ("ios", "ios"), ("windows", "windows"),
        ("web_player", "web")]
    assert rows[1]["offline"] and rows[1]["offline_at"] == dt.datetime(2014, 7, 27, 20, 30, tzinfo=UTC)  # ms
    assert rows[2]["skipped"] and rows[2]["reason_end"] == "fwdbtn"
    assert (rows[3]["episode_name"], rows[3]["show_name"], rows[3]["reason_start"], rows[3]["reason_end"]) == (
        "Episode 1", "The Show", None, None)  # "" is no reason
    unknown = rows[4]
    assert all(unknown[c] is None for c in ("track_name", "artist_name", "episode_name", "show_name", "track_id"))
    assert (rows[5]["audiobook_id"], rows[5]["audiobook_title"], rows[5]["audiobook_chapter_title"]) == (
        BOOK1, "A Book", "Chapter 1")
    assert rows[6]["video"] and not any(r["video"] for r in rows[:6])
    assert build.accounting["records_in"] == 8 and build.excluded == {EXCLUDED_DUPLICATE: 1}


def test_bad_records_are_quarantined_with_their_reason_and_every_record_is_accounted_for(lake, tmp_path):
    good = extended("2021-01-01T10:00:00Z", 200_000, track=T1, name="A", artist="B")
    records = [
        good,
        extended("yesterday", 1, track=T1),
        extended("2021-01-01T10:05:00Z", -5, track=T1),
        extended("2021-01-01T10:06:00Z", None, track=T1),
        extended("1999-01-01T10:06:00Z", 5, track=T1),
        {**extended("2021-01-01T10:07:00Z", 5), "spotify_track_uri": "spotify:track:short"},
        extended("2021-01-01T10:08:00Z", 5, track=T2, skipped="yes"),
        extended("2021-01-01T10:09:00Z", "12.5", track=T2),
        extended("2021-01-01T10:10:00Z", 7_000, track=T3, hat="fedora"),  # unknown field: imported, field dropped
        42,
    ]
    data = dumps(records)
    files = {
        "Streaming_History_Audio_2021_0.json": data,
        "Streaming_History_Audio_2021_1.json": dumps([good, good])[:-40],  # truncated inside the second record
        "Streaming_History_Audio_2021_2.json": b"",
        "Streaming_History_Audio_2021_3.json": b'{"ts": "2021-01-01T10:00:00Z"}',
    }
    land(lake, tmp_path / "e", files)
    build = both_ways(lake)
    reasons = sorted(q["reason"] for q in build.quarantine)
    assert reasons == sorted([
        "ts is not an ISO-8601 timestamp: 'yesterday'",
        "ms_played is negative: -5",
        "ms_played missing",
        "ts outside 2006-2099: '1999-01-01T10:06:00Z'",
        "spotify_track_uri is not a Spotify URI (spotify:<type>:<22-character id>): 'spotify:track:short'",
        "skipped has type str, expected boolean",
        "ms_played is not an integer: '12.5'",
        "not a JSON object but a JSON number",
        "truncated JSON array: the file ends inside a record, after 1 complete records",
        "not a JSON array of records but a JSON object: the file is not read",
    ])
    negative = next(q for q in build.quarantine if q["reason"].startswith("ms_played is negative"))
    assert negative["raw_line"] == 3 and negative["record"]["ms_played"] == -5 and "ip_addr" not in negative["record"]
    assert negative["source_file"] == "Streaming_History_Audio_2021_0.json"
    assert [r["track_id"] for r in build.table.to_pylist()] == [T1, T3]
    acc = build.accounting
    assert acc["records_in"] == 10 + 2 + 0 + 1
    assert acc["records_in"] == acc["rows"] + acc["quarantined"] + sum(acc["excluded"].values())
    assert acc["excluded"] == {EXCLUDED_DUPLICATE: 1}  # the complete record of the truncated file: read before
    assert acc["quarantine_reasons"]["ms_played is negative"] == 1


def test_the_same_export_again_or_a_newer_one_repeating_the_history_adds_no_stream_twice(lake, tmp_path):
    files = standard_files()
    first_id = land(lake, tmp_path / "a", files)
    once = both_ways(lake).table
    land_export(lake, write_zip(tmp_path / "a.zip", files), log=lambda _: None)  # the same export, zipped
    assert both_ways(lake).table.equals(once)
    newer = {
        **files,
        "Spotify Extended Streaming History/Streaming_History_Audio_2024_1.json": dumps([
            extended("2024-02-02T10:00:00Z", 200_000, track=T1, name="Song One", artist="Band A"),
            # played again, ending in the same second with the same ms_played: the key collides (documented)
            extended("2014-07-27T20:34:47Z", 215_000, track=T1, name="Song One", artist="Band A", platform="ios"),
        ]),
    }
    second_id = land(lake, tmp_path / "b", newer)
    assert second_id != first_id
    build = both_ways(lake)
    assert build.table.num_rows == once.num_rows + 1
    old_rows = [r for r in build.table.to_pylist() if r["dt"] != "2024-02-02"]
    assert {r["stream_id"] for r in old_rows} == set(once["stream_id"].to_pylist())
    assert {r["export_id"] for r in old_rows} == {first_id}  # the first import keeps its rows: nothing churns
    # the first export's own duplicate, its 8 records repeated by the newer one, the colliding stream
    assert build.excluded == {EXCLUDED_DUPLICATE: 1 + 8 + 1}


def test_basic_and_extended_exports_of_one_period_keep_the_extended_rows(lake, tmp_path):
    extended_files = {"Streaming_History_Audio_2024_0.json": dumps([
        extended("2024-08-02T22:44:37Z", 200_000, track=T1, name="Song One", artist="Band A"),
        extended("2024-08-02T22:44:58Z", 2_000, track=T2, name="Song Two", artist="Band B"),
        extended("2024-08-02T22:47:10Z", 2_000, track=T2, name="Song Two", artist="Band B"),
        extended("2024-08-03T07:00:00Z", 600_000, episode=EP1, episode_name="Episode 1", show="The Show"),
    ])}
    basic_files = {
        "MyData/StreamingHistory_music_0.json": dumps([
            account_music("2024-08-02 22:44", 200_000, "band a", "Song One"),  # case differs: still the same
            account_music("2024-08-02 22:44", 2_000, "Band B", "Song Two"),
            account_music("2024-08-02 22:47", 2_000, "Band B", "Song Two"),
            account_music("2024-08-02 22:47", 2_000, "Band B", "Song Two"),  # twice in a minute: real, once covered
            account_music("2024-08-05 09:00", 180_000, "Band C", "Only In Basic"),
        ], "spaced"),
        "MyData/StreamingHistory_podcast_0.json": dumps([
            account_podcast("2024-08-03 07:00", 600_000, "The Show", "Episode 1")], "spaced"),
    }
    land(lake, tmp_path / "basic", basic_files)  # the basic export first: order does not matter
    land(lake, tmp_path / "extended", extended_files)
    build = both_ways(lake)
    rows = build.table.to_pylist()
    assert [(r["ended_at_precision"], r["track_name"] or r["episode_name"]) for r in rows] == [
        ("second", "Song One"), ("second", "Song Two"), ("minute", "Song Two"), ("second", "Song Two"),
        ("second", "Episode 1"), ("minute", "Only In Basic")]
    assert build.excluded == {EXCLUDED_COVERED_BY_EXTENDED: 4}
    minute = rows[2]
    assert (minute["generation"], minute["kind"], minute["artist_name"], minute["ended_at"]) == (
        "account_data", "track", "Band B", dt.datetime(2024, 8, 2, 22, 47, tzinfo=UTC))
    assert minute["stream_id"] in {r["stream_id"] for r in rows} and len(build.covered_ids) == 4
    assert build.accounting["records_in"] == 4 + 6


def test_files_without_uris_are_covered_by_the_same_streams_with_uris(lake, tmp_path):
    old = {"MyData/endsong_0.json": dumps([
        endsong("2020-03-01T10:00:00Z", 100_000, name="Song One", artist="Band A", location=True),
        endsong("2020-03-01T10:10:00Z", 50_000, name="Gone From The New Export", artist="X", location=True),
    ], "minified")}
    new = {"Streaming_History_Audio_2020_0.json": dumps([
        extended("2020-03-01T10:00:00Z", 100_000, track=T1, name="Song One", artist="Band A")])}
    land(lake, tmp_path / "old", old)
    land(lake, tmp_path / "new", new)
    build = both_ways(lake)
    assert [(r["track_id"], r["track_name"], r["generation"]) for r in build.table.to_pylist()] == [
        (T1, "Song One", "extended"), (None, "Gone From The New Export", "endsong")]
    assert build.excluded == {EXCLUDED_COVERED_BY_URI: 1}


def test_the_oldest_account_data_mixes_podcasts_into_the_music(lake, tmp_path):
    land(lake, tmp_path / "e", {"StreamingHistory0.json": dumps([
        account_music("2019-01-01 10:00", 200_000, "Band A", "Song One"),
        account_music("2019-01-01 10:00", 200_000, "Band A", "Song One"),  # the same twice in a minute: real
        account_music("2019-01-01 11:00", 0, "A Podcast", "Episode 9"),
        {"endTime": "2019-01-01 12:00", "artistName": None, "trackName": None, "msPlayed": 5},
        account_music("2019-01-01 12:05", 7, "Unknown Artist", "Unknown Track")])})  # removed content
    build = both_ways(lake)
    rows = build.table.to_pylist()
    assert [r["kind"] for r in rows] == ["track_or_episode"] * 3 + ["unknown"] * 2
    assert (rows[-1]["artist_name"], rows[-1]["track_name"]) == (None, None)
    assert build.table.num_rows == 5 and build.excluded == {}
