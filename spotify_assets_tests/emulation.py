"""Starting the Spotify emulator in tests, crawling it into a lake and landing raw files: one way, shared by
every test package.

Defaults: seed 42, tiny scale, the clock on TEST_DAY, a free port on 127.0.0.1; every server started is
stopped when its fixture ends. Lakes are written through ``spotify_assets.lake.storage.Lake``, so the helpers
work on a local lake and on S3 alike.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import orjson
import requests

from spotify_assets.emulator import EMULATOR_REFRESH_TOKEN, EmulatorConfig, EmulatorServer, start_emulator
from spotify_assets.lake.storage import Lake

TEST_DAY = dt.date(2026, 11, 24)
BAD_TRACK = "Z" * 22  # the id of the track land_bad_track lands


def start_test_emulator(**settings) -> EmulatorServer:
    """A running emulator with the test defaults, overridden by ``settings`` (any ``EmulatorConfig`` field)."""
    settings.setdefault("seed", 42)
    settings.setdefault("scale", "tiny")
    if "now" not in settings:
        settings.setdefault("today", TEST_DAY)
    return start_emulator(EmulatorConfig(port=0, **settings))


@contextmanager
def running_emulator(**settings) -> Iterator[EmulatorServer]:
    server = start_test_emulator(**settings)
    try:
        yield server
    finally:
        server.stop()


def emulator_factory() -> Iterator:
    """Body of a factory fixture: yields ``start(**settings)``, stops what it started afterwards."""
    started: list[EmulatorServer] = []

    def start(**settings) -> EmulatorServer:
        server = start_test_emulator(**settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def spotify_for(server: EmulatorServer, refresh_token: str | None = EMULATOR_REFRESH_TOKEN, **fields):
    """A ``SpotifyResource`` talking to ``server`` as its demo user (``refresh_token=None``: client credentials);
    ``fields`` are further ``SpotifyResource`` fields and override the defaults (e.g. ``api_url`` of a proxy)."""
    from spotify_assets.spotify.resource import SpotifyResource

    fields.setdefault("client_id", "test-client")
    fields.setdefault("client_secret", "test-secret-value")
    fields.setdefault("api_url", server.api_url)
    fields.setdefault("accounts_url", server.accounts_url)
    return SpotifyResource(refresh_token=refresh_token, **fields)


def scoped_login(server: EmulatorServer, scope: str, client=("emu-id", "emu-secret")) -> dict:
    """The token answer of an authorization-code login to ``server`` that granted only ``scope``
    (space-separated scopes): ``access_token``, ``refresh_token``, ``scope``..."""
    redirect = "http://127.0.0.1:9999/callback"
    authorized = requests.get(server.accounts_url + "/authorize", allow_redirects=False, timeout=10, params={
        "response_type": "code", "client_id": client[0], "redirect_uri": redirect, "scope": scope})
    code = authorized.headers["Location"].split("code=")[1].split("&")[0]
    answer = requests.post(server.accounts_url + "/api/token", auth=client, timeout=10, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect})
    assert answer.status_code == 200, answer.text
    return answer.json()


def scoped_refresh_token(server: EmulatorServer, scope: str) -> str:
    """The refresh token of a login to ``server`` that granted only ``scope`` (see :func:`scoped_login`)."""
    return scoped_login(server, scope)["refresh_token"]


def crawl_into_lake(root: str, day: dt.date = TEST_DAY, **settings) -> str:
    """Crawl an emulator (test defaults, overridden by ``settings``) into the raw zone of the lake at ``root``
    for ``day``, as the raw assets do; returns the partition key."""
    from spotify_assets.lake.raw import RawPartitionWriter
    from spotify_assets.spotify.crawl import CrawlSeeds

    with running_emulator(today=day, **settings) as server:
        writer = RawPartitionWriter(Lake(root), day.isoformat())
        spotify_for(server).crawl(CrawlSeeds(playlist_ids=[]), writer)
        writer.commit()
    return day.isoformat()


def copy_raw(src_root: str, lake: Lake | str, *, day: str | None = None, without: Iterable[str] = ()) -> Lake:
    """Land the raw zone of the lake at ``src_root`` (e.g. ``crawled_raw``'s) in ``lake`` (a ``Lake`` or a root),
    as the raw zone of ``day`` if given (the ``dt=`` folders renamed), leaving out the sources in ``without``;
    returns the destination ``Lake``."""
    dest = Lake(lake) if isinstance(lake, str) else lake
    src = Lake(src_root)
    skipped = tuple(f"raw/{source}/" for source in without)
    for f in src.list_files("raw", include_hidden=True):
        if f.path.startswith(skipped):
            continue
        rel = re.sub(r"/dt=[^/]+/", f"/dt={day}/", f.path, count=1) if day else f.path
        dest.write_bytes(rel, src.read_bytes(f.path))
    return dest


def bad_track_envelope(day: str, track_id: str = BAD_TRACK) -> dict:
    """The raw envelope of a track look-up "another tool" landed: parseable, but the track's popularity is 150
    (out of range): the transform quarantines that track, and the rest of the day is published."""
    artist = {"id": "1" * 22, "name": "Someone", "type": "artist"}
    track = {
        "id": track_id, "name": "Injected", "type": "track", "uri": f"spotify:track:{track_id}", "duration_ms": 1000,
        "explicit": False, "popularity": 150, "disc_number": 1, "track_number": 1,
        "external_ids": {"isrc": "XX0000000001"},
        "album": {"id": "0" * 22, "name": "Injected album", "album_type": "single", "release_date": "2020",
                  "release_date_precision": "year", "total_tracks": 1, "type": "album", "artists": [artist]},
        "artists": [artist],
    }
    return {"request": f"/v1/tracks?ids={track_id}", "status": 200, "fetched_at": f"{day}T06:00:00Z",
            "body": {"tracks": [track]}}


def land_bad_track(lake: Lake | str, day: str, track_id: str = BAD_TRACK) -> str:
    """Land :func:`bad_track_envelope` as ``raw/tracks/dt=<day>/injected.jsonl.gz``; returns that path."""
    dest = Lake(lake) if isinstance(lake, str) else lake
    rel = f"raw/tracks/dt={day}/injected.jsonl.gz"
    dest.write_bytes(rel, gzip.compress(orjson.dumps(bad_track_envelope(day, track_id)) + b"\n"))
    return rel


def land_cut_short_file(lake: Lake | str, day: str, source: str = "tracks") -> str:
    """Land ``raw/<source>/dt=<day>/cut-short.jsonl.gz``: the gzip data of a few responses, cut in the middle (a
    partial upload) — raw data lost by an amount nobody can know, so the audit holds the day back
    (``raw_data_loss_within_limit``); returns that path."""
    dest = Lake(lake) if isinstance(lake, str) else lake
    rel = f"raw/{source}/dt={day}/cut-short.jsonl.gz"
    data = gzip.compress(b"".join(orjson.dumps(bad_track_envelope(day, f"{i:022d}")) + b"\n" for i in range(20)))
    dest.write_bytes(rel, data[: len(data) // 2])
    return rel
