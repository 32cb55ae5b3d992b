"""Starting the Spotify emulator in tests, and crawling it into a lake: one way, shared by every test package.

Defaults: seed 42, tiny scale, the clock on TEST_DAY, a free port on 127.0.0.1; every server started is
stopped when its fixture ends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from spotify_assets.emulator import EMULATOR_REFRESH_TOKEN, EmulatorConfig, EmulatorServer, start_emulator

TEST_DAY = dt.date(2026, 11, 24)


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
    """A ``SpotifyResource`` talking to ``server`` as its demo user (``refresh_token=None``: client credentials)."""
    from spotify_assets.spotify.resource import SpotifyResource

    return SpotifyResource(client_id="test-client", client_secret="test-secret-value", refresh_token=refresh_token,
                           api_url=server.api_url, accounts_url=server.accounts_url, **fields)


def crawl_into_lake(root: str, day: dt.date = TEST_DAY, **settings) -> str:
    """Crawl an emulator (test defaults, overridden by ``settings``) into the raw zone of the lake at ``root``
    for ``day``, as the raw assets do; returns the partition key."""
    from spotify_assets.lake.raw import RawPartitionWriter
    from spotify_assets.lake.storage import Lake
    from spotify_assets.spotify.crawl import CrawlSeeds

    with running_emulator(today=day, **settings) as server:
        writer = RawPartitionWriter(Lake(root), day.isoformat())
        spotify_for(server).crawl(CrawlSeeds(playlist_ids=[]), writer)
        writer.commit()
    return day.isoformat()
