"""Refresh tokens under the rules in force since 2026-07-20: no rotation, expiry six months after the login,
``invalid_grant`` afterwards — in the emulator, the client, the login helper and the platform's warning."""

from __future__ import annotations

import datetime as dt
import logging
from datetime import date

import dagster as dg
import pytest
import requests

from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.defs.raw.spotify_setup import TOKEN_CHECK_NAME, spotify_refresh_token_expiry
from spotify_assets.emulator import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN
from spotify_assets.lake.resource import LakeResource
from spotify_assets.spotify.auth import RefreshTokenProvider
from spotify_assets.spotify.errors import RefreshTokenExpiredError
from spotify_assets.spotify.tokens import add_months, parse_issued_at, refresh_token_status
from spotify_assets_tests.emulation import spotify_for

from .conftest import DAY1, run_login

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


def _refresh(server, token: str) -> requests.Response:
    return requests.post(f"{server.accounts_url}/api/token", timeout=10,
                         data={"grant_type": "refresh_token", "refresh_token": token, "client_id": EMULATOR_CLIENT_ID})


# -- the rule ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "expected"), [
    ((2026, 5, 24), (2026, 11, 24)), ((2026, 8, 31), (2027, 2, 28)), ((2027, 8, 31), (2028, 2, 29)),
    ((2026, 12, 15), (2027, 6, 15)),
])
def test_six_calendar_months(start, expected):
    moment = dt.datetime(*start, 9, 30, tzinfo=dt.UTC)
    assert add_months(moment, 6) == dt.datetime(*expected, 9, 30, tzinfo=dt.UTC)


def test_status_states_and_warning_window():
    assert refresh_token_status("2026-07-01T00:00:00Z", now=NOW).state == "ok"  # 37 days left
    expiring = refresh_token_status("2026-06-01", warn_days=14, now=NOW)  # expires 2026-12-01: 6.5 days
    assert expiring.state == "expiring" and 6 < expiring.days_left < 7
    assert "python -m spotify_assets.spotify login" in expiring.message
    assert refresh_token_status("2026-06-01", warn_days=5, now=NOW).state == "ok"  # configurable window
    expired = refresh_token_status("2026-05-20T08:00:00+00:00", now=NOW)
    assert expired.state == "expired" and expired.as_metadata()["expires_at"] == "2026-11-20T08:00:00Z"
    unknown = refresh_token_status(None, now=NOW)
    assert unknown.state == "unknown" and "SPOTIFY_REFRESH_TOKEN_ISSUED_AT" in unknown.message
    assert refresh_token_status("last tuesday", now=NOW).state == "unknown"
    assert parse_issued_at("2026-06-01T10:00:00") == dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)


# -- the emulator models it -------------------------------------------------------------------------------------
def test_emulator_never_rotates_and_expires_six_months_after_authorization(start):
    server = start(demo_refresh_token_authorized=date(2026, 5, 25))
    answer = _refresh(server, EMULATOR_REFRESH_TOKEN)
    assert answer.status_code == 200 and "refresh_token" not in answer.json()  # keep using the one you have
    server.set_today(date(2026, 11, 25))  # six months after 2026-05-25
    expired = _refresh(server, EMULATOR_REFRESH_TOKEN)
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"
    server.set_today(date(2026, 11, 24))
    assert _refresh(server, EMULATOR_REFRESH_TOKEN).status_code == 200


def test_emulator_login_tokens_expire_on_the_emulator_clock(start, capsys):
    server = start()  # clock on DAY1 = 2026-11-24
    out = run_login(server, capsys)
    token = out.out.strip()
    # The helper says when the token was issued, when it expires and how to store both.
    assert "Refresh token issued " in out.err and "; it expires " in out.err
    issued_line = next(line for line in out.err.splitlines() if line.strip().startswith("SPOTIFY_REFRESH_TOKEN_ISSUED_AT="))
    issued = parse_issued_at(issued_line.split("=", 1)[1].split(" ")[0])
    assert abs((dt.datetime.now(dt.UTC) - issued).total_seconds()) < 120
    assert add_months(issued, 6).strftime("%Y-%m-%dT%H:%M:%SZ") in out.err
    assert "secret" in out.err and token not in out.err
    assert _refresh(server, token).status_code == 200
    server.set_today(date(2027, 5, 24))
    assert _refresh(server, token).json()["error"] == "invalid_grant"


