"""The listening sources (plays, top tracks and artists, saved tracks) through the transform: rows, keys,
exclusions, quarantine and the accounting, and their nested tracks and artists feeding the catalog tables.
(Every extraction here also runs the three ways of conftest.fast_path_matches_python_path.)"""

from __future__ import annotations

import datetime as dt

import pytest

from spotify_assets.transform.pipeline import transform_partition

from .conftest import PARTITION, RawWriter, env, full_artist, local_track, page, sid, simple_album, track

RECENT = "/v1/me/player/recently-played?limit=50"


def play(label: str | None, at, *, context: str | None = "playlist:pl1", **track_kw) -> dict:
    ctx = None
    if context:
        kind, ident = context.split(":")
        ctx = {"external_urls": {}, "href": "", "type": kind, "uri": f"spotify:{kind}:{sid(ident)}"}
    return {"track": track(label, **track_kw) if label else local_track(), "played_at": at, "context": ctx}


def history(*items) -> dict:
    return {"items": list(items), "next": None, "cursors": {"after": "1", "before": "0"}, "limit": 50, "href": ""}


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def test_plays_one_row_per_played_at_across_overlapping_files(lake, raw):
    first = history(play("t1", "2026-11-24T10:00:00.123Z"), play("t2", "2026-11-24T09:58:00Z"))
    # an overlapping later answer (a re-run, a second run at once): one new play, one already landed
    second = history(play("t3", "2026-11-24T10:04:00Z", context=None), play("t1", "2026-11-24T10:00:00.123Z"))
    raw.write("plays", [env(RECENT, first)])
    raw.write("plays", [env(RECENT + "&after=1", second, fetched_at="2026-11-24T11:05:00Z")])
    result = transform_partition(lake, PARTITION)
    plays = result.tables["plays"].to_pylist()
    assert [(p["played_at"], p["track_id"]) for p in plays] == [
        (utc("2026-11-24T09:58:00"), sid("t2")), (utc("2026-11-24T10:00:00.123"), sid("t1")),
        (utc("2026-11-24T10:04:00"), sid("t3"))]
    assert plays[1]["context_type"] == "playlist" and plays[1]["context_uri"] == f"spotify:playlist:{sid('pl1')}"
    assert plays[2]["context_type"] is None and plays[2]["context_uri"] is None
    assert result.accounting["tables"]["plays"] == {"candidates": 4, "rows": 3, "duplicates_merged": 1,
                                                    "parent_quarantined": 0, "quarantined": 0, "coerced_to_null": {}}
    # the plays' tracks feed the catalog tables like a playlist item's
    assert sorted(result.tables["tracks"]["track_id"].to_pylist()) == sorted(sid(t) for t in ("t1", "t2", "t3"))
    assert result.tables["albums"]["album_id"].to_pylist() == [sid("al1")]
    assert result.tables["track_artists"].num_rows == 3


def test_a_play_belongs_to_the_day_of_its_folder_only(lake, raw):
    """A run just after midnight lands its answer in both days' folders: each day takes its own plays."""
    answer = history(play("t1", "2026-11-25T00:01:00Z"), play("t2", "2026-11-24T23:59:59.999Z"),
                     play("t3", "2026-11-24T00:00:00Z"))
    raw.write("plays", [env(RECENT, answer, fetched_at="2026-11-25T00:05:00Z")], name="plays-a")
    nxt = RawWriter(lake, "2026-11-25")
    nxt.write("plays", [env(RECENT, answer, fetched_at="2026-11-25T00:05:00Z")], name="plays-a")
    day = transform_partition(lake, PARTITION)
    following = transform_partition(lake, "2026-11-25")
    assert day.tables["plays"]["track_id"].to_pylist() == [sid("t3"), sid("t2")]
    assert following.tables["plays"]["track_id"].to_pylist() == [sid("t1")]
    assert day.accounting["sources"]["plays"]["tables"]["plays"]["excluded"] == {"played on another day": 1}
    assert following.accounting["sources"]["plays"]["tables"]["plays"]["excluded"] == {"played on another day": 2}
    # a play of another day contributes nothing to this day's catalog tables either
    assert day.tables["tracks"]["track_id"].to_pylist() == sorted([sid("t2"), sid("t3")])


def test_broken_plays_are_quarantined_and_local_files_kept_without_a_track(lake, raw):
    answer = history(
        play("t1", "2026-11-24T08:00:00Z"),
        play("t2", None),  # no played_at
        play("t3", "1970-01-01T00:00:00Z"),  # Spotify's "unknown"
        play("t4", "yesterday"),
        {"track": None, "played_at": "2026-11-24T08:10:00Z", "context": None},
        {"track": {"id": sid("ep1"), "type": "episode", "name": "An episode"}, "played_at": "2026-11-24T08:20:00Z"},
        play("t5", "2026-11-24T08:30:00Z", context=None) | {"context": "playlist"},
        play(None, "2026-11-24T08:40:00Z", context=None),  # a local file
        None,
        play("t6", "2026-11-24T08:50:00Z") | {"track": track("t6") | {"id": "not-an-id"}},
    )
    raw.write("plays", [env(RECENT, answer)])
    result = transform_partition(lake, PARTITION)
    plays = result.tables["plays"].to_pylist()
    assert [(p["played_at"], p["track_id"]) for p in plays] == [(utc("2026-11-24T08:00:00"), sid("t1")),
                                                                 (utc("2026-11-24T08:40:00"), None)]
    reasons = sorted(q["reason"] for q in result.quarantine["plays"])
    assert reasons == sorted([
        "missing played_at", "missing played_at", "played_at is not an ISO-8601 timestamp: 'yesterday'",
        "missing track", "play of an episode (recently played lists tracks only)",
        "context has type str, expected object", "invalid track id: 'not-an-id'"])
    counts = result.accounting["sources"]["plays"]["tables"]
    assert counts["plays"] == {"seen": 10, "emitted": 2, "quarantined": 7, "excluded": {"null item": 1}}
    assert counts["tracks"]["excluded"] == {"local track": 1}
    assert result.tables["tracks"]["track_id"].to_pylist() == [sid("t1")]


