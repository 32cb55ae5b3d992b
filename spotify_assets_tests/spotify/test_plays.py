"""Recently played into the raw zone (spotify/plays.py fetches, lake/plays.py lands) against the emulator's deterministic history: the
cursor, one file per run and day, runs across midnight, re-runs and overlapping runs, a run that died half-way,
gaps, and a token without the scope. The transform then gives every play exactly once."""

from __future__ import annotations

import datetime as dt
import gzip
import logging

import orjson
import pytest

from spotify_assets.emulator.listening import day_start_ms
from spotify_assets.lake.plays import land_plays, plays_cursor
from spotify_assets.lake.raw import list_raw_files
from spotify_assets.lake.storage import Lake
from spotify_assets.spotify.plays import fetch_plays
from spotify_assets.transform.pipeline import transform_partition
from spotify_assets_tests.emulation import scoped_refresh_token

from .conftest import client_for, settled_stats

SAT, SUN = "2026-11-21", "2026-11-22"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def model_plays(srv, day: str, until: dt.datetime | None = None) -> list[int]:
    """The emulator's plays of ``day`` (ms), up to ``until``."""
    limit = int(until.timestamp() * 1000) if until else None
    return [p.at_ms for p in srv.app.listening.plays_on(dt.date.fromisoformat(day).toordinal())
            if limit is None or p.at_ms <= limit]


def run(srv, lake, **kw):
    """One run as raw_plays does it: cursor, fetch, land."""
    client = client_for(srv, **kw)
    try:
        after, _ = plays_cursor(lake)
        fetched = fetch_plays(client, after)
    finally:
        client.close()
    return fetched, land(lake, fetched, fallback_day=srv.today().isoformat())


def land(lake, fetched, fallback_day):
    return land_plays(lake, [r.envelope() for r in fetched.responses], fallback_day=fallback_day)


def plays_table(lake, day):
    return transform_partition(lake, day).tables["plays"]


def files(lake, day):
    return [f.path.rsplit("/", 1)[1] for f in list_raw_files(lake, "plays", day)[0]]


@pytest.fixture
def lake(tmp_path):
    return Lake(str(tmp_path / "lake"))


def test_runs_land_only_new_plays_one_file_per_run_and_day(start, lake):
    srv = start(now=at("2026-11-24T13:05:00"))
    first, landed = run(srv, lake)
    # no cursor yet: the 50 plays Spotify remembers, in the folders of the days they were played on
    assert first.after_ms is None and first.plays == 50 and not first.possible_gap
    assert list(landed.days) == ["2026-11-22", "2026-11-23", "2026-11-24"] and landed.plays == 50
    assert files(lake, "2026-11-24") == ["plays-20261124T071023195Z-20261124T114442141Z.jsonl.gz"]
    assert plays_cursor(lake)[0] == model_plays(srv, "2026-11-24", at("2026-11-24T13:05:00"))[-1]

    again, nothing = run(srv, lake)  # same clock: nothing new, no new file, one request
    assert again.plays == 0 and nothing.days == {} and len(again.responses) == 1
    assert files(lake, "2026-11-24") == ["plays-20261124T071023195Z-20261124T114442141Z.jsonl.gz"]

    srv.set_now(at("2026-11-24T16:05:00"))
    cursor = plays_cursor(lake)[0]
    later, landed = run(srv, lake)
    assert later.after_ms == cursor and later.plays == 6 and list(landed.days) == ["2026-11-24"] and len(files(lake, "2026-11-24")) == 2
    table = plays_table(lake, "2026-11-24")
    expected = model_plays(srv, "2026-11-24", at("2026-11-24T16:05:00"))
    assert table.num_rows == len(expected) == 20
    assert [int(t.timestamp() * 1000) for t in table["played_at"].to_pylist()] == expected


def test_the_first_run_counts(start, lake):
    """Of the 50 remembered plays at 13:05: today's 14, Monday's 18 (all), Sunday's last 18 of 19."""
    srv = start(now=at("2026-11-24T13:05:00"))
    _, landed = run(srv, lake)
    sunday = model_plays(srv, "2026-11-22")
    assert {d: x.plays for d, x in landed.days.items()} == {"2026-11-22": 18, "2026-11-23": 18, "2026-11-24": 14}
    assert len(sunday) == 19 and plays_table(lake, "2026-11-22").num_rows == 18  # its first play was forgotten


def test_a_run_across_midnight_lands_in_both_days_and_each_day_keeps_its_own(start, lake):
    srv = start(now=at(f"{SAT}T23:03:00"))
    run(srv, lake)
    srv.set_now(at(f"{SUN}T12:30:00"))
    fetched, landed = run(srv, lake)
    # Saturday 23:05:50 and 23:09:08, Sunday 12:26:36 and 12:29:11: one answer, landed in both folders
    assert fetched.plays == 4 and len(fetched.responses) == 1
    assert {d: (x.plays, x.responses) for d, x in landed.days.items()} == {SAT: (2, 1), SUN: (2, 1)}
    sat_file, sun_file = landed.days[SAT].path, landed.days[SUN].path
    assert lake.read_bytes(sat_file) == lake.read_bytes(sun_file)  # the same verbatim answer
    assert plays_table(lake, SAT).num_rows == len(model_plays(srv, SAT)) == 38
    assert plays_table(lake, SUN).num_rows == 2
    assert plays_cursor(lake) == (model_plays(srv, SUN)[1], SUN)


