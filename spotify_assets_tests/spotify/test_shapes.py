"""spotify_assets.spotify.shapes: where a response keeps things, one preference order when both names appear,
and the accessors find everything the emulator serves in either quota mode."""

from __future__ import annotations

import gzip

import orjson
import pytest

from spotify_assets.lake.storage import Lake
from spotify_assets.spotify.shapes import (
    EMBEDDED_PAGE_KEYS,
    ITEM_OBJECT_KEYS,
    embedded_item_page,
    item_object,
    item_value,
    lookup_batch,
    lookup_objects,
    track_of,
)
from spotify_assets_tests.emulation import crawl_into_lake

EXTENDED_PAGE = {"offset": 0, "total": 1, "items": [{"track": {"id": "x"}}]}
DEV_PAGE = {"offset": 0, "total": 1, "items": [{"item": {"id": "y"}}]}


def test_the_current_names_come_first():
    # Spotify's API description deprecates tracks/track in favour of items/item
    assert EMBEDDED_PAGE_KEYS == ("items", "tracks")
    assert ITEM_OBJECT_KEYS == ("item", "track")


def test_embedded_page_in_either_mode():
    assert embedded_item_page({"tracks": EXTENDED_PAGE}) is EXTENDED_PAGE
    assert embedded_item_page({"items": DEV_PAGE}) is DEV_PAGE
    assert embedded_item_page({"id": "p"}) is None


def test_embedded_page_with_both_keys_prefers_items():
    assert embedded_item_page({"tracks": EXTENDED_PAGE, "items": DEV_PAGE}) is DEV_PAGE
    assert embedded_item_page({"items": DEV_PAGE, "tracks": EXTENDED_PAGE}) is DEV_PAGE  # not the key order


def test_embedded_page_prefers_a_page_with_items_over_a_reference():
    ref = {"href": "https://api/playlists/p/items", "total": 3}
    assert embedded_item_page({"items": ref, "tracks": EXTENDED_PAGE}) is EXTENDED_PAGE
    assert embedded_item_page({"items": ref, "tracks": {"href": "h", "total": 3}}) is ref
    assert embedded_item_page({"items": "not an object", "tracks": ref}) is ref
    assert embedded_item_page({"items": [1], "tracks": None}) is None


def test_item_object_in_either_mode_and_with_both_keys():
    a, b = {"id": "a"}, {"id": "b"}
    assert item_object({"track": a}) is a
    assert item_object({"item": b}) is b
    assert item_object({"track": a, "item": b}) is b
    assert item_object({"track": a, "item": None}) is a  # a null preferred key is not a value
    assert item_object({"item": "x", "track": a}) is None  # the preferred key's value, which is not an object
    assert item_value({"item": "x", "track": a}) == "x"
    assert item_object({"is_local": True}) is None
    assert item_object(None) is None and item_object(["x"]) is None


def test_saved_tracks_plays_and_lookups():
    t = {"id": "t"}
    assert track_of({"added_at": "2026-01-01T00:00:00Z", "track": t}) is t
    assert track_of({"played_at": "2026-01-01T00:00:00Z"}) is None
    assert lookup_batch({"tracks": [t, None]}, "tracks") == (True, [t, None])
    assert lookup_batch({"albums": "broken"}, "albums") == (True, "broken")
    assert lookup_batch({"id": "a", "albums": []}, "albums") == (False, None)  # a single object with such a field
    assert lookup_batch({"id": "a", "name": "x"}, "artists") == (False, None)
    with pytest.raises(KeyError):
        lookup_batch({}, "playlists")


def test_lookup_objects_as_the_crawl_reads_them():
    t, u = {"id": "t"}, {"id": "u"}
    assert lookup_objects({"tracks": [t, None, u]}, "tracks") == [t, u]  # null: an unknown id
    assert lookup_objects({"albums": "broken"}, "albums") == []
    assert lookup_objects({"id": "a", "albums": []}, "albums") == [{"id": "a", "albums": []}]  # one album
    assert lookup_objects({"error": {"status": 404}}, "artists") == []
    assert lookup_objects(None, "tracks") == [] and lookup_objects([t], "tracks") == []


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_accessors_read_what_the_emulator_serves(tmp_path, mode):
    root = str(tmp_path / "lake")
    crawl_into_lake(root, seed=3, mode=mode)
    lake = Lake(root)
    pages = items = objects = 0
    for f in lake.list_files("raw"):
        source = f.path.split("/")[1]
        if source not in ("playlists", "playlist_items"):
            continue
        for line in gzip.decompress(lake.read_bytes(f.path)).splitlines():
            body = orjson.loads(line)["body"]
            if not isinstance(body, dict) or "error" in body:
                continue
            page = embedded_item_page(body) if source == "playlists" else body
            if page is None:
                continue
            pages += 1
            for entry in page.get("items") or []:
                items += 1
                obj = item_object(entry)
                if obj is not None:
                    objects += 1
                    assert obj["type"] in ("track", "episode")
                else:  # only what has no object of its own: a null entry, or a position Spotify nulls
                    assert entry is None or item_value(entry) is None
            if source == "playlists":
                assert (mode == "development") == ("items" in body and "tracks" not in body)
    assert pages and items and objects > items / 2, (pages, items, objects)
