"""One test per API quirk, on small hand-written responses shaped like the OpenAPI schemas."""

from __future__ import annotations

import datetime as dt

import pytest

from spotify_assets import tables as S
from spotify_assets.transform.extract.builders import output_schema
from spotify_assets.transform.pipeline import transform_partition

from .conftest import (
    PARTITION,
    env,
    episode,
    full_album,
    full_artist,
    item,
    local_track,
    page,
    playlist,
    sid,
    simple_album,
    track,
)

P1 = sid("pl1")


def run(lake):
    return transform_partition(lake, PARTITION)


def rows(result, table):
    return result.tables[table].to_pylist()


def items_env(items, *, offset=0, dev=False, pid=P1, **kw):
    path = "items?limit=50" if dev else "tracks?limit=100"
    return env(f"/v1/playlists/{pid}/{path}&offset={offset}", page(items, offset=offset), **kw)


def test_extended_mode_playlist_with_embedded_page_and_item_pages(lake, raw):
    raw.write("playlists", [env(f"/v1/playlists/{P1}", playlist("pl1", [item(track("t1")), item(track("t2"))], total=3))])
    raw.write("playlist_items", [items_env([item(track("t3"))], offset=2)])
    r = run(lake)
    (p,) = rows(r, "playlists")
    assert p["playlist_id"] == P1 and p["total_items"] == 3 and p["followers"] == 7 and p["owner_id"] == "owner1"
    assert [(i["position"], i["item_id"], i["item_type"]) for i in rows(r, "playlist_items")] == [
        (0, sid("t1"), "track"), (1, sid("t2"), "track"), (2, sid("t3"), "track")]
    assert [t["track_id"] for t in rows(r, "tracks")] == sorted(sid(x) for x in ("t1", "t2", "t3"))
    assert rows(r, "track_artists")[0] == {"track_id": sid("t1"), "artist_id": sid("ar1"), "position": 0}
    # the simplified album and artist inside the tracks give rows when no full object exists
    (al,) = rows(r, "albums")
    assert al["album_id"] == sid("al1") and al["label"] is None and al["popularity"] is None
    (ar,) = rows(r, "artists")
    assert ar["artist_id"] == sid("ar1") and ar["followers"] is None
    assert r.tables["artist_genres"].num_rows == 0


def test_development_mode_shapes_items_key_and_item_field(lake, raw):
    t = track("t1", popularity=None, markets=())
    del t["available_markets"]
    pl = playlist("pl1", [item(t, dev=True)], dev=True, followers=None)
    raw.write("playlists", [env(f"/v1/playlists/{P1}", pl),
                            # a playlist the user doesn't own: metadata only
                            env(f"/v1/playlists/{sid('pl2')}", playlist("pl2", None, dev=True, total=5, followers=None))])
    raw.write("playlist_items", [items_env([item(track("t2", popularity=None), dev=True)], offset=1, dev=True),
                                 env(f"/v1/playlists/{sid('pl2')}/items?limit=50&offset=0",
                                     {"error": {"status": 403, "message": "Forbidden"}}, status=403)])
    r = run(lake)
    pls = {p["playlist_id"]: p for p in rows(r, "playlists")}
    assert pls[P1]["followers"] is None and pls[sid("pl2")]["total_items"] == 5
    assert [(i["position"], i["item_id"]) for i in rows(r, "playlist_items")] == [(0, sid("t1")), (1, sid("t2"))]
    assert all(t["popularity"] is None for t in rows(r, "tracks"))
    assert r.accounting["sources"]["playlist_items"]["excluded"] == {"non-200 response": 1}
    assert r.quarantined == 0


def test_both_quota_modes_names_in_one_response_read_items_and_item(lake, raw):
    """A response of the changeover carrying both names: the current ones (``items``, ``item``) are read, in
    both extraction paths (see spotify_assets.spotify.shapes); a ``{href, total}`` reference under ``items``
    does not hide a page of items under ``tracks``."""
    both = item(track("t1"))
    both["item"] = track("t2")
    pl = playlist("pl1", [item(track("t3"))], total=9)
    pl["items"] = page([both, item(track("t4"), dev=True)], total=2)
    ref_only = playlist("pl2", [item(track("t5"))], total=1)
    ref_only["items"] = {"href": "", "total": 1}
    raw.write("playlists", [env(f"/v1/playlists/{P1}", pl), env(f"/v1/playlists/{sid('pl2')}", ref_only)])
    later = item(track("t6"), dev=True)
    later["track"] = track("t7")
    raw.write("playlist_items", [items_env([later], offset=2, dev=True)])
    r = run(lake)
    assert {p["playlist_id"]: p["total_items"] for p in rows(r, "playlists")} == {P1: 2, sid("pl2"): 1}
    assert sorted((i["playlist_id"], i["position"], i["item_id"]) for i in rows(r, "playlist_items")) == sorted([
        (P1, 0, sid("t2")), (P1, 1, sid("t4")), (P1, 2, sid("t6")), (sid("pl2"), 0, sid("t5"))])
    assert sorted(t["track_id"] for t in rows(r, "tracks")) == sorted(sid(x) for x in ("t2", "t4", "t5", "t6"))
    assert r.quarantined == 0