def test_a_run_that_died_between_two_days_loses_nothing(start, lake, monkeypatch):
    srv = start(now=at(f"{SAT}T23:03:00"))
    run(srv, lake)
    srv.set_now(at(f"{SUN}T12:30:00"))
    real = lake.write_bytes
    written = []

    def dies_on_sunday(rel, data):
        if f"dt={SUN}" in rel:
            raise OSError("the run was killed")
        written.append(rel)
        real(rel, data)

    monkeypatch.setattr(lake, "write_bytes", dies_on_sunday)
    with pytest.raises(OSError):
        run(srv, lake)
    assert len(written) == 1 and f"dt={SAT}" in written[0]  # the older day first
    monkeypatch.setattr(lake, "write_bytes", real)
    # Saturday's file holds Sunday's plays too, but the cursor only trusts a day's own plays: they come again
    assert plays_cursor(lake) == (model_plays(srv, SAT)[-1], SAT)
    fetched, landed = run(srv, lake)
    assert fetched.plays == 2 and list(landed.days) == [SUN]
    assert plays_table(lake, SAT).num_rows == 38 and plays_table(lake, SUN).num_rows == 2  # no duplicate either


def test_overlapping_runs_never_duplicate_a_play(start, lake):
    srv = start(now=at("2026-11-24T13:05:00"))
    client = client_for(srv)
    cursor = model_plays(srv, "2026-11-24")[5]
    early = fetch_plays(client, cursor)  # two runs from the same cursor, one an hour later
    srv.set_now(at("2026-11-24T16:05:00"))
    late = fetch_plays(client, cursor)
    client.close()
    land(lake, early, fallback_day="2026-11-24")
    land(lake, late, fallback_day="2026-11-24")
    assert (early.plays, late.plays) == (8, 14) and len(files(lake, "2026-11-24")) == 2
    result = transform_partition(lake, "2026-11-24")
    assert result.tables["plays"].num_rows == 14
    assert result.accounting["tables"]["plays"]["duplicates_merged"] == 8


def test_more_than_50_plays_since_the_last_run_is_a_warned_gap(start, lake, caplog):
    srv = start(now=at(f"{SAT}T12:05:00"))
    run(srv, lake)
    srv.set_now(at("2026-11-24T13:05:00"))  # three days without a run: far more than 50 plays since
    caplog.set_level(logging.WARNING)
    fetched, landed = run(srv, lake)
    assert fetched.possible_gap and fetched.plays == 50
    assert any("older plays may be lost" in r.getMessage() for r in caplog.records)
    # Saturday after 12:05 and Sunday's first play are forgotten by Spotify; what was remembered landed once
    assert plays_table(lake, SAT).num_rows == len(model_plays(srv, SAT, at(f"{SAT}T12:05:00"))) == 5
    assert plays_table(lake, SUN).num_rows == len(model_plays(srv, SUN)) - 1 == 18


def test_after_is_the_only_request_and_nothing_is_fetched_twice(start, lake):
    srv = start(now=at("2026-11-24T13:05:00"))
    run(srv, lake)
    srv.reset_stats()
    fetched, _ = run(srv, lake)
    stats = settled_stats(srv, 1)
    assert {k: n for k, n in stats["requests"].items() if "/v1/" in k} == {"GET /v1/me/player/recently-played": 1}
    request = fetched.responses[0].request
    assert request == f"/v1/me/player/recently-played?limit=50&after={plays_cursor(lake)[0]}"


def test_a_token_without_the_scope_lands_nothing_and_says_why(start, lake, caplog):
    srv = start(now=at("2026-11-24T13:05:00"))
    token = scoped_refresh_token(srv, "playlist-read-private")
    caplog.set_level(logging.WARNING)
    fetched, landed = run(srv, lake, refresh_token=token)
    assert fetched.responses == [] and landed.days == {}
    assert "answered 403 (Insufficient client scope)" in fetched.problem
    assert "user-read-recently-played" in fetched.problem and "spotify login" in fetched.problem
    assert lake.list_files("raw") == []


def test_landed_lines_are_the_verbatim_answers(start, lake):
    srv = start(now=at("2026-11-24T13:05:00"))
    fetched, landed = run(srv, lake)
    (line,) = gzip.decompress(lake.read_bytes(landed.days["2026-11-24"].path)).splitlines()
    envelope = orjson.loads(line)
    assert envelope == fetched.responses[0].envelope()
    assert envelope["request"] == "/v1/me/player/recently-played?limit=50" and envelope["status"] == 200
    assert len(envelope["body"]["items"]) == 50
    assert day_start_ms(dt.date(2026, 11, 24).toordinal()) <= landed.days["2026-11-24"].first_ms
