"""The daily crawl's user data: top items and saved tracks with a user token (both modes), skipped with client
credentials, recorded and explained when the token lacks their scope."""

from __future__ import annotations

import logging
import math

import pytest

from spotify_assets.spotify.crawl import CrawlSeeds
from spotify_assets_tests.emulation import scoped_refresh_token

from .conftest import api_requests, crawl, ids_of, library_requests


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_top_items_and_saved_tracks_are_crawled_and_their_albums_looked_up(start, mode):
    srv = start(mode=mode)
    report, sink, stats = crawl(srv, mode=mode)
    top_tracks, top_artists, saved = (sink.by_source(s) for s in ("top_tracks", "top_artists", "saved_tracks"))
    assert sorted(e["request"] for e in top_tracks) == [
        f"/v1/me/top/tracks?time_range={r}&limit=50&offset=0" for r in ("long_term", "medium_term", "short_term")]
    assert len(top_artists) == 3 and all(e["status"] == 200 for e in top_tracks + top_artists + saved)
    total = saved[0]["body"]["total"]
    assert total == 124 and sorted(e["request"] for e in saved) == [
        f"/v1/me/tracks?limit=50&offset={o}" for o in (0, 100, 50)]
    assert (report.minimum_breakdown["me_top"], report.minimum_breakdown["me_tracks"]) == (6, math.ceil(total / 50))
    assert library_requests(stats) == 6 + 3 and api_requests(stats) == report.total_requests == report.minimum_requests
    assert report.records_by_source["saved_tracks"] == 3
    # the library's tracks are full tracks: their albums are looked up (or carried) like playlist tracks'
    looked_up = set(ids_of(sink.records, "albums"))
    library_albums = {i["track"]["album"]["id"] for e in saved for i in e["body"]["items"]}
    library_albums |= {t["album"]["id"] for e in top_tracks for t in e["body"]["items"]}
    assert library_albums and library_albums <= looked_up
    # no seed track is looked up again when the library already holds it in full
    known = next(iter(i["track"]["id"] for i in saved[0]["body"]["items"]))
    _, again, _ = crawl(srv, CrawlSeeds(playlist_ids=[], track_ids=[known]), mode=mode)
    assert again.by_source("tracks") == []


def test_client_credentials_skip_the_user_data_with_a_log_line(start, caplog):
    srv = start(mode="development")
    caplog.set_level(logging.INFO)
    playlist = srv.catalog_summary()["demo_owned_playlist_ids"][0]
    report, _, stats = crawl(srv, CrawlSeeds(playlist_ids=[playlist]), mode="development", refresh_token=None)
    assert library_requests(stats) == 0 and not any("/me/" in k for k in stats["requests"])
    assert report.records_by_source["top_tracks"] == report.records_by_source["saved_tracks"] == 0
    assert report.records_by_source["playlists"] == 1
    assert any("no user token (client credentials only): the user's top items and saved tracks are skipped"
               in r.getMessage() for r in caplog.records)


def test_a_token_without_the_scopes_records_403_and_names_the_scope(start, caplog):
    srv = start(mode="extended")
    token = scoped_refresh_token(srv, "playlist-read-private playlist-read-collaborative")
    caplog.set_level(logging.WARNING)
    report, sink, _ = crawl(srv, refresh_token=token)
    assert report.completed and report.records_by_source["playlists"] > 0  # the rest of the crawl went on
    library = sink.by_source("top_tracks") + sink.by_source("top_artists") + sink.by_source("saved_tracks")
    assert len(library) == 7 and {e["status"] for e in library} == {403}  # recorded, one page of saved tracks
    warnings = [r.getMessage() for r in caplog.records if "answered 403" in r.getMessage()]
    assert len(warnings) == 7
    assert any("user-top-read" in w and "spotify login" in w for w in warnings)
    assert any("user-library-read" in w for w in warnings)
