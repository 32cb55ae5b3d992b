"""The emulator's listening history: recently played (the clock, the 50 remembered plays, the cursors), top
items consistent with the plays, a saved library that grows slowly, both quota modes, tokens and scopes."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from contextlib import ExitStack
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from spotify_assets.emulator.listening import HISTORY_START, REMEMBERED_PLAYS, TIME_RANGE_DAYS, day_start_ms
from spotify_assets_tests.emulation import running_emulator, scoped_login

from .conftest import Api, get_token, user_api

NOW = dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
DAY = NOW.date().toordinal()


def _ms(played_at: str) -> int:
    return int(dt.datetime.fromisoformat(played_at).timestamp() * 1000)


@pytest.fixture(scope="module")
def listening():
    """Both modes at NOW (module-scoped: the tests here move no clock)."""
    with ExitStack() as stack:
        servers = {m: stack.enter_context(running_emulator(mode=m, now=NOW)) for m in ("extended", "development")}
        yield {m: user_api(s) for m, s in servers.items()}


def _recent(api, **params) -> dict:
    return api.ok("me/player/recently-played", **params)


def test_recently_played_is_the_last_50_plays_up_to_now(listening):
    api = listening["extended"]
    body = _recent(api, limit=50)
    model = api.server.app.listening
    everything = [p for d in range(HISTORY_START.toordinal(), DAY + 1) for p in model.plays_on(d) if p.at_ms <= NOW_MS]
    played = [_ms(i["played_at"]) for i in body["items"]]
    assert len(played) == REMEMBERED_PLAYS == 50
    assert played == sorted((p.at_ms for p in everything), reverse=True)[:50]  # newest first, nothing after NOW
    assert body["cursors"] == {"after": str(played[0]), "before": str(played[-1])}
    assert body["next"] is None  # the 50 remembered plays fit one page
    # this day's plays are spread over it: today's first play and now, 13:05
    today = [p for p in model.plays_on(DAY)]
    assert today and all(p.at_ms >= day_start_ms(DAY) for p in today)
    assert len([p for p in today if p.at_ms <= NOW_MS]) == 14  # the deterministic history: 14 plays by 13:05
    assert max(p.at_ms for p in today) > NOW_MS  # ... and more later today, not served yet


def test_cursors_page_back_and_catch_up_without_gaps(listening):
    api = listening["extended"]
    all50 = [_ms(i["played_at"]) for i in _recent(api, limit=50)["items"]]
    pages, params = [], {"limit": 20}
    while True:  # back in time with before
        body = _recent(api, **params)
        pages.append([_ms(i["played_at"]) for i in body["items"]])
        if not body["next"]:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(body["next"]).query).items()}
        assert set(params) == {"limit", "before"} and params["before"] == str(pages[-1][-1])
    assert [len(p) for p in pages] == [20, 20, 10] and sum(pages, []) == all50
    # forward from a cursor: the plays right after it, pages moving forward, exclusive at both ends
    cursor = all50[30]
    forward, params = [], {"limit": 8, "after": cursor}
    while True:
        body = _recent(api, **params)
        got = [_ms(i["played_at"]) for i in body["items"]]
        assert got == sorted(got, reverse=True)  # newest first within a page
        forward = got + forward
        if not body["next"]:
            break
        assert f"after={got[0]}" in body["next"]
        params = {"limit": 8, "after": got[0]}
    assert forward == all50[:30]
    assert _recent(api, after=all50[0])["items"] == [] and _recent(api, after=all50[0])["cursors"] is None


@pytest.mark.parametrize("params,status", [
    ({"limit": 51}, 400), ({"limit": 0}, 400), ({"after": 1, "before": 2}, 400), ({"after": "soon"}, 400),
])
def test_recently_played_rejects_bad_parameters(listening, params, status):
    r = listening["extended"].get("me/player/recently-played", **params)
    assert r.status_code == status and r.json()["error"]["status"] == status


def test_the_clock_reveals_plays_as_it_moves(emu_factory):
    server = emu_factory(now=NOW)
    api = user_api(server)
    before = _recent(api, limit=50)
    newest = int(before["cursors"]["after"])
    assert _recent(api, after=newest)["items"] == []
    server.set_now(NOW + dt.timedelta(hours=3))
    later = _recent(api, after=newest, limit=50)["items"]
    model = server.app.listening
    expected = [p.at_ms for p in model.plays_on(DAY) if newest < p.at_ms <= NOW_MS + 3 * 3_600_000]
    assert sorted(_ms(i["played_at"]) for i in later) == expected and len(expected) == 6
    # the admin clock endpoint sets the time of day too
    r = requests.post(server.base_url + "/_admin/clock", json={"now": "2026-11-24T00:30:00Z"}, timeout=5)
    assert r.json() == {"today": "2026-11-24", "now": "2026-11-24T00:30:00.000+00:00"}
    assert max(_ms(i["played_at"]) for i in _recent(api, limit=50)["items"]) <= day_start_ms(DAY) + 30 * 60_000


def test_both_modes_serve_the_same_history_in_their_shapes(listening):
    ext, dev = (_recent(listening[m], limit=50) for m in ("extended", "development"))
    def plays(body):
        return [(i["played_at"], i["track"]["id"], (i["context"] or {}).get("uri")) for i in body["items"]]

    assert plays(ext) == plays(dev)
    assert all("popularity" in i["track"] for i in ext["items"])
    assert not any("popularity" in i["track"] or "external_ids" in i["track"] for i in dev["items"])
    contexts = Counter(i["context"]["type"] if i["context"] else None for i in ext["items"])
    assert set(contexts) <= {"playlist", "album", "artist", "collection", None} and len(contexts) >= 3


def test_top_items_are_ranked_by_the_plays_before_today(listening):
    api = listening["development"]
    model = api.server.app.listening
    for time_range, days in TIME_RANGE_DAYS.items():
        plays = [p for d in range(DAY - days, DAY) for p in model.plays_on(d)]
        counts = Counter(p.track for p in plays)
        top = api.ok("me/top/tracks", time_range=time_range, limit=50)
        ranked = [api.server.music.lookup(t["id"], "track") for t in top["items"]]
        assert top["total"] == len(ranked) == min(50, len(counts))
        assert [counts[t] for t in ranked] == sorted((counts[t] for t in ranked), reverse=True)
        assert len(counts) > 50, "the history must hold more tracks than one answer ranks"
        assert counts[ranked[-1]] >= max(c for t, c in counts.items() if t not in ranked)
        artists = api.ok("me/top/artists", time_range=time_range, limit=50)
        credited = Counter(a for p in plays for a in api.server.music.track(p.track, 0)["artists"])
        ranked_artists = [api.server.music.lookup(a["id"], "artist") for a in artists["items"]]
        assert [credited[a] for a in ranked_artists] == sorted((credited[a] for a in ranked_artists), reverse=True)
        assert len(credited) <= 50, "every credited artist must fit one answer"
        assert set(ranked_artists) == set(credited)
    # paging and the default range
    assert api.ok("me/top/tracks", limit=5, offset=5)["items"] == api.ok("me/top/tracks", limit=10)["items"][5:]
    assert api.get("me/top/tracks", time_range="forever").status_code == 400
    assert api.get("me/top/episodes").status_code == 400


def test_saved_tracks_grow_slowly_from_what_was_played(listening):
    api = listening["extended"]
    model = api.server.app.listening
    pages = [api.ok("me/tracks", limit=50, offset=o) for o in (0, 50, 100)]
    saved = [(i["track"]["id"], i["added_at"]) for p in pages for i in p["items"]]
    assert pages[0]["total"] == len(saved) == 124
    added = [dt.datetime.fromisoformat(a) for _, a in saved]
    assert added == sorted(added, reverse=True)  # most recently saved first
    assert max(added) < dt.datetime.combine(NOW.date(), dt.time(), tzinfo=dt.UTC)  # as of the start of today
    # a week earlier the library was a subset, a few tracks smaller; every later save is a track played then
    week_ago = model.saved_before(DAY - 7)
    now = model.saved_before(DAY)
    assert set(week_ago) < set(now) and 1 <= len(now) - len(week_ago) <= 7
    for track, at in now.items():
        if track not in week_ago:
            day = at // 86_400_000 + dt.date(1970, 1, 1).toordinal()
            assert track in {p.track for p in model.plays_on(day)}


def test_listening_needs_a_user_token_with_its_scopes(listening, emu):
    cc = Api(emu, get_token(emu, {"grant_type": "client_credentials"})["access_token"])
    for path in ("me/player/recently-played", "me/top/tracks", "me/top/artists", "me/tracks"):
        assert cc.get(path).status_code == 401
    # a login that granted only the playlist scopes: 403, as Spotify answers
    token = scoped_login(emu, "playlist-read-private")
    assert token["scope"] == "playlist-read-private"
    limited = Api(emu, token["access_token"])
    assert limited.get("me/playlists").status_code == 200
    for path, scope in (("me/player/recently-played", "user-read-recently-played"), ("me/top/tracks", "user-top-read"),
                        ("me/tracks", "user-library-read")):
        answer = limited.get(path)
        assert answer.status_code == 403 and answer.json()["error"]["message"] == "Insufficient client scope", scope
    # the refresh token of that login keeps its scopes
    refreshed = get_token(emu, {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]})
    assert refreshed["scope"] == "playlist-read-private"
    assert Api(emu, refreshed["access_token"]).get("me/tracks").status_code == 403


def test_listening_has_a_daily_rhythm():
    from spotify_assets.emulator.listening import Listening
    from spotify_assets.emulator.music import Music

    model = Listening(Music(42, "small"))
    hours, weekdays, quiet = Counter(), Counter(), 0
    for day in range(DAY - 8 * 7, DAY):
        plays = model.plays_on(day)
        quiet += not plays
        for p in plays:
            at = dt.datetime.fromtimestamp(p.at_ms / 1000, dt.UTC)
            hours[at.hour] += 1
            weekdays[at.isoweekday()] += 1
    evening, small_hours = sum(hours[h] for h in range(17, 23)), sum(hours[h] for h in range(3, 6))
    assert evening > 10 * small_hours  # people sleep
    assert set(weekdays) == set(range(1, 8)) and quiet <= 5
    assert sum(hours.values()) / (8 * 7) > 20  # a few dozen plays a day


def test_the_history_reaches_back_years_with_a_taste_that_moves():
    """Before the API's era the same rhythm plays what the user liked then: favourite artists come and go,
    the library is what was saved by then, and nothing is played before LISTENING_START."""
    from spotify_assets.emulator.listening import LISTENING_START, Listening
    from spotify_assets.emulator.music import Music

    model = Listening(Music(42, "small"))
    first = LISTENING_START.toordinal()
    assert model.plays_on(first - 1) == () and sum(len(model.plays_on(d)) for d in range(first, first + 7)) > 50

    def top_artists(year: int) -> list[int]:
        days = range(dt.date(year, 1, 1).toordinal(), dt.date(year + 1, 1, 1).toordinal())
        counts = Counter(model.artists_of(p.track)[0] for d in days for p in model.plays_on(d))
        assert 15 * 365 < sum(counts.values()) < 60 * 365  # a few dozen plays a day, every year
        return [a for a, _ in counts.most_common(5)]

    assert len({tuple(top_artists(y)) for y in (2012, 2016, 2020, 2024)}) == 4
    # the library before the API's era: only tracks saved by then, and it grows
    libraries = [model.saved_before(dt.date(y, 1, 1).toordinal()) for y in (2019, 2021, 2023, 2025)]
    assert libraries[0] == {} and set(libraries[1]) < set(libraries[2]) < set(libraries[3])
    assert all(at < day_start_ms(dt.date(2021, 1, 1).toordinal()) for at in libraries[1].values())
    # plays are streams of more than 30 s; sessions are numbered within a day
    plays = [p for d in range(dt.date(2016, 3, 1).toordinal(), dt.date(2016, 3, 8).toordinal()) for p in model.plays_on(d)]
    assert all(30_000 < p.ms_played <= model.duration_ms(p.track) or p.ms_played == 30_001 for p in plays)
    assert any(p.ms_played < model.duration_ms(p.track) for p in plays) and max(p.session for p in plays) >= 2


def test_archive_density_scales_the_past_only():
    from spotify_assets.emulator.listening import Listening
    from spotify_assets.emulator.music import Music

    catalog = Music(42, "tiny")
    normal, dense = Listening(catalog), Listening(catalog, archive_density=2.0)
    past = range(dt.date(2020, 3, 1).toordinal(), dt.date(2020, 5, 1).toordinal())
    ratio = sum(len(dense.plays_on(d)) for d in past) / sum(len(normal.plays_on(d)) for d in past)
    assert 1.6 < ratio < 2.4
    assert all(dense.plays_on(d) == normal.plays_on(d) for d in range(HISTORY_START.toordinal(), DAY))
    with pytest.raises(ValueError, match="archive_density"):
        Listening(catalog, archive_density=-1)
