"""Numbers a real or damaged response can carry never crash the transform: beyond int64, E-notation strings
that overflow, huge or negative page offsets become quarantine records, identically on both paths (the
autouse fixture in conftest.py compares the Python path, the fast path and the fast path with tiny chunks)."""

from __future__ import annotations

import json

import pytest

from spotify_assets.transform.coerce import INT64_MAX, INT64_MIN, Bad, to_int
from spotify_assets.transform.pipeline import transform_partition

from .conftest import PARTITION, env, full_album, full_artist, item, page, playlist, sid, track

P1 = sid("pl1")
BIG = INT64_MAX + 1


def _json(obj) -> bytes:
    """A raw line written by the standard library's encoder: it spells integers of any size, as a response may."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _items(items, offset=0):
    return _json(env(f"/v1/playlists/{P1}/tracks?limit=100&offset={offset}", page(items, offset=offset)))


@pytest.mark.parametrize("v,reason", [
    (BIG, "x is out of the int64 range: 9223372036854775808"),
    (INT64_MIN - 1, "x is out of the int64 range: -9223372036854775809"),
    (10 ** 60, "x is out of the int64 range: 10000000000000000000…(61 digits)"),
    ("1e30", "x is out of the int64 range: '1e30'"),
    ("9223372036854775808", "x is out of the int64 range: 9223372036854775808"),
    (1e30, "x is out of the int64 range: 1e+30"),
    (-9.223372036854776e18, "x is out of the int64 range: -9.223372036854776e+18"),  # what parsers make of -2**63-1
    ("1_000", "x is not a number: '1_000'"),
    ("nan", "x is not a number: 'nan'"),
])
def test_to_int_rejects_what_int64_cannot_hold(v, reason):
    with pytest.raises(Bad) as e:
        to_int(v, "x")
    assert e.value.reason == reason


@pytest.mark.parametrize("v,want", [(INT64_MAX, INT64_MAX), (INT64_MIN, INT64_MIN), ("-9223372036854775808", INT64_MIN),
                                    (9.2e18, 9_200_000_000_000_000_000), (" 12 ", 12), ("+1.5E1", 15)])
def test_to_int_keeps_the_edges(v, want):
    assert to_int(v) == want


def test_track_and_album_numbers_beyond_int64_are_quarantined_not_fatal(lake, raw):
    huge_album = full_album("al9", popularity=BIG)
    raw.write("playlist_items", [
        _items([item(track("t1", popularity=BIG)), item(track("t2", duration_ms="1e30")),
                item(track("t3", disc_number=INT64_MIN - 1))]),
        _items([item(track("t4", album=huge_album))], offset=3),
    ])
    raw.write("artists", [_json(env("/v1/artists?ids=x", {"artists": [full_artist("r1", followers=10 ** 30),
                                                                      full_artist("r2", popularity=-(2 ** 70))]}))])
    r = transform_partition(lake, PARTITION)
    tracks_quarantined = r.quarantine["tracks"]
    assert [(q["record"]["id"], q["reason"]) for q in tracks_quarantined[:3]] == [
        (sid("t1"), "popularity is out of the int64 range: 9223372036854775808"),
        (sid("t2"), "duration_ms is out of the int64 range: '1e30'"),
        (sid("t3"), "disc_number is out of the int64 range: -9.223372036854776e+18"),
    ]
    # t4 itself is fine, but its album is quarantined: it goes too, as the row it would have been
    assert [(q["record"]["track_id"], q["reason"]) for q in tracks_quarantined[3:]] == [
        (sid("t4"), f"parent quarantined: albums {sid('al9')} (popularity is out of the int64 range: "
                    "9223372036854775808)")]
    assert [(q["record"]["id"], q["reason"]) for q in r.quarantine["albums"]] == [
        (sid("al9"), "popularity is out of the int64 range: 9223372036854775808")]
    assert [(q["record"]["id"], q["reason"]) for q in r.quarantine["artists"]] == [
        # (orjson reads integer literals beyond 64 bits as floats)
        (sid("r1"), "followers.total is out of the int64 range: 1e+30"),
        (sid("r2"), "popularity is out of the int64 range: -1.1805916207174113e+21")]
    # the items themselves are fine, but they name quarantined tracks: quarantined with them
    assert r.tables["playlist_items"].num_rows == 0 and r.tables["tracks"].num_rows == 0
    assert [q["reason"].split(" (")[0] for q in r.quarantine["playlist_items"]] == [
        f"parent quarantined: tracks {sid(t)}" for t in ("t1", "t2", "t3")] + [
        f"parent quarantined: tracks {sid('t4')} ← albums {sid('al9')}"]


@pytest.mark.parametrize("offset,n_items,reason", [
    (INT64_MAX, 2, "page offset 9223372036854775807 out of range for 2 items (positions must be non-negative int64)"),
    (-5, 1, "page offset -5 out of range for 1 items (positions must be non-negative int64)"),
    (BIG, 1, "offset is out of the int64 range: 9223372036854775808"),
    ("1e30", 1, "offset is out of the int64 range: '1e30'"),
])
def test_page_offsets_whose_positions_do_not_fit_quarantine_the_page(lake, raw, offset, n_items, reason):
    its = [item(track(f"t{i}")) for i in range(n_items)]
    bad = env(f"/v1/playlists/{P1}/tracks?offset=0", page(its) | {"offset": offset})
    raw.write("playlist_items", [_json(bad), _items([item(track("ok"))], offset=n_items)])
    r = transform_partition(lake, PARTITION)
    (q,) = r.quarantine["playlist_items"]
    assert (q["raw_line"], q["reason"]) == (1, reason)
    assert r.tables["playlist_items"]["position"].to_pylist() == [n_items]


def test_offset_from_the_request_is_checked_too(lake, raw):
    body = page([item(track("t1")), item(track("t2"))])
    del body["offset"]
    raw.write("playlist_items", [env(f"/v1/playlists/{P1}/tracks?offset={INT64_MAX}", body)])
    raw.write("playlists", [env(f"/v1/playlists/{sid('pl2')}",
                                playlist("pl2", [item(track("t3"))]) | {"tracks": page([item(track("t3"))]) | {"offset": -1}})])
    r = transform_partition(lake, PARTITION)
    assert [q["reason"] for q in r.quarantine["playlist_items"]] == [
        "page offset 9223372036854775807 out of range for 2 items (positions must be non-negative int64)"]
    assert [q["reason"] for q in r.quarantine["playlists"]] == [
        "page offset -1 out of range for 1 items (positions must be non-negative int64)"]
    assert r.row_counts["playlist_items"] == 0


def test_largest_offset_that_fits_is_kept(lake, raw):
    raw.write("playlist_items", [_items([item(track("t1")), item(track("t2"))], offset=INT64_MAX - 1)])
    r = transform_partition(lake, PARTITION)
    assert r.tables["playlist_items"]["position"].to_pylist() == [INT64_MAX - 1, INT64_MAX]
    assert r.quarantined == 0