def test_null_items_are_excluded(lake, raw):
    raw.write("playlist_items", [items_env([item(None), item(track("t1")), None])])
    r = run(lake)
    assert [(i["position"], i["item_id"]) for i in rows(r, "playlist_items")] == [(1, sid("t1"))]
    acc = r.accounting["sources"]["playlist_items"]["tables"]["playlist_items"]
    assert acc == {"seen": 3, "emitted": 1, "quarantined": 0, "excluded": {"null item": 2}}


def test_local_tracks_give_item_rows_but_no_tracks(lake, raw):
    raw.write("playlist_items", [items_env([item(local_track(), is_local=True), item(track("t1"))])])
    r = run(lake)
    its = rows(r, "playlist_items")
    assert its[0]["item_type"] == "local" and its[0]["item_id"] is None
    assert [t["track_id"] for t in rows(r, "tracks")] == [sid("t1")]
    assert r.accounting["sources"]["playlist_items"]["tables"]["tracks"]["excluded"] == {"local track": 1}
    assert r.quarantined == 0


def test_episodes_are_items_not_tracks(lake, raw):
    raw.write("playlist_items", [items_env([item(episode("ep1")), item(track("t1"))])])
    r = run(lake)
    its = rows(r, "playlist_items")
    assert (its[0]["item_type"], its[0]["item_id"]) == ("episode", sid("ep1"))
    assert [t["track_id"] for t in rows(r, "tracks")] == [sid("t1")]


def test_relinked_track_uses_the_playable_id_and_keeps_linked_from(lake, raw):
    t = track("playable1", linked_from={"external_urls": {}, "href": "", "id": sid("orig1"), "type": "track",
                                        "uri": f"spotify:track:{sid('orig1')}"})
    del t["available_markets"]
    raw.write("playlist_items", [items_env([item(t)])])
    r = run(lake)
    (it,) = rows(r, "playlist_items")
    assert it["item_id"] == sid("playable1") and it["linked_from_id"] == sid("orig1")
    assert [x["track_id"] for x in rows(r, "tracks")] == [it["item_id"]]


@pytest.mark.parametrize("value", [204053.0, "204053", "2.04053E5", 2.04053e5])
def test_floats_and_e_notation_where_integers_belong(lake, raw, value):
    t = track("t1", duration_ms=value, popularity=61.0)
    t["track_number"] = "3.0"
    raw.write("tracks", [env(f"/v1/tracks/{sid('t1')}", t)])
    (row,) = rows(run(lake), "tracks")
    assert (row["duration_ms"], row["popularity"], row["track_number"]) == (204053, 61, 3)


def test_big_e_notation_follower_count(lake, raw):
    raw.write("artists", [env(f"/v1/artists/{sid('ar1')}", full_artist("ar1", followers="2.3024383E7"))])
    (a,) = rows(run(lake), "artists")
    assert a["followers"] == 23024383


def test_release_dates_of_every_precision(lake, raw):
    albums = [full_album("y", release_date="1983", precision="year"),
              full_album("m", release_date="2007-03", precision="month"),
              full_album("d", release_date="2007-03-15", precision="day"),
              full_album("x", release_date="2007-03", precision=None)]  # precision missing: from the shape
    raw.write("albums", [env("/v1/albums?ids=...", {"albums": albums})])
    got = {a["album_id"]: (a["release_date"], a["release_date_precision"]) for a in rows(run(lake), "albums")}
    assert got == {sid("y"): (dt.date(1983, 1, 1), "year"), sid("m"): (dt.date(2007, 3, 1), "month"),
                   sid("d"): (dt.date(2007, 3, 15), "day"), sid("x"): (dt.date(2007, 3, 1), "month")}


def test_taken_down_items(lake, raw):
    al = simple_album("gone", release_date="0000", precision="year", name="")
    t = track("gone1", album=al, name="", duration_ms=0, popularity=0)
    raw.write("playlist_items", [items_env([item(t)])])
    r = run(lake)
    (tr,) = rows(r, "tracks")
    assert (tr["name"], tr["duration_ms"]) == ("", 0)
    (a,) = rows(r, "albums")
    assert a["release_date"] is None and a["release_date_raw"] == "0000" and a["release_date_precision"] == "year"
    assert r.quarantined == 0


def test_added_by_null_and_epoch_added_at(lake, raw):
    raw.write("playlist_items", [items_env([item(track("t1"), added_by=None, added_at="1970-01-01T00:00:00Z"),
                                            item(track("t2"), added_at="2025-01-02T03:04:05Z")])])
    its = rows(run(lake), "playlist_items")
    assert its[0]["added_by_id"] is None and its[0]["added_at"] is None
    assert its[1]["added_at"] == dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC) and its[1]["added_by_id"] == "user1"


