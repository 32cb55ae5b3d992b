"""Same seed + day → same bytes; days move playlists and popularity a little; the clock; large scale."""

from __future__ import annotations

import datetime as dt
import random
import tracemalloc

import requests

from spotify_assets.emulator import EMULATOR_REFRESH_TOKEN
from spotify_assets.emulator.music import Music

DAY = dt.date(2026, 11, 24)


def _token(server):
    r = requests.post(server.accounts_url + "/api/token", auth=("id", "secret"),
                      data={"grant_type": "refresh_token", "refresh_token": EMULATOR_REFRESH_TOKEN}, timeout=5)
    return {"Authorization": "Bearer " + r.json()["access_token"]}


def _bytes(server, paths):
    h = _token(server)
    out = []
    for p in paths:
        r = requests.get(server.api_url + p, headers=h, timeout=5)
        assert r.status_code == 200, (p, r.text[:200])
        out.append(r.content.replace(server.base_url.encode(), b"BASE"))
    return out


def _paths(server):
    c = server.music
    paths = ["me/playlists?limit=50", "search?q=e&type=track,artist,album,playlist&limit=50"]
    paths += [f"playlists/{c.id('playlist', p)}?additional_types=track,episode&market=SE" for p in range(c.n_playlists)]
    paths += [f"tracks?ids={','.join(c.id('track', i) for i in range(s, s + 50))}" for s in range(0, 300, 50)]
    paths += [f"albums/{c.id('album', a)}" for a in range(c.n_albums)]
    paths += [f"artists/{c.id('artist', a)}" for a in range(c.n_artists)]
    return paths


def test_same_seed_and_day_give_same_bytes(emu_factory):
    a, b = emu_factory(seed=7, today=DAY), emu_factory(seed=7, today=DAY)
    assert _bytes(a, _paths(a)) == _bytes(b, _paths(b))
    c = emu_factory(seed=8, today=DAY)
    assert _bytes(c, _paths(c)[:3]) != _bytes(a, _paths(a)[:3])


def test_day_movement():
    cat = Music(42, "small")
    d0 = DAY.toordinal()
    changed = unchanged = 0
    for p in range(cat.n_playlists):
        s0, s1 = cat.snapshot_id(p, d0), cat.snapshot_id(p, d0 + 1)
        e0, e1 = cat.playlist_entries(p, d0), cat.playlist_entries(p, d0 + 1)
        assert (s0 == s1) == (e0 == e1)  # snapshot_id changes exactly when contents change
        if e0 != e1:
            changed += 1
            assert len(set(e0) ^ set(e1)) <= 12  # a few items gained / lost, not a reshuffle
        else:
            unchanged += 1
    assert changed > 10 and unchanged > 10
    pops0 = [cat.track(i, d0)["popularity"] for i in range(2000)]
    pops1 = [cat.track(i, d0 + 1)["popularity"] for i in range(2000)]
    diffs = [abs(x - y) for x, y in zip(pops0, pops1, strict=True)]
    assert any(diffs) and max(diffs) <= 5
    fol = [cat.artist(i, d0)["followers"] != cat.artist(i, d0 + 1)["followers"] for i in range(100)]
    assert any(fol)


def test_clock_admin_endpoint_moves_the_day(emu_factory):
    s = emu_factory(today=DAY)
    clock = s.base_url + "/_admin/clock"
    assert requests.get(clock, timeout=5).json()["today"] == "2026-11-24"
    h = _token(s)
    pl = [s.music.id("playlist", p) for p in range(s.music.n_playlists)]

    def snaps():
        return [requests.get(s.api_url + f"playlists/{p}", headers=h, timeout=5).json()["snapshot_id"] for p in pl]

    before = snaps()
    r = requests.post(clock, json={"today": "2026-11-25"}, timeout=5)
    assert r.json()["today"] == "2026-11-25" and s.today() == dt.date(2026, 11, 25)
    after = snaps()
    assert before != after
    s.set_today(DAY)
    assert snaps() == before
    assert requests.post(clock, json={"today": "not a date"}, timeout=5).status_code == 400
    # admin calls are never counted
    assert all("_admin" not in k for k in s.stats()["requests"])


def test_large_scale_lookup_without_building_the_catalog(emu_factory):
    tracemalloc.start()
    try:
        s = emu_factory(scale="large", seed=3)
        cat = s.music
        assert cat.n_tracks == 1_000_000 and cat.n_albums > 50_000
        h = _token(s)
        sess = requests.Session()
        rnd = random.Random(1)
        idx = [0, cat.n_tracks - 1] + [rnd.randrange(cat.n_tracks) for _ in range(150)]
        for i in idx:
            body = sess.get(s.api_url + "tracks/" + cat.id("track", i), headers=h, timeout=5).json()
            assert body["id"] in (cat.id("track", i),) and body["album"]["id"] == cat.id("album", cat.album_of_track(i))
        last_artist = cat.id("artist", cat.n_artists - 1)
        assert sess.get(s.api_url + f"artists/{last_artist}/albums", headers=h, timeout=5).status_code == 200
        pl = cat.id("playlist", cat.n_playlists - 1)
        assert sess.get(s.api_url + f"playlists/{pl}/tracks", headers=h, timeout=5).status_code == 200
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # a million tracks answered from their ids alone: building the catalog would need far more memory
    assert peak < 60 * 2**20, f"peak traced memory {peak / 2**20:.1f} MiB"


def _quantile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[round(q * (len(ordered) - 1))]


def test_popularity_is_long_tailed_nested_and_steady():
    """Track popularity: most tracks between ~10 and ~60, a handful of hits at 90+, the top ten spread out
    (not ten 100s); artists and albums go with their tracks; a day later values moved by a few points."""
    import statistics

    for seed in (42, 7, 1234):
        cat = Music(seed, "small")
        d0 = DAY.toordinal()
        tracks = [cat.track(t, d0)["popularity"] for t in range(cat.n_tracks)]
        assert 3 <= _quantile(tracks, 0.10) <= 20
        assert 20 <= _quantile(tracks, 0.50) <= 40
        assert 40 <= _quantile(tracks, 0.90) <= 65
        hits = sum(p >= 90 for p in tracks)
        assert 1 <= hits <= 0.005 * len(tracks), hits
        top10 = sorted(tracks)[-10:]
        assert top10[0] >= 75 and len(set(top10)) >= 5 and top10.count(100) <= 3, top10

        by_album: dict[int, list[int]] = {}
        by_artist: dict[int, list[int]] = {}
        for t, p in enumerate(tracks):
            a = cat.album_of_track(t)
            if not cat.is_taken_down(a):
                by_album.setdefault(a, []).append(p)
                by_artist.setdefault(cat.artist_of_album(a), []).append(p)
        albums = sorted(by_album)
        album_pop = [cat.album(a, d0)["popularity"] for a in albums]
        assert statistics.correlation(album_pop, [statistics.mean(by_album[a]) for a in albums]) > 0.6
        artists = sorted(by_artist)
        artist_pop = [cat.artist(ar, d0)["popularity"] for ar in artists]
        assert statistics.correlation(artist_pop, [statistics.mean(by_artist[ar]) for ar in artists]) > 0.6

        later = [cat.artist(ar, d0 + 1)["popularity"] for ar in artists]
        moves = [abs(x - y) for x, y in zip(artist_pop, later, strict=True)]
        assert any(moves) and max(moves) <= 5
    assert Music(42, "small").track(5, DAY.toordinal()) == Music(42, "small").track(5, DAY.toordinal())
