"""Faults give the same records as a clean run; Retry-After; ceiling; budget; secrets; no .cache."""

from __future__ import annotations

import base64
import logging
import time
from pathlib import Path

import orjson
import pytest

from spotify_assets.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN
from spotify_assets.spotify.auth import RefreshTokenProvider
from spotify_assets.spotify.client import SpotifyClient
from spotify_assets.spotify.crawl import CrawlSeeds, ListSink, run_crawl
from spotify_assets.spotify.errors import RateLimitedError, RetryBudgetExhaustedError, SpotifyAuthError
from spotify_assets.spotify.ratelimit import RateLimiter

from .conftest import client_for, record_set, run_login, settings_for


@pytest.fixture(scope="module")
def clean_records(shared_emulator):
    sink = ListSink()
    run_crawl(client_for(shared_emulator), CrawlSeeds(playlist_ids=[]), sink)
    return record_set(sink.records)


@pytest.mark.parametrize("kind", ["429:0", "500", "502", "503", "drop", "truncate", "401"])
def test_each_fault_kind_gives_the_clean_records(shared_emulator, proxy_factory, clean_records, kind):
    proxy = proxy_factory(shared_emulator.accounts_url)
    n = 1 if kind == "401" else 2  # a second 401 right after a refresh is a real auth failure
    for match in ("/v1/me/playlists", "/v1/playlists/", "/tracks?", "/v1/albums", "/v1/artists"):
        proxy.inject(kind, count=n, match=match)
    sink = ListSink()
    report = run_crawl(client_for(shared_emulator, proxy.api_url), CrawlSeeds(playlist_ids=[]), sink)
    assert len(proxy.injected) == 5 * n
    assert record_set(sink.records) == clean_records
    assert report.retries == 5 * n
    assert report.total_requests == report.minimum_requests + 5 * n
    if kind.startswith("429"):
        assert report.rate_limited == 5 * n
    elif kind in ("500", "502", "503"):
        assert report.server_errors == 5 * n
    elif kind in ("drop", "truncate"):
        assert report.dropped_connections == 5 * n
    else:
        assert report.token_refreshes == 5


def test_emulator_random_faults_lose_nothing(start, clean_records):
    srv = start(fault_rate=0.1)
    retries = 0
    for _ in range(3):
        sink = ListSink()
        report = run_crawl(client_for(srv), CrawlSeeds(playlist_ids=[]), sink)
        retries += report.retries
        assert record_set(sink.records) == clean_records
    assert retries > 0 and srv.stats()["faults_injected"] > 0


def test_retry_after_is_honoured(shared_emulator, proxy_factory):
    proxy = proxy_factory(shared_emulator.accounts_url)
    proxy.inject("429:1", count=1, match="/v1/albums")
    t0 = time.monotonic()
    report = run_crawl(client_for(shared_emulator, proxy.api_url), CrawlSeeds(playlist_ids=[]), ListSink())
    assert time.monotonic() - t0 >= 1.0
    assert report.rate_limited == 1 and report.retries == 1


def test_retry_after_above_ceiling_raises_and_keeps_records(shared_emulator, proxy_factory):
    proxy = proxy_factory(shared_emulator.accounts_url)
    proxy.inject("429:3600", count=1, match="/v1/albums")
    sink = ListSink()
    t0 = time.monotonic()
    with pytest.raises(RateLimitedError) as exc:
        run_crawl(client_for(shared_emulator, proxy.api_url, retry_after_ceiling_s=60), CrawlSeeds(playlist_ids=[]),
                  sink)
    assert time.monotonic() - t0 < 10
    msg = str(exc.value)
    assert "Retry-After 3600" in msg and "UTC" in msg and "Retry after 20" in msg
    assert exc.value.report is not None and exc.value.report.rate_limited == 1
    assert sink.by_source("playlists") and sink.by_source("playlist_items")


def test_real_rolling_window_429_above_ceiling(start):
    srv = start(rate_limit=5)
    with pytest.raises(RateLimitedError) as exc:
        run_crawl(client_for(srv, retry_after_ceiling_s=0.5), CrawlSeeds(playlist_ids=[]), ListSink())
    assert "Retry after" in str(exc.value)


