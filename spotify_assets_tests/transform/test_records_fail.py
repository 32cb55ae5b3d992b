"""Records fail, days pass: a value no valid record can have (out of range, negative, after the day, an invalid
reference) quarantines that record with its reason, and what names it — the track of a quarantined album, the
playlist items and artist links of a quarantined track — goes with it as "parent quarantined"; everything
else is a row. Coercions to null (an impossible release date, the epoch as a timestamp) are counted per column.

Every transform here runs three ways (Python path, fast path, fast path with tiny chunks) and the three
extractions are compared by the autouse fixture in conftest.py, coercion counts included.
"""

from __future__ import annotations

import datetime as dt

import pytest

from spotify_assets.lake.publication.staging import Staging
from spotify_assets.lake.quarantine import read_quarantine_file
from spotify_assets.transform.pipeline import transform_partition

from .conftest import PARTITION, env, full_album, full_artist, item, page, playlist, sid, simple_album, track

P1 = sid("pl1")


def _items(items, offset=0, playlist_id=P1):
    return env(f"/v1/playlists/{playlist_id}/tracks?limit=100&offset={offset}", page(items, offset=offset))


def _reasons(r, table: str) -> list[str]:
    return [q["reason"] for q in r.quarantine.get(table, [])]


def _ids(r, table: str, column: str) -> list:
    return sorted(r.tables[table][column].to_pylist())


def test_one_odd_track_is_quarantined_with_what_names_it_and_the_rest_is_rows(lake, raw):
    bad_album = track("tbadalbum")
    bad_album["album"]["id"] = "not-an-album-id"
    raw.write("playlist_items", [_items([
        item(track("tok")),
        item(track("tpop", popularity=150, artists=("ar1", "ar2"))),
        item(track("tdur", duration_ms=-5)),
        item(bad_album),
        item(track("tdisc", disc_number=-1)),
        item(track("tok2", artists=("ar2",))),
    ])])
    staging = Staging(lake, PARTITION, "run-1")
    r = transform_partition(lake, PARTITION, staging=staging)

    assert _ids(r, "tracks", "track_id") == [sid("tok"), sid("tok2")]
    assert _reasons(r, "tracks") == [
        "popularity 150 is outside [0, 100]",
        "duration_ms -5 is outside [0, +inf]",
        "invalid album id: 'not-an-album-id'",
        "disc_number -1 is outside [0, +inf]",
    ]
    assert [q["record"]["id"] for q in r.quarantine["tracks"]] == [sid(t) for t in ("tpop", "tdur", "tbadalbum", "tdisc")]
    assert r.quarantine["tracks"][0]["raw_line"] == 1 and r.quarantine["tracks"][0]["record"]["popularity"] == 150
    # their playlist items name them: quarantined too, with the track's reason
    assert [i["item_id"] for i in r.tables["playlist_items"].to_pylist()] == [sid("tok"), sid("tok2")]
    items_q = r.quarantine["playlist_items"]
    assert [q["reason"] for q in items_q] == [
        f"parent quarantined: tracks {sid('tpop')} (popularity 150 is outside [0, 100])",
        f"parent quarantined: tracks {sid('tdur')} (duration_ms -5 is outside [0, +inf])",
        f"parent quarantined: tracks {sid('tbadalbum')} (invalid album id: 'not-an-album-id')",
        f"parent quarantined: tracks {sid('tdisc')} (disc_number -1 is outside [0, +inf])",
    ]
    # the record is the row as it would have been published, with the raw file it came from
    assert items_q[0]["record"] == {"playlist_id": P1, "position": 1, "item_type": "track", "item_id": sid("tpop"),
                                    "added_at": "2025-01-02T03:04:05+00:00",
                                    "added_by_id": "user1", "linked_from_id": None}
    assert items_q[0]["raw_file"] == r.quarantine["tracks"][0]["raw_file"] and items_q[0]["raw_line"] is None
    assert read_quarantine_file(lake, staging.file("quarantine", "playlist_items")) == items_q  # staged as reported
    # no album was quarantined (the track is the record holding the bad reference); the valid ones are rows
    assert "albums" not in r.quarantine and _ids(r, "albums", "album_id") == [sid("al1")]
    assert sorted(r.tables["track_artists"]["track_id"].to_pylist()) == [sid("tok"), sid("tok2")]
    acc = r.accounting["tables"]
    assert acc["tracks"]["quarantined"] == 4 and acc["tracks"]["parent_quarantined"] == 0
    assert acc["playlist_items"] == {
        "candidates": 6, "rows": 2, "duplicates_merged": 0, "parent_quarantined": 4, "quarantined": 4,
        "coerced_to_null": {}}


