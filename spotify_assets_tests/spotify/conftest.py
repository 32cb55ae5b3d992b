from __future__ import annotations

import re
import threading

import orjson
import pytest
import requests

from spotify_assets.emulator import (
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    EMULATOR_REFRESH_TOKEN,
)
from spotify_assets.spotify.__main__ import main as cli_main
from spotify_assets.spotify.client import SpotifyClient
from spotify_assets.spotify.config import SpotifyApiSettings
from spotify_assets.spotify.crawl import CrawlSeeds, ListSink, run_crawl
from spotify_assets_tests.emulation import TEST_DAY, emulator_factory, running_emulator

from .faultproxy import FaultProxy

DAY1 = TEST_DAY


@pytest.fixture
def start():
    """Factory: start an emulator (tiny scale, fixed day unless given); stopped at teardown."""
    yield from emulator_factory()


@pytest.fixture(scope="module")
def shared_emulator():
    with running_emulator() as server:
        yield server


@pytest.fixture
def proxy_factory():
    proxies = []

    def _make(upstream_url: str) -> FaultProxy:
        p = FaultProxy(upstream_url)
        proxies.append(p)
        return p

    yield _make
    for p in proxies:
        p.stop()


def settings_for(server, api_url: str | None = None, **kw) -> SpotifyApiSettings:
    kw.setdefault("mode", "extended")
    kw.setdefault("backoff_base_s", 0.01)
    kw.setdefault("backoff_cap_s", 0.05)
    kw.setdefault("timeout_s", 5.0)
    kw.setdefault("refresh_token", EMULATOR_REFRESH_TOKEN)
    return SpotifyApiSettings(client_id=EMULATOR_CLIENT_ID, client_secret=EMULATOR_CLIENT_SECRET,
                              api_url=api_url or server.api_url, accounts_url=server.accounts_url, **kw)


def client_for(server, api_url: str | None = None, **kw) -> SpotifyClient:
    return SpotifyClient(settings_for(server, api_url, **kw))


def crawl(server, seeds=None, previous=None, *, today=None, max_age=None, **kw):
    """One crawl of ``seeds`` (default: the demo user's library) with a :func:`client_for` client (``kw``: its
    settings), the server's stats reset first: ``(report, sink, settled stats)``."""
    client = client_for(server, **kw)
    sink = ListSink()
    server.reset_stats()
    report = run_crawl(client, seeds or CrawlSeeds(playlist_ids=[]), sink, previous=previous, today=today,
                       full_copy_max_age_days=max_age)
    return report, sink, settled_stats(server, report.total_requests)


def ids_of(records, source):
    """The album or artist ids answered in the ``(source, envelope)`` records (batch or single look-ups)."""
    out = []
    for s, env in records:
        if s == source and env["status"] == 200:
            body = env["body"]
            out += [o["id"] for o in body[source] if o] if source in body else [body["id"]]
    return out


def run_login(server, capsys):
    """``python -m spotify_assets.spotify login`` against ``server``'s accounts service, its "browser" a thread
    that opens the authorize URL (the emulator redirects straight back with a code). Asserts it succeeded;
    returns what it printed (``capsys.readouterr()``: the refresh token on stdout, the rest on stderr)."""

    def browser(url):
        threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}, daemon=True).start()

    rc = cli_main(["login", "--port", "0", "--client-id", EMULATOR_CLIENT_ID, "--accounts-url", server.accounts_url,
                   "--timeout", "10"], open_url=browser)
    out = capsys.readouterr()
    assert rc == 0, out.err
    return out


_BASE = re.compile(rb"http://127\.0\.0\.1:\d+")


def record_set(records) -> set[tuple[str, str, int, bytes]]:
    """Comparable records: (source, request, status, canonical body), without fetched_at/carried_from;
    the emulator's own base URL (in ``href``s) is normalised so runs on different servers compare."""
    return {(s, e["request"], e["status"],
             _BASE.sub(b"http://emulator", orjson.dumps(e["body"], option=orjson.OPT_SORT_KEYS)))
            for s, e in records}


def api_requests(stats: dict) -> int:
    return sum(n for k, n in stats["requests"].items() if " /v1/" in k)


def library_requests(stats: dict) -> int:
    """Requests for the user's top items and saved tracks (made by every crawl with a user token)."""
    reqs = stats["requests"]
    return reqs.get("GET /v1/me/top/{id}", 0) + reqs.get("GET /v1/me/tracks", 0)


def settled_stats(server, expected_api_requests: int | None = None, timeout_s: float = 2.0) -> dict:
    """The emulator counts a request after answering it: wait until the counts stop moving."""
    import time

    deadline = time.monotonic() + timeout_s
    last = server.stats()
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now = server.stats()
        if now == last and (expected_api_requests is None or api_requests(now) >= expected_api_requests):
            return now
        last = now
    return last