# -- the client and the platform --------------------------------------------------------------------------------
def test_invalid_grant_is_a_relogin_error_without_the_secret(start):
    server = start(demo_refresh_token_authorized=date(2026, 1, 1))
    provider = RefreshTokenProvider(EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN, server.accounts_url)
    with pytest.raises(RefreshTokenExpiredError) as error:
        provider.token()
    message = str(error.value)
    assert "invalid_grant" in message and "python -m spotify_assets.spotify login" in message
    assert EMULATOR_REFRESH_TOKEN not in message and EMULATOR_CLIENT_SECRET not in message


def _materialize(server, tmp_path, issued_at, instance=None):
    return dg.materialize(
        [raw_spotify, spotify_refresh_token_expiry], partition_key=DAY1.isoformat(), raise_on_error=False,
        resources={"lake": LakeResource(root_uri=str(tmp_path)), "spotify": spotify_for(server, refresh_token_issued_at=issued_at)},
        run_config={"ops": {"raw_spotify": {"config": {"allow_past_partition": True}}}},
        instance=instance,
    )


def test_expired_token_fails_the_crawl_at_once_and_says_log_in_again(start, tmp_path):
    server = start(demo_refresh_token_authorized=date(2026, 1, 1))
    result = _materialize(server, tmp_path, "2026-01-01")
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "invalid_grant" in message and "log in again" in message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"], "never retried"
    assert not list(tmp_path.rglob("*.jsonl.gz")), "nothing landed"


def test_token_close_to_expiry_warns_in_the_ui_without_failing(start, tmp_path):
    server = start()
    # The warning is about the real date: a login whose six months end five days from now.
    now = dt.datetime.now(dt.UTC)
    issued = add_months(now + dt.timedelta(days=5), -6)
    expected_days = (add_months(issued, 6) - now).total_seconds() / 86400
    assert expected_days < 14
    with dg.instance_for_test() as instance:
        result = _materialize(server, tmp_path, issued.strftime("%Y-%m-%dT%H:%M:%SZ"), instance)
        warnings = [r.user_message for r in instance.all_logs(result.run_id) if r.level == logging.WARNING]
    assert result.success, "a warning never stops the pipeline"
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == TOKEN_CHECK_NAME]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.metadata["days_left"].value == pytest.approx(expected_days, abs=0.1)
    assert evaluation.metadata["state"].value == "expiring"
    assert "python -m spotify_assets.spotify login" in evaluation.description
    assert any("refresh token expires in" in w for w in warnings), warnings  # the crawl's WARN log line
    materialized = {e.asset_key.to_user_string(): e.materialization.metadata
                    for e in result.get_asset_materialization_events()}
    assert materialized["raw_playlists"]["spotify/refresh_token_expires_at"].value == \
        add_months(issued, 6).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_token_far_from_expiry_passes(start, tmp_path):
    server = start()
    result = _materialize(server, tmp_path, dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"))
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == TOKEN_CHECK_NAME]
    assert result.success and evaluation.passed and evaluation.metadata["state"].value == "ok"


def test_token_check_runs_in_the_daily_job():
    from spotify_assets.definitions import defs

    assert f"raw_playlists_{TOKEN_CHECK_NAME}" in defs.resolve_job_def("daily_job").graph.node_names()
    assert f"raw_playlists_{TOKEN_CHECK_NAME}" not in defs.resolve_job_def("transform_job").graph.node_names()
