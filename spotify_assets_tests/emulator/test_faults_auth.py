"""Rate limiting, fault injection, latency, token expiry and the OAuth flows."""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from spotify_assets.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN


def _cc(server, auth=("id", "secret")):
    r = requests.post(server.accounts_url + "/api/token", data={"grant_type": "client_credentials"}, auth=auth,
                      timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def test_rate_limit_rolling_window(emu_factory):
    s = emu_factory(rate_limit=5)
    h = {"Authorization": "Bearer " + _cc(s)}
    url = s.api_url + "tracks/" + s.music.id("track", 0)
    sess = requests.Session()
    assert [sess.get(url, headers=h, timeout=5).status_code for _ in range(5)] == [200] * 5
    bodies = set()
    for _ in range(12):
        r = sess.get(url, headers=h, timeout=5)
        assert r.status_code == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 30
        if r.content:
            err = r.json()["error"]
            assert err["status"] == 429 and err["message"] == "API rate limit exceeded"
            bodies.add(err.get("reason", "plain"))
        else:
            bodies.add("empty")
    assert len(bodies) >= 2  # Spotify's 429s vary: empty body, plain error, QUOTA_EXCEEDED
    assert s.stats()["rate_limited_429"] == 12
    # admin endpoints are exempt
    assert sess.get(s.base_url + "/_admin/stats", timeout=5).status_code == 200


def test_fault_rate_roughly_as_configured(emu_factory):
    s = emu_factory(fault_rate=0.3, seed=5)
    tok = _cc(s)  # token endpoint is never faulted
    h = {"Authorization": "Bearer " + tok}
    url = s.api_url + "tracks/" + s.music.id("track", 1)
    sess = requests.Session()
    outcomes = {}
    n = 400
    for _ in range(n):
        try:
            r = sess.get(url, headers=h, timeout=5)
            key = r.status_code
            if key == 429:
                assert r.headers["Retry-After"] == "1"
        except requests.ConnectionError:
            key = "drop"
        outcomes[key] = outcomes.get(key, 0) + 1
    faults = n - outcomes.get(200, 0)
    assert 0.2 * n <= faults <= 0.4 * n, outcomes
    assert set(outcomes) <= {200, 429, 500, 502, 503, "drop"} and "drop" in outcomes and 503 in outcomes
    assert s.stats()["faults_injected"] == faults


def test_token_endpoint_never_faulted_but_api_always(emu_factory):
    s = emu_factory(fault_rate=1.0)
    for _ in range(20):
        _cc(s)
    r = None
    try:
        r = requests.get(s.api_url + "me", timeout=5)
    except requests.ConnectionError:
        pass
    assert r is None or r.status_code in (429, 500, 502, 503)


def test_latency_is_per_request_and_concurrent(emu_factory):
    s = emu_factory(latency_ms=150)
    h = {"Authorization": "Bearer " + _cc(s)}
    url = s.api_url + "tracks/" + s.music.id("track", 2)
    t0 = time.perf_counter()
    requests.get(url, headers=h, timeout=5)
    assert time.perf_counter() - t0 >= 0.15
    t0 = time.perf_counter()
    threads = [threading.Thread(target=requests.get, args=(url,), kwargs={"headers": h, "timeout": 5}) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.perf_counter() - t0 < 8 * 0.15 * 0.6


def test_token_expiry_and_bad_tokens(emu_factory):
    s = emu_factory(token_lifetime_s=0.3)
    tok = _cc(s)
    url = s.api_url + "tracks/" + s.music.id("track", 0)
    assert requests.get(url, headers={"Authorization": "Bearer " + tok}, timeout=5).status_code == 200
    time.sleep(0.4)
    r = requests.get(url, headers={"Authorization": "Bearer " + tok}, timeout=5)
    assert r.status_code == 401
    assert r.json() == {"error": {"status": 401, "message": "The access token expired"}}
    r = requests.get(url, headers={"Authorization": "Bearer nope"}, timeout=5)
    assert r.json() == {"error": {"status": 401, "message": "Invalid access token"}}
    assert requests.get(url, timeout=5).status_code == 401


def test_client_credentials_cannot_read_me(emu):
    h = {"Authorization": "Bearer " + _cc(emu)}
    for path in ("me", "me/playlists"):
        r = requests.get(emu.api_url + path, headers=h, timeout=5)
        assert r.status_code == 401 and r.json()["error"]["status"] == 401
    body = {"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    assert requests.post(emu.accounts_url + "/api/token", data=body, timeout=5).json()["token_type"] == "Bearer"


def _pkce():
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def _authorize(server, **extra):
    redirect = "http://127.0.0.1:8888/callback"
    params = {"client_id": EMULATOR_CLIENT_ID, "response_type": "code", "redirect_uri": redirect,
              "state": "xyz 1", "scope": "playlist-read-private", **extra}
    r = requests.get(server.accounts_url + "/authorize", params=params, allow_redirects=False, timeout=5)
    assert r.status_code == 302, r.text
    loc = urlsplit(r.headers["Location"])
    assert f"{loc.scheme}://{loc.netloc}{loc.path}" == redirect
    q = parse_qs(loc.query)
    assert q["state"] == ["xyz 1"]
    return q["code"][0], redirect


def test_pkce_code_flow_and_refresh(emu):
    verifier, challenge = _pkce()
    code, redirect = _authorize(emu, code_challenge=challenge, code_challenge_method="S256")
    tok_url = emu.accounts_url + "/api/token"
    bad = requests.post(tok_url, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                                       "client_id": EMULATOR_CLIENT_ID, "code_verifier": "wrong"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    code, redirect = _authorize(emu, code_challenge=challenge, code_challenge_method="S256")
    r = requests.post(tok_url, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                                     "client_id": EMULATOR_CLIENT_ID, "code_verifier": verifier}, timeout=5)
    assert r.status_code == 200, r.text
    tokens = r.json()
    me = requests.get(emu.api_url + "me", headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=5)
    assert me.json()["id"] == emu.catalog_summary()["demo_user_id"]
    # a code is single use
    again = requests.post(tok_url, data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
                                         "client_id": EMULATOR_CLIENT_ID, "code_verifier": verifier}, timeout=5)
    assert again.status_code == 400
    r = requests.post(tok_url, data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
                                     "client_id": EMULATOR_CLIENT_ID}, timeout=5)
    assert r.status_code == 200
    h = {"Authorization": "Bearer " + r.json()["access_token"]}
    assert requests.get(emu.api_url + "me/playlists", headers=h, timeout=5).status_code == 200


def test_code_flow_with_client_secret_and_redirect_rules(emu):
    code, redirect = _authorize(emu)
    r = requests.post(emu.accounts_url + "/api/token", auth=(EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET),
                      data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}, timeout=5)
    assert r.status_code == 200 and r.json()["refresh_token"]
    r = requests.get(emu.accounts_url + "/authorize", allow_redirects=False, timeout=5,
                     params={"client_id": "x", "response_type": "code", "redirect_uri": "http://localhost:8888/cb"})
    assert r.status_code == 400


