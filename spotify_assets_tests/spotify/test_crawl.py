"""Crawl: request minimality, both quota modes, unchanged snapshots, id validation."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from spotify_assets.spotify.crawl import CrawlSeeds, ListSink, run_crawl

from .conftest import DAY1, api_requests, client_for, crawl, library_requests, record_set


def item_pages(records) -> set:
    """Playlist item pages by request with their items' identity (carried pages keep day-1 track details
    such as popularity, verbatim, so bodies are compared on what the snapshot_id vouches for)."""
    out = set()
    for source, env in records:
        if source == "playlist_items":
            items = env["body"].get("items", []) if env["status"] == 200 else []
            ident = tuple((i.get("added_at"), ((i.get("item") or i.get("track")) or {}).get("uri")) for i in items)
            out.add((env["request"], env["status"], ident))
    return out


def without_items(records):
    return [(s, e) for s, e in records if s != "playlist_items"]


def test_extended_requests_equal_minimum(start):
    srv = start(mode="extended")
    sample = srv.catalog_summary()["sample_ids"]
    seeds = CrawlSeeds(playlist_ids=sample["playlist"][:2], artist_ids=sample["artist"][:3],
                       track_ids=sample["track"][:5])
    report, sink, stats = crawl(srv, seeds)
    assert report.mode == "extended"
    assert api_requests(stats) == report.total_requests == report.minimum_requests
    assert stats["statuses"] == {"200": sum(stats["requests"].values())}
    # the minimum, recomputed independently from the records
    pages = 0
    for env in sink.by_source("playlists"):
        page = env["body"]["tracks"]
        pages += 1 + math.ceil(max(0, page["total"] - len(page["items"])) / 100)
    albums = {a["id"] for e in sink.by_source("albums") for a in e["body"]["albums"] if a}
    artists = {a["id"] for e in sink.by_source("artists") for a in e["body"]["artists"] if a}
    me_pages = stats["requests"]["GET /v1/me/playlists"]
    library = len(sink.by_source("top_tracks")) + len(sink.by_source("top_artists")) + len(sink.by_source("saved_tracks"))
    assert library == library_requests(stats) == 6 + math.ceil(sink.by_source("saved_tracks")[0]["body"]["total"] / 50)
    assert report.minimum_requests == (me_pages + pages + math.ceil(len(albums) / 20)
                                       + math.ceil(len(artists) / 50) + len(sink.by_source("tracks")) + library)
    assert report.albums == len(albums) and report.artists == len(artists)
    assert all(k in report.requests_by_endpoint for k in ("GET /v1/albums", "GET /v1/artists"))
    # all item pages at the maximum size; requests recorded relative to the API root with /v1
    for env in sink.by_source("playlist_items"):
        assert env["request"].startswith("/v1/playlists/") and "/tracks?limit=100&offset=" in env["request"]
    for env in sink.by_source("albums"):
        assert env["request"].startswith("/v1/albums?ids=") and len(env["request"].split(",")) <= 20
    md = report.as_metadata()
    assert all(isinstance(v, str | int | float | bool) for v in md.values())


def test_auto_mode_probe_is_counted(start):
    srv = start(mode="extended")
    report, _, stats = crawl(srv, mode="auto")
    assert report.mode == "extended"
    assert report.minimum_breakdown["mode_probe"] == 1
    assert api_requests(stats) == report.total_requests == report.minimum_requests


def test_development_mode(start):
    srv = start(mode="development")
    report, sink, stats = crawl(srv, mode="auto")
    assert report.mode == "development"
    assert api_requests(stats) == report.total_requests == report.minimum_requests
    reqs = stats["requests"]
    assert "GET /v1/albums" not in reqs and "GET /v1/artists" not in reqs
    assert reqs["GET /v1/albums/{id}"] == report.albums > 0
    assert reqs["GET /v1/artists/{id}"] == report.artists > 0
    items = sink.by_source("playlist_items")
    assert all("/items?limit=50&offset=" in e["request"] for e in items)
    forbidden = [e for e in items if e["status"] == 403]
    owned = set(srv.catalog_summary()["demo_owned_playlist_ids"])
    assert forbidden, "non-owned playlists' items must be recorded as 403"
    for e in forbidden:
        assert e["request"].split("/")[3] not in owned
        assert e["body"]["error"]["status"] == 403


def test_missing_playlist_is_recorded_and_crawl_continues(start):
    srv = start(mode="extended")
    good = srv.catalog_summary()["sample_ids"]["playlist"][0]
    missing = "0" * 22
    report, sink, _ = crawl(srv, CrawlSeeds(playlist_ids=[missing, good], include_my_playlists=False))
    statuses = {e["request"].split("?")[0]: e["status"] for e in sink.by_source("playlists")}
    assert statuses[f"/v1/playlists/{missing}"] == 404
    assert statuses[f"/v1/playlists/{good}"] == 200
    assert report.playlists_unavailable == 1 and report.tracks > 0


def test_invalid_seed_ids_raise_before_any_request(start):
    srv = start()
    client = client_for(srv)
    srv.reset_stats()
    with pytest.raises(ValueError) as exc:
        run_crawl(client, CrawlSeeds(playlist_ids=["../../me", "x" * 22], artist_ids=["bad id"]), ListSink())
    assert "'../../me'" in str(exc.value)
    assert api_requests(srv.stats()) == 0


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_unchanged_snapshot_costs_one_request(start, mode):
    """Playlists only: album and artist copies are not carried here (maximum age 0), see test_carry.py."""
    srv = start(mode=mode)
    day1, sink1, _ = crawl(srv, mode=mode, max_age=0)
    srv.set_today(DAY1 + timedelta(days=1))
    day2, sink2, stats2 = crawl(srv, previous=sink1.records, mode=mode, max_age=0)
    fresh, sink_fresh, _ = crawl(srv, mode=mode, max_age=0)  # day 2 without previous: the reference
    assert day2.playlists_unchanged > 0, "the emulator should keep some snapshots from one day to the next"
    assert day2.playlists_changed + day2.playlists_unchanged == fresh.playlists_changed
    # unchanged playlists cost exactly one request each
    assert day2.total_requests == api_requests(stats2) == day2.minimum_requests
    saved = fresh.minimum_breakdown["playlist_pages"] - day2.minimum_breakdown.get("playlist_pages", 0)
    assert saved == day2.records_carried == day2.records_carried_by_source["playlist_items"] > 0
    # today's partition is complete: same record set as a fresh crawl
    assert item_pages(sink2.records) == item_pages(sink_fresh.records)
    assert record_set(without_items(sink2.records)) == record_set(without_items(sink_fresh.records))
    carried = [e for s, e in sink2.records if "carried_from" in e]
    assert carried and all(e["carried_from"] == e["fetched_at"][:10] for e in carried)
    # same day again: nothing changed, every playlist costs one request
    day2b, sink2b, _ = crawl(srv, previous=sink2.records, mode=mode, max_age=0)
    assert day2b.playlists_changed == 0
    assert day2b.minimum_breakdown.get("playlist_pages", 0) == 0
    assert item_pages(sink2b.records) == item_pages(sink_fresh.records)