def test_a_quarantined_album_takes_its_tracks_their_items_and_links(lake, raw):
    future = (dt.date.fromisoformat(PARTITION) + dt.timedelta(days=1)).isoformat()
    raw.write("albums", [env("/v1/albums?ids=", {"albums": [
        full_album("alfut", release_date=future, artists=("ar1",)),
        full_album("alok", artists=("ar1",)),
        full_album("alneg", popularity=-3),
    ]})])
    raw.write("playlist_items", [_items([
        item(track("t1", album=simple_album("alfut", release_date=future), artists=("ar1", "ar2"))),
        item(track("t2", album="alok")),
        item(track("t3", album=simple_album("alfut", release_date=future))),
    ])])
    r = transform_partition(lake, PARTITION)

    # every copy of the album is out of range (the full one and the simplified ones inside the tracks), so
    # it is missing from the table, and with it every track on it, their items and their artist links
    too_late = f"release_date {future} is outside [-inf, {PARTITION} (the partition day)]"
    assert _reasons(r, "albums") == [too_late, "popularity -3 is outside [0, 100]", too_late, too_late]
    assert _ids(r, "albums", "album_id") == [sid("alok")]
    assert _ids(r, "tracks", "track_id") == [sid("t2")]
    assert _reasons(r, "tracks") == [
        f"parent quarantined: albums {sid('alfut')} (release_date {future} is outside [-inf, {PARTITION} "
        "(the partition day)])"] * 2
    assert [q["record"]["track_id"] for q in r.quarantine["tracks"]] == [sid("t1"), sid("t3")]
    assert [q["reason"].split(" (")[0] for q in r.quarantine["playlist_items"]] == [
        f"parent quarantined: tracks {sid('t1')} ← albums {sid('alfut')}",
        f"parent quarantined: tracks {sid('t3')} ← albums {sid('alfut')}"]
    assert [(q["record"]["track_id"], q["record"]["artist_id"]) for q in r.quarantine["track_artists"]] == [
        (sid("t1"), sid("ar1")), (sid("t1"), sid("ar2")), (sid("t3"), sid("ar1"))]
    assert r.tables["track_artists"].to_pylist() == [{"track_id": sid("t2"), "artist_id": sid("ar1"), "position": 0}]
    # the album's own artist links: the quarantined album's were never emitted; alok's stay
    assert r.tables["album_artists"]["album_id"].to_pylist() == [sid("alok")]
    assert r.accounting["tables"]["tracks"]["parent_quarantined"] == 2
    assert r.accounting["tables"]["track_artists"]["parent_quarantined"] == 3


def test_a_record_quarantined_in_one_copy_but_published_from_another_takes_nothing_with_it(lake, raw):
    raw.write("tracks", [env("/v1/tracks?ids=", {"tracks": [track("t1", popularity=101)]},
                             fetched_at="2026-11-24T07:00:00Z")])  # later, so it would win: quarantined
    raw.write("playlist_items", [_items([item(track("t1", popularity=50))])])
    r = transform_partition(lake, PARTITION)
    assert _reasons(r, "tracks") == ["popularity 101 is outside [0, 100]"]
    assert r.tables["tracks"].to_pylist()[0]["popularity"] == 50
    assert r.tables["playlist_items"].num_rows == 1 and "playlist_items" not in r.quarantine