def test_well_known_refresh_token_and_pinned_credentials(emu_factory):
    s = emu_factory(require_client_id="good-id", require_client_secret="good-secret")
    url = s.accounts_url + "/api/token"
    assert requests.post(url, data={"grant_type": "client_credentials"}, auth=("bad", "good-secret"),
                         timeout=5).json()["error"] == "invalid_client"
    assert requests.post(url, data={"grant_type": "client_credentials"}, auth=("good-id", "bad"),
                         timeout=5).status_code == 400
    _cc(s, auth=("good-id", "good-secret"))
    r = requests.post(url, data={"grant_type": "refresh_token", "refresh_token": EMULATOR_REFRESH_TOKEN},
                      auth=("good-id", "good-secret"), timeout=5)
    me = requests.get(s.api_url + "me", headers={"Authorization": "Bearer " + r.json()["access_token"]}, timeout=5)
    assert me.status_code == 200
    r = requests.post(url, data={"grant_type": "refresh_token", "refresh_token": "unknown"},
                      auth=("good-id", "good-secret"), timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert requests.post(url, data={"grant_type": "password"}, auth=("good-id", "good-secret"),
                         timeout=5).json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_stats_count_per_endpoint_template(emu_factory, mode):
    s = emu_factory(mode=mode)
    h = {"Authorization": "Bearer " + _cc(s)}
    s.reset_stats()
    for i in range(3):
        requests.get(s.api_url + "tracks/" + s.music.id("track", i), headers=h, timeout=5)
    requests.get(s.api_url + "tracks", params={"ids": s.music.id("track", 0)}, headers=h, timeout=5)
    st = requests.get(s.base_url + "/_admin/stats", timeout=5).json()
    assert st["requests"] == {"GET /v1/tracks/{id}": 3, "GET /v1/tracks": 1}
    assert st["bytes_sent"] > 0 and st["rate_limited_429"] == 0 and st["faults_injected"] == 0
    assert requests.post(s.base_url + "/_admin/reset-stats", timeout=5).status_code == 200
    assert s.stats()["total_requests"] == 0
