"""The incremental crawl: album and artist copies carried over from the previous partition (spotify/crawl/carry.py).

Crawls stamp ``fetched_at`` with the wall clock, so each test says which day a crawl ran on: the crawl's
``today`` and, for its freshly fetched records, :func:`as_fetched_on`. An "unchanged library" is the
emulator's catalog on one day crawled on two consecutive days (its clock kept); a changed one moves the
emulator's clock too.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from spotify_assets.settings import ConfigurationError
from spotify_assets.spotify.crawl import CrawlSeeds
from spotify_assets.spotify.crawl.carry import Carrier, FullCopy, max_age_days

from .conftest import DAY1, api_requests, crawl, ids_of, library_requests, record_set


def crawl_on(server, today, seeds=None, previous=None, *, mode, max_age=7):
    """One crawl as if run on ``today``; by default of the demo user's library (its playlists)."""
    report, sink, stats = crawl(server, seeds, previous, today=today, max_age=max_age, mode=mode)
    return report, as_fetched_on(sink.records, today), stats


def as_fetched_on(records, day):
    """The records with the fresh ones' ``fetched_at`` set to ``day`` (carried ones keep theirs)."""
    out = []
    for source, env in records:
        if "carried_from" not in env:
            env = {**env, "fetched_at": f"{day.isoformat()}T06:00:00Z"}
        out.append((source, env))
    return out


def carried(records, source):
    return [env for s, env in records if s == source and "carried_from" in env]


def lookups(stats, source):
    reqs = stats["requests"]
    return reqs.get(f"GET /v1/{source}", 0) + reqs.get(f"GET /v1/{source}/{{id}}", 0)


# ------------------------------------------------------------------------------------------ development mode
def test_development_unchanged_library_second_day_looks_nothing_up(start):
    srv = start(mode="development")
    d1 = DAY1
    day1, rec1, stats1 = crawl_on(srv, d1, mode="development")
    day2, rec2, stats2 = crawl_on(srv, d1 + timedelta(days=1), previous=rec1, mode="development")

    albums, artists = ids_of(rec1, "albums"), ids_of(rec1, "artists")
    assert albums and artists and lookups(stats1, "albums") == len(albums)
    # day 2: only the playlist list, one request per playlist (their pages are carried too) and the user's
    # top items and saved tracks (6 requests, and one per page of 50 saved tracks)
    assert lookups(stats2, "albums") == lookups(stats2, "artists") == 0
    assert day2.total_requests == api_requests(stats2) == day2.minimum_requests
    saved = srv.app.listening.saved(DAY1.toordinal())
    assert library_requests(stats2) == 6 + math.ceil(len(saved) / 50)
    assert day2.total_requests == (stats2["requests"]["GET /v1/me/playlists"] + day2.playlists_total
                                   + library_requests(stats2))
    assert day2.playlists_unchanged == day2.playlists_total - day2.playlists_unavailable
    # the accounting says what was carried
    assert (day2.albums_carried, day2.albums_fetched, day2.albums) == (len(albums), 0, len(albums))
    assert (day2.artists_carried, day2.artists_fetched, day2.artists) == (len(artists), 0, len(artists))
    assert day2.records_carried_by_source["albums"] == len(carried(rec2, "albums")) == len(albums)
    md = day2.as_metadata()
    assert md["albums_carried"] == len(albums) and md["records_carried_by_source.artists"] == len(artists)
    # the partition is complete: the same responses as day 1, verbatim, with their original fetched_at
    assert record_set(rec2) == record_set(rec1)
    day1_envelopes = {e["request"]: e for s, e in rec1 if s in ("albums", "artists")}
    for env in carried(rec2, "albums") + carried(rec2, "artists"):
        assert env["carried_from"] == d1.isoformat()
        assert {k: v for k, v in env.items() if k != "carried_from"} == day1_envelopes[env["request"]]


def test_copies_are_looked_up_again_once_max_age_old_one_look_back_day_suffices(start):
    """Day 1 fetches; days 2-3 carry (the copy is 1, then 2 days old: day 3 reads day 2's carried copy);
    day 4 (age 3 = max age) looks everything up again; day 5 carries day 4's copies."""
    srv = start(mode="development")
    d1 = DAY1
    _, rec, stats = crawl_on(srv, d1, mode="development", max_age=3)
    n_albums, n_artists = lookups(stats, "albums"), lookups(stats, "artists")
    seen = []
    for k in range(1, 5):
        report, rec, stats = crawl_on(srv, d1 + timedelta(days=k), previous=rec, mode="development", max_age=3)
        seen.append((lookups(stats, "albums"), lookups(stats, "artists"), report.albums_carried,
                     {e["carried_from"] for e in carried(rec, "albums")}))
    day = (d1 + timedelta(days=3)).isoformat()
    assert seen == [
        (0, 0, n_albums, {d1.isoformat()}),
        (0, 0, n_albums, {d1.isoformat()}),
        (n_albums, n_artists, 0, set()),
        (0, 0, n_albums, {day}),
    ]


