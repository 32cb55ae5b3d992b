"""Every endpoint's responses, in both quota modes, validate against the Spotify OpenAPI spec."""

from __future__ import annotations

import pytest


def _ids(api, kind, n=50):
    return api.admin()["sample_ids"][kind][:n]


def _all_ids(api, kind, count):
    """Ids via the catalog (tiny scale: walking everything is cheap)."""
    cat = api.server.catalog
    return [cat.id(kind, i) for i in range(min(count, cat.count(kind)))]


def test_extended_user_and_playlists(api, validate):
    validate(api.ok("me"), "OnePrivateUser")
    page = api.ok("me/playlists", limit=50)
    validate(page, "PagedPlaylists")
    seen_kinds = set()
    for pl in page["items"]:
        for params in ({}, {"market": "SE", "additional_types": "track,episode"}):
            body = api.ok(f"playlists/{pl['id']}", **params)
            validate(body, "OnePlaylist")
            assert "tracks" in body and "items" not in body
            for it in body["tracks"]["items"]:
                t = it["track"]
                seen_kinds.add("null" if t is None else "local" if it["is_local"] else t["type"])
        validate(api.ok(f"playlists/{pl['id']}/tracks", limit=100), "PagingPlaylistTrackObject")
        validate(api.ok(f"playlists/{pl['id']}/items", limit=100, market="US",
                        additional_types="episode"), "PagingPlaylistTrackObject")
    # The relaxations in the validator must not be hiding the interesting shapes: all occur.
    assert {"track", "episode", "local", "null"} <= seen_kinds


def test_extended_catalog_objects(api, validate):
    tracks = _all_ids(api, "track", 300)
    for tid in tracks[::7]:
        validate(api.ok(f"tracks/{tid}"), "OneTrack")
        validate(api.ok(f"tracks/{tid}", market="SE"), "OneTrack")
    for i in range(0, len(tracks), 50):
        validate(api.ok("tracks", ids=",".join(tracks[i:i + 50])), "ManyTracks")
        validate(api.ok("tracks", ids=",".join(tracks[i:i + 50]), market="DE"), "ManyTracks")
    albums = _all_ids(api, "album", 60)
    for aid in albums:
        validate(api.ok(f"albums/{aid}"), "OneAlbum")
        validate(api.ok(f"albums/{aid}/tracks", limit=5), "PagingSimplifiedTrackObject")
    validate(api.ok("albums", ids=",".join(albums[:20])), "ManyAlbums")
    artists = _all_ids(api, "artist", 50)
    for ar in artists:
        validate(api.ok(f"artists/{ar}"), "OneArtist")
        validate(api.ok(f"artists/{ar}/albums"), "PagingArtistDiscographyAlbumObject")
    validate(api.ok("artists", ids=",".join(artists)), "ManyArtists")


@pytest.mark.parametrize("q", ["a", "e", "夜空", "Mix"])
def test_search_shapes(api, dev_api, validate, q):
    types = "album,artist,playlist,track,show,episode,audiobook"
    validate(api.ok("search", q=q, type=types, limit=50), "SearchItems")
    validate(dev_api.ok("search", q=q, type=types, limit=10), "SearchItems", "development")


def test_development_mode_shapes(dev_api, validate):
    validate(dev_api.ok("me"), "OnePrivateUser", "development")
    page = dev_api.ok("me/playlists", limit=50)
    validate(page, "PagedPlaylists", "development")
    owned = [p for p in page["items"] if p["owner"]["id"] == dev_api.admin()["demo_user_id"]]
    assert owned
    for pl in owned:
        body = dev_api.ok(f"playlists/{pl['id']}", additional_types="track,episode")
        validate(body, "OnePlaylist", "development")
        assert "items" in body and "tracks" not in body
        validate(dev_api.ok(f"playlists/{pl['id']}/items", limit=50, additional_types="episode"),
                 "PagingPlaylistTrackObject", "development")
    cat = dev_api.server.catalog
    for i in range(0, 300, 11):
        validate(dev_api.ok(f"tracks/{cat.id('track', i)}"), "OneTrack", "development")
    for i in range(0, 30, 3):
        validate(dev_api.ok(f"albums/{cat.id('album', i)}"), "OneAlbum", "development")
        validate(dev_api.ok(f"albums/{cat.id('album', i)}/tracks"), "PagingSimplifiedTrackObject", "development")
    for i in range(min(10, cat.n_artists)):
        validate(dev_api.ok(f"artists/{cat.id('artist', i)}"), "OneArtist", "development")
        validate(dev_api.ok(f"artists/{cat.id('artist', i)}/albums"), "PagingArtistDiscographyAlbumObject",
                 "development")


def test_error_bodies_match_spec(api, cc_api, emu, validate):
    import requests

    validate(api.get("tracks/" + "0" * 21 + "!").json(), "BadRequest")
    validate(api.get("tracks/" + "A" * 22).json(), "NotFound")
    validate(requests.get(emu.api_url + "me", timeout=5).json(), "Unauthorized")
    validate(cc_api.get("me").json(), "Unauthorized")
    validate(api.get("tracks", ids=",".join(["A" * 22] * 51)).json(), "BadRequest")


def test_validator_is_not_vacuous(validate):
    """Guard against a validator that accepts anything (e.g. unresolved refs silently ignored)."""
    with pytest.raises(AssertionError):
        validate({"id": 5, "duration_ms": "long"}, "OneTrack")
    with pytest.raises(AssertionError):
        validate({"album_type": "ep", "total_tracks": 1}, "OneAlbum")
    with pytest.raises(AssertionError):
        validate({"error": {"status": 200}}, "NotFound")