def test_artists_and_playlists_out_of_range_take_their_links_and_items(lake, raw):
    raw.write("artists", [env("/v1/artists?ids=", {"artists": [
        full_artist("arneg", followers=-1, genres=("pop", "rock")), full_artist("arok", genres=("jazz",))]})])
    raw.write("playlists", [env(f"/v1/playlists/{sid('pl2')}", playlist("pl2", total=-1))])
    odd_artist = track("t3", artists=("arbad",))
    odd_artist["artists"][0]["name"] = 5
    raw.write("playlist_items", [
        _items([item(track("t1", artists=("arneg", "arok"))), item(odd_artist)]),
        _items([item(track("t2"))], playlist_id=sid("pl2")),
    ])
    r = transform_partition(lake, PARTITION)
    assert _reasons(r, "artists") == ["followers -1 is outside [0, +inf]", "name has type int, expected string"]
    assert _reasons(r, "playlists") == ["total_items -1 is outside [0, +inf]"]
    # the full copy of arneg is quarantined; the simplified copy inside t1 is a valid record: it is the row
    # (without the followers and popularity only full objects have), so nothing that names arneg goes
    arneg = next(a for a in r.tables["artists"].to_pylist() if a["artist_id"] == sid("arneg"))
    assert (arneg["followers"], arneg["popularity"]) == (None, None)
    assert r.tables["artist_genres"].to_pylist() == [{"artist_id": sid("arok"), "genre": "jazz"}]
    # arbad has no valid copy: its link goes; the track itself names no artist directly and stays
    assert [q["reason"] for q in r.quarantine["track_artists"]] == [
        f"parent quarantined: artists {sid('arbad')} (name has type int, expected string)"]
    assert [q["reason"] for q in r.quarantine["playlist_items"]] == [
        f"parent quarantined: playlists {sid('pl2')} (total_items -1 is outside [0, +inf])"]
    assert _ids(r, "tracks", "track_id") == [sid("t1"), sid("t2"), sid("t3")]
    assert sorted((a["track_id"], a["artist_id"]) for a in r.tables["track_artists"].to_pylist()) == [
        (sid("t1"), sid("arneg")), (sid("t1"), sid("arok")), (sid("t2"), sid("ar1"))]


@pytest.mark.parametrize("source", ["albums", "playlist_items"])
def test_impossible_release_dates_become_null_and_are_counted(lake, raw, source):
    albums = [full_album("al1", release_date="0000-00-00"), full_album("al2", release_date="0000", precision="year"),
              full_album("al3", release_date="2007-13"), full_album("al4")]
    if source == "albums":
        raw.write("albums", [env("/v1/albums?ids=", {"albums": albums})])
    else:
        raw.write("playlist_items", [_items([item(track(f"t{i}", album=a)) for i, a in enumerate(albums)])])
    r = transform_partition(lake, PARTITION)
    rows = {a["album_id"]: a for a in r.tables["albums"].to_pylist()}
    assert [rows[sid(a)]["release_date"] for a in ("al1", "al2", "al3")] == [None, None, None]
    assert rows[sid("al1")]["release_date_raw"] == "0000-00-00"
    assert r.quarantined == 0
    assert r.accounting["tables"]["albums"]["coerced_to_null"] == {"release_date": 3}


def test_epoch_timestamps_become_null_and_are_counted_per_record(lake, raw):
    epoch_page = _items([item(track("t1"), added_at="1970-01-01T00:00:00Z"), item(track("t2")),
                         item(track("t3"), added_at="1970-01-01T00:00:00Z")])
    raw.write("playlist_items", [epoch_page])
    raw.write("playlist_items", [epoch_page])  # the same page landed twice: one row per position
    r = transform_partition(lake, PARTITION)
    assert r.tables["playlist_items"].num_rows == 3 and r.tables["playlist_items"]["added_at"].null_count == 2
    # counted like the rest of the accounting: per record read, before one row per key is chosen
    assert r.accounting["tables"]["playlist_items"]["coerced_to_null"] == {"added_at": 4}
    assert r.accounting["tables"]["tracks"]["coerced_to_null"] == {}


def test_listening_records_out_of_range(lake, raw):
    later = "2026-11-25T00:00:01Z"
    raw.write("saved_tracks", [env("/v1/me/tracks?offset=0&limit=50", page([
        {"added_at": later, "track": track("tsaved")},
        {"added_at": "2026-11-20T10:00:00Z", "track": track("tsaved2")},
        {"added_at": "2026-11-20T10:00:00Z", "track": track("tsaved3", popularity=-1)},
    ]))])
    r = transform_partition(lake, PARTITION)
    assert _reasons(r, "saved_tracks") == [
        "added_at 2026-11-25T00:00:01+00:00 is outside [-inf, 2026-11-24T23:59:59.999999+00:00 (the partition day)]",
        f"parent quarantined: tracks {sid('tsaved3')} (popularity -1 is outside [0, 100])"]
    assert r.tables["saved_tracks"]["track_id"].to_pylist() == [sid("tsaved2")]