def test_max_age_zero_and_the_environment(start, monkeypatch):
    srv = start(mode="development")
    _, rec1, stats1 = crawl_on(srv, DAY1, mode="development")
    day2 = DAY1 + timedelta(days=1)
    report, rec2, stats2 = crawl_on(srv, day2, previous=rec1, mode="development", max_age=0)
    assert lookups(stats2, "albums") == lookups(stats1, "albums") and report.albums_carried == 0
    assert not carried(rec2, "albums") and not carried(rec2, "artists")
    monkeypatch.setenv("SPOTIFY_FULL_COPY_MAX_AGE_DAYS", "1")  # a day-old copy is too old
    report, _, stats = crawl_on(srv, day2, previous=rec1, mode="development", max_age=None)
    assert report.full_copy_max_age_days == 1 and lookups(stats, "albums") == lookups(stats1, "albums")
    monkeypatch.setenv("SPOTIFY_FULL_COPY_MAX_AGE_DAYS", "2")
    report, _, stats = crawl_on(srv, day2, previous=rec1, mode="development", max_age=None)
    assert report.full_copy_max_age_days == 2 and lookups(stats, "albums") == 0
    monkeypatch.setenv("SPOTIFY_FULL_COPY_MAX_AGE_DAYS", "a week")
    with pytest.raises(ConfigurationError, match="SPOTIFY_FULL_COPY_MAX_AGE_DAYS"):
        max_age_days()
    monkeypatch.delenv("SPOTIFY_FULL_COPY_MAX_AGE_DAYS")
    assert max_age_days() == 7 and max_age_days(0) == 0
    with pytest.raises(ValueError):
        max_age_days(-1)


def seeds_for_albums(server, albums) -> CrawlSeeds:
    """A library of one track from each of ``albums`` (album indexes of the emulator's catalog)."""
    cat = server.music
    return CrawlSeeds(playlist_ids=[], track_ids=[cat.id("track", cat.album_track_range(a).start) for a in albums],
                      include_my_playlists=False, include_my_library=False)


def test_development_changed_library_looks_up_only_new_albums_and_artists(start):
    """A library that changed: of day 1's albums 0-11, albums 6-11 are still there and 12-17 are new. Only
    the new albums and artists are looked up, the others carried, and the partition holds exactly the
    albums and artists of a crawl that looks everything up."""
    srv = start(mode="development")
    _, rec1, _ = crawl_on(srv, DAY1, seeds_for_albums(srv, range(0, 12)), mode="development")
    day2, seeds2 = DAY1 + timedelta(days=1), seeds_for_albums(srv, range(6, 18))
    report, rec2, stats2 = crawl_on(srv, day2, seeds2, previous=rec1, mode="development")
    _, reference, _ = crawl_on(srv, day2, seeds2, mode="development", max_age=0)

    for source in ("albums", "artists"):
        before, needed = set(ids_of(rec1, source)), set(ids_of(reference, source))
        assert needed - before and needed & before and before - needed
        assert lookups(stats2, source) == len(needed - before)
        assert set(ids_of([(source, e) for e in carried(rec2, source)], source)) == needed & before
        assert sorted(ids_of(rec2, source)) == sorted(needed)  # nothing of yesterday's only, nothing twice
    assert (report.albums_fetched, report.albums_carried) == (6, 6)
    assert report.total_requests == report.minimum_requests == api_requests(stats2)
    # development-mode album and artist objects have no day-dependent fields: carried = fetched, verbatim
    assert record_set(rec2) == record_set(reference)


# ------------------------------------------------------------------------------------------ extended mode
def test_extended_unchanged_library_carries_album_batches_and_looks_artists_up(start):
    srv = start(mode="extended")
    _, rec1, stats1 = crawl_on(srv, DAY1, mode="extended")
    report, rec2, stats2 = crawl_on(srv, DAY1 + timedelta(days=1), previous=rec1, mode="extended")
    albums, artists = ids_of(rec1, "albums"), ids_of(rec1, "artists")
    assert lookups(stats1, "albums") == math.ceil(len(albums) / 20) > 1
    assert lookups(stats2, "albums") == 0
    assert lookups(stats2, "artists") == lookups(stats1, "artists") == math.ceil(len(artists) / 50)
    assert (report.albums_carried, report.artists_carried) == (len(albums), 0)
    assert not carried(rec2, "artists")
    assert len(carried(rec2, "albums")) == lookups(stats1, "albums")  # whole batches, verbatim requests
    assert {e["request"] for e in carried(rec2, "albums")} == {e["request"] for s, e in rec1 if s == "albums"}
    assert report.total_requests == report.minimum_requests == api_requests(stats2)