def test_rate_limiter_never_exceeds_the_rolling_window():
    now = [0.0]
    sends = []

    def sleep(d):
        now[0] += d

    limiter = RateLimiter(100, headroom=0.95, clock=lambda: now[0], sleep=sleep)
    for _ in range(1000):
        limiter.acquire()
        sends.append(now[0])
    j = 0
    for i, t in enumerate(sends):  # max sends in any 30 s window
        while sends[j] <= t - 30:
            j += 1
        assert i - j + 1 <= 100
    rate = (len(sends) - 1) / (sends[-1] - sends[0])
    assert 0.9 * 100 / 30 <= rate <= 100 / 30


def test_client_side_pacing_avoids_429(start):
    srv = start(rate_limit=40)  # the tiny crawl needs 31 requests: paced, none is refused
    t0 = time.monotonic()
    report = run_crawl(client_for(srv, rate_limit_per_30s=300), CrawlSeeds(playlist_ids=[]), ListSink())
    assert report.rate_limited == 0
    assert time.monotonic() - t0 >= (report.total_requests - 1) * 30 / 300 / 1.0 * 0.95


def test_retry_budget_exhausted(shared_emulator, proxy_factory):
    proxy = proxy_factory(shared_emulator.accounts_url)
    proxy.inject("503", count=100, match="/v1/")
    with pytest.raises(RetryBudgetExhaustedError) as exc:
        run_crawl(client_for(shared_emulator, proxy.api_url, max_retries_total=5), CrawlSeeds(playlist_ids=[]),
                  ListSink())
    assert "budget of 5 retries" in str(exc.value)


def test_no_secrets_in_logs_errors_or_metadata(start, proxy_factory, caplog, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    caplog.set_level(logging.DEBUG)
    srv = start()
    proxy = proxy_factory(srv.accounts_url)
    proxy.inject("401", count=1, match="/v1/playlists/")
    # user token (refresh flow) with a forced refresh, then a client-credentials client
    client = client_for(srv, proxy.api_url)
    report = run_crawl(client, CrawlSeeds(playlist_ids=[]), ListSink())
    cc = client_for(srv, refresh_token=None)
    cc_report = run_crawl(cc, CrawlSeeds(playlist_ids=srv.catalog_summary()["sample_ids"]["playlist"][:1]),
                          ListSink())
    # spotipy objects used directly at DEBUG also stay clean
    cc.spotify().playlist(srv.catalog_summary()["sample_ids"]["playlist"][0], fields="id")
    secrets = [EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN, client.tokens._token, cc.tokens._token,
               base64.b64encode(f"{EMULATOR_CLIENT_ID}:{EMULATOR_CLIENT_SECRET}".encode()).decode()]
    assert all(secrets)
    # failing auth: the error must not carry the secret
    bad = start(require_client_secret="the-right-one")
    with pytest.raises(SpotifyAuthError) as exc:
        SpotifyClient(settings_for(bad, refresh_token=None)).get("tracks", {"ids": "4uLU6hMCjMI75M1A2tKUQC"})
    texts = [caplog.text, str(exc.value), repr(exc.value), repr(client.settings), str(client.settings),
             repr(client.tokens), orjson.dumps(report.as_metadata()).decode(),
             orjson.dumps(cc_report.as_metadata()).decode()]
    texts += [r.getMessage() for r in caplog.records]
    assert any("Sending POST" in r.getMessage() for r in caplog.records), "spotipy DEBUG logs were captured"
    for text in texts:
        for s in secrets:
            assert s not in text
    assert report.token_refreshes == 1
    assert not list(Path(tmp_path).glob(".cache*")), "no spotipy token cache file"


def test_pkce_login_command(start, capsys):
    srv = start()
    out = run_login(srv, capsys)
    refresh_token = out.out.strip()
    assert refresh_token and "/authorize?" in out.err and "code_challenge" in out.err
    provider = RefreshTokenProvider(EMULATOR_CLIENT_ID, None, refresh_token, srv.accounts_url)
    client = SpotifyClient(settings_for(srv, refresh_token=refresh_token), provider)
    resp = client.get("me/playlists", {"limit": 50})
    assert resp.status == 200 and resp.body["total"] > 0