def test_same_entity_in_several_responses_one_row_full_over_simplified_then_latest(lake, raw):
    raw.write("albums", [env("/v1/albums?ids=", {"albums": [full_album("al1", label_name="Old")]},
                             fetched_at="2026-11-24T05:00:00Z"),
                         env("/v1/albums?ids=", {"albums": [full_album("al1", label_name="New")]},
                             fetched_at="2026-11-24T07:00:00Z")])
    raw.write("tracks", [env("/v1/tracks?ids=", {"tracks": [track("t1", popularity=1)]}, fetched_at="2026-11-24T05:00:00Z")])
    # the later playlist page carries a simplified album (must not beat the full one) and a newer track
    raw.write("playlist_items", [items_env([item(track("t1", popularity=2)), item(track("t1", popularity=3))],
                                           fetched_at="2026-11-24T09:00:00Z")])
    raw.write("artists", [env(f"/v1/artists/{sid('ar1')}", full_artist("ar1", genres=["pop", "pop", "rock"]))])
    r = run(lake)
    (al,) = rows(r, "albums")
    assert al["label"] == "New"
    (t,) = rows(r, "tracks")
    assert t["popularity"] == 2  # latest fetched_at, then first in file/line/position order
    assert r.tables["track_artists"].num_rows == 1 and r.tables["album_artists"].num_rows == 1
    assert [g["genre"] for g in rows(r, "artist_genres")] == ["pop", "rock"]
    assert r.accounting["tables"]["tracks"] == {"candidates": 3, "rows": 1, "duplicates_merged": 2,
                                                "parent_quarantined": 0, "quarantined": 0, "coerced_to_null": {}}
    (ar,) = rows(r, "artists")
    assert ar["followers"] == 1000  # the full artist object wins over the simplified ones


def test_unicode_survives(lake, raw):
    name = "Ñandú — 東京 ✨ \u00e9\u0301 😀"
    raw.write("tracks", [env(f"/v1/tracks/{sid('t1')}", track("t1", name=name))])
    (t,) = rows(run(lake), "tracks")
    assert t["name"] == name


def test_batch_null_entries_are_documented_exclusions(lake, raw):
    raw.write("tracks", [env("/v1/tracks?ids=a,b,c", {"tracks": [track("t1"), None, None]})])
    raw.write("artists", [env("/v1/artists?ids=a,b", {"artists": [None, full_artist("ar9")]})])
    r = run(lake)
    assert r.tables["tracks"].num_rows == 1
    assert r.accounting["sources"]["tracks"]["tables"]["tracks"]["excluded"] == {"null batch entry": 2}
    assert r.accounting["sources"]["artists"]["tables"]["artists"]["excluded"] == {"null batch entry": 1}


def test_error_bodies(lake, raw):
    err = {"error": {"status": 404, "message": "Not found"}}
    raw.write("tracks", [env("/v1/tracks/x", err, status=404), env("/v1/tracks/y", err, status=200),
                         env("/v1/tracks/z", None, status=429), env(f"/v1/tracks/{sid('t1')}", track("t1"))])
    r = run(lake)
    src = r.accounting["sources"]["tracks"]
    assert src["lines"] == 4 and src["parsed"] == 1 and src["excluded"] == {"non-200 response": 2}
    assert src["quarantined"] == 1
    (q,) = r.quarantine["tracks"]
    assert q["reason"] == "error body with status 200" and q["record"] == err and q["raw_line"] == 2


def test_unknown_new_fields_are_ignored(lake, raw):
    t = track("t1", brand_new_field={"nested": [1, 2]}, another=3.5)
    pl = playlist("pl1", [dict(item(t), shiny=True)])
    pl["future"] = "x"
    raw.write("playlists", [dict(env(f"/v1/playlists/{P1}", pl), new_envelope_field=1)])
    r = run(lake)
    assert r.tables["tracks"].num_rows == 1 and r.tables["playlist_items"].num_rows == 1 and r.quarantined == 0


def test_single_lookups_and_full_album_artists(lake, raw):
    raw.write("albums", [env(f"/v1/albums/{sid('al1')}", full_album("al1", artists=("ar1", "ar2")))])
    r = run(lake)
    assert [(x["artist_id"], x["position"]) for x in rows(r, "album_artists")] == [(sid("ar1"), 0), (sid("ar2"), 1)]
    (al,) = rows(r, "albums")
    assert (al["label"], al["popularity"], al["upc"]) == ("Label", 40, "00602")


def test_types_are_exactly_the_schemas_and_keys_sorted(lake, raw):
    raw.write("playlist_items", [items_env([item(track(f"t{i}", artists=(f"ar{i % 3}",))) for i in (5, 3, 9, 1)])])
    r = run(lake)
    for name, tab in r.tables.items():
        assert tab.schema.equals(output_schema(name), check_metadata=False), name
        for f in S.TABLES[name].schema:
            assert tab.schema.field(f.name).type == f.type
        key = list(S.TABLES[name].key)
        if tab.num_rows:
            keys = [tuple(r_[k] for k in key) for r_ in tab.select(key).to_pylist()]
            assert keys == sorted(keys) and len(set(keys)) == len(keys)
            for k in key:
                assert tab[k].null_count == 0
    assert r.tables["tracks"]["track_id"].to_pylist() == sorted(sid(f"t{i}") for i in (1, 3, 5, 9))
