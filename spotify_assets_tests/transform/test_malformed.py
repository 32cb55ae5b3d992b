"""Broken records go to quarantine at the smallest failing unit, and the accounting still balances."""

from __future__ import annotations

import orjson
import pytest

from spotify_assets.lake.publication.staging import Staging
from spotify_assets.lake.quarantine import read_quarantine_file
from spotify_assets.transform.pipeline import transform_partition
from spotify_assets.transform.records import AccountingError

from .conftest import PARTITION, env, full_album, full_artist, item, page, sid, track

P1 = sid("pl1")


def _items(items, offset=0):
    return env(f"/v1/playlists/{P1}/tracks?limit=100&offset={offset}", page(items, offset=offset))


def _check_balanced(acc):
    for source, sc in acc["sources"].items():
        assert sc["lines"] == sc["parsed"] + sc["quarantined"] + sum(sc["excluded"].values()), source
        for t, c in sc["tables"].items():
            assert c["seen"] == c["emitted"] + c["quarantined"] + sum(c["excluded"].values()), (source, t)
    for t, c in acc["tables"].items():
        assert c["candidates"] == c["rows"] + c["duplicates_merged"] + c["parent_quarantined"], t


def test_broken_lines_quarantined_whole_with_origin(lake, raw):
    good = orjson.dumps(env(f"/v1/tracks/{sid('t1')}", track("t1")))
    path = raw.write("tracks", [
        good,
        good[: len(good) // 2],                      # truncated JSON
        b"[1, 2, 3]",                                # not an object
        orjson.dumps({"status": 200, "body": {}}),   # no request
        orjson.dumps(env("/v1/tracks?ids=", {"tracks": "nope"})),  # batch of the wrong type
        orjson.dumps(env("/v1/tracks/x", [1])),      # body not an object
    ])
    staging = Staging(lake, PARTITION, "run-1")
    r = transform_partition(lake, PARTITION, staging=staging)
    q = r.quarantine["tracks"]
    assert [x["raw_line"] for x in q] == [2, 3, 4, 5, 6]
    assert all(x["raw_file"] == path and x["table"] == "tracks" for x in q)
    assert q[0]["reason"].startswith("invalid JSON") and isinstance(q[0]["record"], str)
    assert "expected object" in q[1]["reason"]
    assert r.tables["tracks"].num_rows == 1
    src = r.accounting["sources"]["tracks"]
    assert (src["lines"], src["parsed"], src["quarantined"]) == (6, 1, 5)
    _check_balanced(r.accounting)
    # staged on the lake, and read back identically
    assert read_quarantine_file(lake, staging.file("quarantine", "tracks")) == q


def test_single_bad_item_or_track_quarantined_alone(lake, raw):
    bad_types = track("t2", duration_ms="long")          # wrong type in a track field → the track (and its item)
    no_id = track("t3")
    del no_id["id"]                                       # missing id → the item (it has no item_id)
    bad_id = track("t4")
    bad_id["id"] = "not/an-id"
    bad_artist = track("t5", artists=("ar1",))
    bad_artist["artists"].append({"id": 42, "name": "x"})  # bad artist reference → the link only
    raw.write("playlist_items", [_items([
        item(track("t1")), item(bad_types), item(no_id), item(bad_id), item(bad_artist),
        item(track("t6"), added_at="yesterday"), "garbage"])])
    r = transform_partition(lake, PARTITION)
    assert [i["item_id"] for i in r.tables["playlist_items"].to_pylist()] == [sid("t1"), sid("t5")]
    assert sorted(r.tables["tracks"]["track_id"].to_pylist()) == [sid("t1"), sid("t5")]
    reasons = {t: [x["reason"] for x in v] for t, v in r.quarantine.items()}
    assert reasons["tracks"] == ["duration_ms is not a number: 'long'"]
    assert reasons["playlist_items"] == ["missing track id", "invalid track id: 'not/an-id'",
                                         "added_at is not an ISO-8601 timestamp: 'yesterday'", "item is a JSON str",
                                         f"parent quarantined: tracks {sid('t2')} (duration_ms is not a number: 'long')"]
    assert reasons["track_artists"] == ["invalid artist id: '42'"]
    assert r.quarantine["tracks"][0]["record"]["id"] == sid("t2")
    assert r.tables["track_artists"].num_rows == 2
    _check_balanced(r.accounting)
    assert r.accounting["sources"]["playlist_items"]["tables"]["playlist_items"] == {
        "seen": 7, "emitted": 3, "quarantined": 4, "excluded": {}}
    assert r.accounting["tables"]["playlist_items"] == {
        "candidates": 3, "rows": 2, "duplicates_merged": 0, "parent_quarantined": 1, "quarantined": 5,
        "coerced_to_null": {}}


def test_bad_entities_in_albums_and_artists(lake, raw):
    bad_album = full_album("al2")
    bad_album["total_tracks"] = "many"
    bad_album2 = full_album("al3")
    bad_album2["release_date"] = 2020
    raw.write("albums", [env("/v1/albums?ids=", {"albums": [full_album("al1"), bad_album, bad_album2, 7]})])
    bad_genres = full_artist("ar2", genres=["pop", None])
    raw.write("artists", [env("/v1/artists?ids=", {"artists": [bad_genres, {"name": "no id"}]})])
    r = transform_partition(lake, PARTITION)
    assert r.tables["albums"]["album_id"].to_pylist() == [sid("al1")]
    assert [x["reason"] for x in r.quarantine["albums"]] == [
        "total_tracks is not a number: 'many'", "release_date has type int, expected string", "batch entry is a JSON int"]
    assert [x["reason"] for x in r.quarantine["artists"]] == ["missing artist id"]
    assert r.tables["artist_genres"].to_pylist() == [{"artist_id": sid("ar2"), "genre": "pop"}]
    assert len(r.quarantine["artist_genres"]) == 1
    _check_balanced(r.accounting)


def test_bad_playlist_request_and_page(lake, raw):
    raw.write("playlist_items", [
        env("/v1/me/tracks?offset=0", page([item(track("t1"))])),               # no playlist id in the path
        env(f"/v1/playlists/{P1}/tracks?offset=0", {"total": 3}),                 # no items array
        env(f"/v1/playlists/{P1}/tracks?offset=0", {"items": [], "offset": 0.5}),  # non-integer offset
    ])
    r = transform_partition(lake, PARTITION)
    assert len(r.quarantine["playlist_items"]) == 3 and r.tables["playlist_items"].num_rows == 0
    _check_balanced(r.accounting)


def test_invariant_is_enforced(lake, raw, monkeypatch):
    raw.write("tracks", [env(f"/v1/tracks/{sid('t1')}", track("t1"))])
    from spotify_assets.transform.extract import extractor as entities

    original = entities.Extractor.track

    def leaky(self, t):  # "forgets" to count what it drops
        self._c["tracks"].seen += 1

    monkeypatch.setattr(entities.Extractor, "track", leaky)
    with pytest.raises(AccountingError):
        transform_partition(lake, PARTITION)
    monkeypatch.setattr(entities.Extractor, "track", original)
    assert transform_partition(lake, PARTITION).tables["tracks"].num_rows == 1



def test_quarantined_records_are_verbatim_even_when_markets_were_skipped(lake, raw):
    """The parser skips available_markets for speed; quarantine still shows the record as received."""
    markets = ["AD", "AE", "AR"]
    bad = track("t2", duration_ms="long", markets=markets)
    bad["album"]["available_markets"] = markets
    ok = track("t1", markets=markets)
    raw.write("playlist_items", [_items([item(ok), item(bad)]),
                                 env(f"/v1/playlists/{P1}/tracks?offset=0", {"items": "x", "available_markets": markets})])
    raw.write("albums", [env("/v1/albums?ids=", {"albums": [dict(full_album("al7", markets=markets), total_tracks="x")]})])
    r = transform_partition(lake, PARTITION)
    (q,) = r.quarantine["tracks"]
    assert q["record"] == bad and q["record"]["available_markets"] == markets
    assert r.quarantine["playlist_items"][0]["record"] == {"items": "x", "available_markets": markets}
    assert r.quarantine["albums"][0]["record"]["available_markets"] == markets
    assert r.tables["tracks"]["track_id"].to_pylist() == [sid("t1")]


def test_corrupt_or_truncated_gzip_file_is_quarantined_not_fatal(lake, raw):
    import gzip

    raw.write("tracks", [env(f"/v1/tracks/{sid('t1')}", track("t1"))])
    lake.write_bytes(f"raw/tracks/dt={PARTITION}/broken.jsonl.gz", b"not gzip at all")
    whole = gzip.compress(b"".join(orjson.dumps(env(f"/v1/tracks/{sid('t2')}", track("t2"))) + b"\n" for _ in range(3)))
    lake.write_bytes(f"raw/tracks/dt={PARTITION}/cut.jsonl.gz", whole[: len(whole) // 2])
    r = transform_partition(lake, PARTITION)
    assert r.tables["tracks"]["track_id"].to_pylist() == [sid("t1")]
    reasons = sorted((q["raw_file"].rsplit("/", 1)[1], q["reason"]) for q in r.quarantine["tracks"])
    assert [(f, r.split(" at compressed")[0]) for f, r in reasons] == [
        ("broken.jsonl.gz", "unreadable gzip data after line 0: not a gzip file (incorrect header check)"),
        ("cut.jsonl.gz", "unreadable gzip data after line 0: gzip data truncated (the file ends inside a gzip member)")]
    _check_balanced(r.accounting)
    assert r.accounting["sources"]["tracks"]["quarantined"] == 2
