"""Paging, limits, error shapes, batch look-ups, development-mode removals and the realistic oddities."""

from __future__ import annotations

import re

import pytest


def _walk(api, first_url, **params):
    """Follow ``next`` links; check each page's paging fields against the previous one."""
    page = api.ok(first_url, **params)
    items, total = [], page["total"]
    prev_offset = None
    while True:
        assert page["total"] == total
        assert page["offset"] == (0 if prev_offset is None else prev_offset + page["limit"])
        assert len(page["items"]) == min(page["limit"], total - page["offset"])
        if page["offset"] == 0:
            assert page["previous"] is None
        else:
            assert f"offset={max(0, page['offset'] - page['limit'])}" in page["previous"]
        items.extend(page["items"])
        prev_offset = page["offset"]
        if page["next"] is None:
            assert page["offset"] + page["limit"] >= total
            break
        assert page["next"].startswith(api.server.api_url)
        page = api.ok(page["next"])
    assert len(items) == total
    return items


def _playlist_key(it):
    t = it.get("track", it.get("item"))
    return (it["added_at"], None if t is None else t.get("uri"))


def test_walking_playlist_pages_gives_every_item_once(api):
    for pl in api.ok("me/playlists", limit=50)["items"][:6]:
        full = _walk(api, f"playlists/{pl['id']}/tracks", limit=100)
        small = _walk(api, f"playlists/{pl['id']}/items", limit=7, additional_types="track,episode")
        assert len(full) == len(small) == pl["tracks"]["total"]
        embedded = api.ok(f"playlists/{pl['id']}")["tracks"]
        assert embedded["limit"] == 100 and embedded["total"] == len(full)
        # The same positions come back whatever the page size (episodes aside, which show as null).
        assert [it["added_at"] for it in full] == [it["added_at"] for it in small]


def test_walking_other_collections(api):
    mine = _walk(api, "me/playlists", limit=5)
    assert len({p["id"] for p in mine}) == len(mine) == api.server.music.n_playlists
    album = api.admin()["sample_ids"]["album"][1]
    tracks = _walk(api, f"albums/{album}/tracks", limit=3)
    assert [t["track_number"] for t in tracks if t["disc_number"] == 1][:3] == [1, 2, 3]


@pytest.mark.parametrize(
    "path,params",
    [
        ("playlists/{pl}/tracks", {"limit": 0}),
        ("playlists/{pl}/tracks", {"limit": 101}),
        ("playlists/{pl}/items", {"limit": "ten"}),
        ("me/playlists", {"limit": 51}),
        ("albums/{al}/tracks", {"limit": 51}),
        ("artists/{ar}/albums", {"limit": 51}),
        ("search", {"q": "a", "type": "track", "limit": 51}),
    ],
)
def test_limit_out_of_range_is_400(api, path, params):
    ids = api.admin()["sample_ids"]
    url = path.format(pl=ids["playlist"][0], al=ids["album"][0], ar=ids["artist"][0])
    r = api.get(url, **params)
    assert r.status_code == 400
    assert r.json() == {"error": {"status": 400, "message": "Invalid limit"}}


def test_batch_lookups(api):
    ids = api.admin()["sample_ids"]
    for kind, maximum in (("tracks", 50), ("albums", 20), ("artists", 50)):
        one = ids[kind[:-1]][0]
        r = api.get(kind, ids=",".join([one] * (maximum + 1)))
        assert r.status_code == 400 and r.json()["error"]["message"] == "Too many ids requested"
        unknown = "0" * 22
        body = api.ok(kind, ids=f"{one},{unknown},{one}")
        assert body[kind][1] is None and body[kind][0]["id"] == one and body[kind][2] == body[kind][0]
    r = api.get("tracks", ids="not-a-valid-id!!")
    assert r.status_code == 400 and r.json()["error"]["message"] == "Invalid base62 id"


def test_not_found_and_bad_ids(api):
    ids = api.admin()["sample_ids"]
    nf = {"error": {"status": 404, "message": "Resource not found"}}
    assert api.get("tracks/" + "0" * 22).json() == nf
    assert api.get("tracks/" + ids["album"][0]).json() == nf  # an album id is not a track id
    assert api.get("playlists/" + ids["track"][0]).status_code == 404
    r = api.get("artists/short-id")
    assert r.status_code == 400 and r.json() == {"error": {"status": 400, "message": "Invalid base62 id"}}
    r = api.get("no/such/endpoint")
    assert r.status_code == 404 and r.json()["error"]["status"] == 404
    assert r.headers["Content-Type"].startswith("application/json")


def test_development_mode_removals_and_renames(dev_api, api):
    ids = dev_api.admin()["sample_ids"]
    demo = dev_api.admin()["demo_user_id"]
    for kind in ("tracks", "albums", "artists"):
        assert dev_api.get(kind, ids=ids[kind[:-1]][0]).status_code == 403
    track = dev_api.ok("tracks/" + ids["track"][0])
    assert not {"popularity", "available_markets"} & set(track) and "available_markets" not in track["album"]
    assert "popularity" not in dev_api.ok("albums/" + ids["album"][0])
    assert not {"popularity", "followers"} & set(dev_api.ok("artists/" + ids["artist"][0]))
    ext_track = api.ok("tracks/" + ids["track"][0])
    assert {"popularity", "available_markets"} <= set(ext_track)

    playlists = dev_api.ok("me/playlists", limit=50)["items"]
    assert all("items" in p and "tracks" not in p for p in playlists)
    assert all(p["owner"]["id"] != "spotify" for p in playlists)
    owned = next(p for p in playlists if p["owner"]["id"] == demo and p["items"]["total"] > 0)
    other = next(p for p in playlists if p["owner"]["id"] != demo and not p["collaborative"])
    body = dev_api.ok(f"playlists/{owned['id']}")
    assert "item" in body["items"]["items"][0] and "track" not in body["items"]["items"][0]
    assert dev_api.get(f"playlists/{owned['id']}/tracks").status_code == 403
    assert dev_api.get(f"playlists/{owned['id']}/items", limit=51).status_code == 400
    page = dev_api.ok(f"playlists/{owned['id']}/items")
    assert page["limit"] == 20
    other_body = dev_api.ok(f"playlists/{other['id']}")
    assert "items" not in other_body and other_body["name"] == other["name"]
    assert dev_api.get(f"playlists/{other['id']}/items").status_code == 403
    assert dev_api.get("playlists/" + api.admin()["spotify_owned_playlist_id"]).status_code == 404