def test_top_items_rank_and_time_range(lake, raw):
    top = "/v1/me/top/tracks?time_range={}&limit=2&offset={}"
    raw.write("top_tracks", [
        env(top.format("short_term", 0), page([track("t1"), track("t2")], limit=2, total=3)),
        env(top.format("short_term", 2), page([track("t3")], offset=2, limit=2, total=3)),
        env("/v1/me/top/tracks?limit=2", page([track("t2"), None], limit=2)),  # Spotify's default: medium_term
        env(top.format("forever", 0), page([track("t4")])),  # not a time range: the page is quarantined
        env(top.format("long_term", 0), {"error": {"status": 403, "message": "Insufficient client scope"}},
            status=403),
    ])
    raw.write("top_artists", [env("/v1/me/top/artists?time_range=long_term&limit=50&offset=0",
                                  page([full_artist("ar7", genres=("jazz",), popularity=77), {"id": 5}], limit=50))])
    result = transform_partition(lake, PARTITION)
    assert [(r["time_range"], r["rank"], r["track_id"]) for r in result.tables["top_tracks"].to_pylist()] == [
        ("medium_term", 1, sid("t2")), ("short_term", 1, sid("t1")), ("short_term", 2, sid("t2")),
        ("short_term", 3, sid("t3"))]
    assert [(r["time_range"], r["rank"], r["artist_id"]) for r in result.tables["top_artists"].to_pylist()] == [
        ("long_term", 1, sid("ar7"))]
    source = result.accounting["sources"]["top_tracks"]
    assert (source["lines"], source["parsed"], source["quarantined"], source["excluded"]) == (
        5, 3, 1, {"non-200 response": 1})
    assert source["tables"]["top_tracks"]["excluded"] == {"null item": 1}
    assert [q["reason"] for q in result.quarantine["top_tracks"]] == [
        "request's time_range 'forever' is not one of short_term, medium_term, long_term"]
    assert [q["reason"] for q in result.quarantine["top_artists"]] == ["invalid artist id: '5'"]
    # a top artist is a full artist object: its popularity, followers and genres reach the catalog tables
    artists = {a["artist_id"]: a for a in result.tables["artists"].to_pylist()}
    assert artists[sid("ar7")]["popularity"] == 77 and artists[sid("ar7")]["followers"] == 1000
    assert result.tables["artist_genres"].to_pylist() == [{"artist_id": sid("ar7"), "genre": "jazz"}]


def test_saved_tracks(lake, raw):
    saved = [
        {"added_at": "2026-11-20T07:00:00Z", "track": track("t1", album=simple_album("al9", artists=("ar9",)))},
        {"added_at": "2026-11-21T07:00:00Z", "track": local_track()},
        {"added_at": "2026-11-22T07:00:00Z", "track": None},
        {"added_at": "not a date", "track": track("t2")},
    ]
    raw.write("saved_tracks", [
        env("/v1/me/tracks?limit=50&offset=0", page(saved, limit=50)),
        # the library changed between two pages: t1 comes again, the latest answer wins (same row)
        env("/v1/me/tracks?limit=50&offset=50", page([saved[0]], offset=50, limit=50), fetched_at="2026-11-24T06:01:00Z"),
    ])
    result = transform_partition(lake, PARTITION)
    assert result.tables["saved_tracks"].to_pylist() == [{"track_id": sid("t1"), "added_at": utc("2026-11-20T07:00:00")}]
    counts = result.accounting["sources"]["saved_tracks"]["tables"]["saved_tracks"]
    assert counts == {"seen": 5, "emitted": 2, "quarantined": 1, "excluded": {"local track": 1, "null item": 1}}
    assert result.accounting["tables"]["saved_tracks"]["duplicates_merged"] == 1
    assert [q["reason"] for q in result.quarantine["saved_tracks"]] == ["added_at is not an ISO-8601 timestamp: 'not a date'"]
    assert result.tables["albums"]["album_id"].to_pylist() == [sid("al9")]
    assert set(result.tables["artists"]["artist_id"].to_pylist()) == {sid("ar1"), sid("ar9")}


@pytest.mark.parametrize("source", ["plays", "saved_tracks", "top_tracks", "top_artists"])
def test_a_page_without_items_is_quarantined_under_its_table(lake, raw, source):
    request = {"plays": RECENT, "saved_tracks": "/v1/me/tracks?limit=50", "top_tracks": "/v1/me/top/tracks",
               "top_artists": "/v1/me/top/artists"}[source]
    raw.write(source, [env(request, {"items": "nope"}), b"{not json"])
    result = transform_partition(lake, PARTITION)
    assert [q["reason"] for q in result.quarantine[source]][0] == "page has no items array"
    assert len(result.quarantine[source]) == 2 and result.tables[source].num_rows == 0