def test_extended_changed_library_carries_only_batches_needed_as_a_whole(start):
    """Day 1: albums 0-24 in two batches (20 + 5). Day 2 keeps the first batch whole, drops one album of the
    second and adds albums 25-29: the first batch is carried, the other 4 + 5 albums take one look-up."""
    srv = start(mode="extended")
    cat = srv.music
    _, rec1, stats1 = crawl_on(srv, DAY1, seeds_for_albums(srv, range(25)), mode="extended")
    # the sink holds responses in the order they arrived: tell the batches apart by their size
    batches = sorted((e for s, e in rec1 if s == "albums"), key=lambda e: -len(e["body"]["albums"]))
    assert [len(e["body"]["albums"]) for e in batches] == [20, 5]
    whole, partial = ({cat.lookup(a["id"], "album") for a in e["body"]["albums"]} for e in batches)
    albums2 = sorted(whole | set(sorted(partial)[1:]) | set(range(25, 30)))
    day2, seeds2 = DAY1 + timedelta(days=1), seeds_for_albums(srv, albums2)
    report, rec2, stats2 = crawl_on(srv, day2, seeds2, previous=rec1, mode="extended")
    _, reference, _ = crawl_on(srv, day2, seeds2, mode="extended", max_age=0)

    assert [e["request"] for e in carried(rec2, "albums")] == [batches[0]["request"]]
    assert lookups(stats2, "albums") == 1 and (report.albums_carried, report.albums_fetched) == (20, 9)
    assert sorted(ids_of(rec2, "albums")) == sorted(ids_of(reference, "albums"))  # each needed album once
    assert lookups(stats2, "artists") == lookups(stats1, "artists") and report.artists_carried == 0
    assert report.total_requests == report.minimum_requests == api_requests(stats2)


# ------------------------------------------------------------------------------------------ the rules, offline
def _single(source, ident, fetched_at, **extra):
    body = {"id": ident, "artists": [{"id": "B" * 22}]} if source == "albums" else {"id": ident}
    return {"request": f"/v1/{source}/{ident}", "status": 200, "fetched_at": fetched_at, "body": body, **extra}


def test_what_a_previous_envelope_offers():
    a, b = "A" * 22, "C" * 22
    single = FullCopy.parse("albums", _single("albums", a, "2026-11-20T06:00:00Z"))
    assert (single.ids, single.batch, single.fetched_on.isoformat(), single.artist_ids) == ((a,), False,
                                                                                            "2026-11-20", ("B" * 22,))
    carried_env = _single("albums", a, "2026-11-20T06:00:00Z", carried_from="2026-11-20")
    assert FullCopy.parse("albums", carried_env).envelope() == carried_env  # carried_from kept, not doubled
    assert single.envelope()["carried_from"] == "2026-11-20"
    batch = {"request": f"/v1/albums?ids={a},{b}", "status": 200, "fetched_at": "2026-11-20T06:00:00Z",
             "body": {"albums": [{"id": a}, {"id": b}]}}
    assert FullCopy.parse("albums", batch).ids == (a, b) and FullCopy.parse("albums", batch).batch
    refused = [
        {**batch, "body": {"albums": [{"id": a}, None]}},  # a null entry
        {**batch, "body": {"albums": [{"id": b}, {"id": a}]}},  # not the objects asked for
        {**batch, "status": 429},
        {**batch, "fetched_at": "yesterday"},
        _single("albums", "short", "2026-11-20T06:00:00Z"),
    ]
    assert [FullCopy.parse("albums", e) for e in refused] == [None] * len(refused)
    assert FullCopy.parse("playlists", batch) is None


def test_carrier_rules():
    from datetime import date

    a, b, c, d = ("A" * 22, "B" * 22, "C" * 22, "D" * 22)
    today = date(2026, 11, 25)

    def batch(ids, day):
        return FullCopy.parse("albums", {"request": "/v1/albums?ids=" + ",".join(ids), "status": 200,
                                         "fetched_at": f"{day}T06:00:00Z",
                                         "body": {"albums": [{"id": i} for i in ids]}})

    old = batch([d], "2026-11-18")  # 7 days old
    future = FullCopy.parse("albums", _single("albums", c, "2026-11-26T00:00:00Z"))
    carrier = Carrier([batch([a, b], "2026-11-24"), old, future], today=today, max_age_days=7)
    assert carrier.covers(a) and carrier.take(a) is None  # held until b is needed too
    assert carrier.covers(b)
    copy = carrier.take(b)
    assert copy.ids == (a, b)
    assert not carrier.covers(c) and not carrier.covers(d) and not carrier.covers("E" * 22)
    assert (carrier.counts.carried, carrier.counts.stale, carrier.counts.new) == (2, 2, 1)
    # a batch of which only part is needed comes back at the end, to be looked up
    carrier = Carrier([batch([a, b], "2026-11-24")], today=today, max_age_days=7)
    assert carrier.covers(a) and carrier.take(a) is None
    assert carrier.leftovers() == [a] and carrier.counts.partial == 1
    # two copies answering for one id: the latest wins, the other can no longer be carried whole
    carrier = Carrier([batch([a, b], "2026-11-23"), batch([b, c], "2026-11-24")], today=today, max_age_days=7)
    assert not carrier.covers(a) and carrier.counts.partial == 1
    assert carrier.covers(b) and carrier.take(b) is None and carrier.take(c).ids == (b, c)