def test_search_limits(api, dev_api):
    assert dev_api.ok("search", q="a", type="track")["tracks"]["limit"] == 5
    assert dev_api.get("search", q="a", type="track", limit=11).status_code == 400
    assert dev_api.ok("search", q="a", type="track", limit=10)["tracks"]["limit"] == 10
    assert api.ok("search", q="a", type="track")["tracks"]["limit"] == 20
    assert api.ok("search", q="a", type="track", limit=50)["tracks"]["limit"] == 50
    assert api.get("search", q="a", type="track", offset=1001).status_code == 400
    assert api.get("search", type="track").status_code == 400
    assert api.get("search", q="a", type="bogus").status_code == 400
    res = api.ok("search", q="a", type="artist,track")
    assert set(res) == {"artists", "tracks"}
    for t in res["tracks"]["items"]:
        assert "a" in t["name"].lower()


def _all_items(api, pl_id, **params):
    return _walk(api, f"playlists/{pl_id}/items", limit=100, **params)


def test_playlist_oddities(api):
    summary = api.admin()
    kinds, added_by_null, local_uris = set(), 0, []
    for pl in api.ok("me/playlists", limit=50)["items"]:
        with_eps = _all_items(api, pl["id"], additional_types="track,episode")
        without = _all_items(api, pl["id"])
        for a, b in zip(with_eps, without, strict=True):
            t = a["track"]
            if t is not None and t["type"] == "episode":
                assert b["track"] is None  # no additional_types=episode → null at that position
                kinds.add("episode")
            elif a["is_local"]:
                assert t["id"] is None and t["uri"].startswith("spotify:local:")
                local_uris.append(t["uri"])
            elif t is None:
                kinds.add("null")
            added_by_null += a["added_by"] is None
        if pl["id"] == summary["spotify_owned_playlist_id"]:
            assert pl["owner"]["id"] == "spotify"
            assert all(it["added_at"] == "1970-01-01T00:00:00Z" for it in with_eps)
    assert {"episode", "null"} <= kinds and local_uris and added_by_null > 0


def test_market_relinking(api):
    cat = api.server.music
    ids = ",".join(cat.id("track", i) for i in range(50))
    relinked, unplayable = 0, 0
    for start in range(0, 300, 50):
        ids = ",".join(cat.id("track", i) for i in range(start, start + 50))
        for t in api.ok("tracks", ids=ids, market="SE")["tracks"]:
            assert "available_markets" not in t and isinstance(t["is_playable"], bool)
            if "linked_from" in t:
                relinked += 1
                assert t["linked_from"]["id"] != t["id"]
                again = api.ok("tracks/" + t["id"])  # the relinked id resolves too
                assert again["name"] == t["name"]
            if not t["is_playable"]:
                unplayable += 1
                assert t["restrictions"] == {"reason": "market"}
        for t in api.ok("tracks", ids=ids)["tracks"]:
            assert "linked_from" not in t and "is_playable" not in t and "available_markets" in t
    assert relinked > 0 and unplayable > 0


def test_catalog_realism(api):
    cat = api.server.music
    albums = api.ok("albums", ids=",".join(cat.id("album", i) for i in range(20)))["albums"]
    albums += api.ok("albums", ids=",".join(cat.id("album", i) for i in range(20, cat.n_albums)))["albums"]
    assert {a["release_date_precision"] for a in albums} == {"year", "month", "day"}
    assert {a["album_type"] for a in albums} == {"album", "single", "compilation"}
    down = [a for a in albums if a["release_date"] == "0000"]
    assert down and all(a["name"] == "" for a in down)
    assert all(t["duration_ms"] == 0 and t["name"] == "" for t in down[0]["tracks"]["items"])
    assert all(re.fullmatch(r"\d{12}", a["external_ids"]["upc"]) and a["label"] for a in albums)
    tracks = []
    for s in range(0, 300, 50):
        tracks += api.ok("tracks", ids=",".join(cat.id("track", i) for i in range(s, s + 50)))["tracks"]
    assert all(1 <= len(t["artists"]) <= 4 for t in tracks)
    assert max(len(t["artists"]) for t in tracks) > 1
    assert all(re.fullmatch(r"[A-Z]{2}[0-9A-Z]{3}\d{7}", t["external_ids"]["isrc"]) for t in tracks)
    names = " ".join(t["name"] for t in tracks)
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af]", names)  # CJK
    assert re.search(r"[\U0001F300-\U0001FAFF]", names)  # emoji
    assert re.search(r"[éèüöñçåø]", names.lower())  # accents
    pops = sorted(t["popularity"] for t in tracks)
    assert pops[len(pops) // 2] < 40 and pops[-1] > 60  # skewed: most obscure, a few hits
    artists = api.ok("artists", ids=",".join(cat.id("artist", i) for i in range(min(50, cat.n_artists))))["artists"]
    assert any(a["genres"] == [] for a in artists) and any(a["genres"] for a in artists)
