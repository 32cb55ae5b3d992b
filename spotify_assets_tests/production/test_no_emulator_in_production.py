"""Production (SPOTIFY_ASSETS_ENV=aws) never crawls the bundled emulator: missing Spotify credentials fail
the raw step before any request, nothing lands in the lake, and the UI says what is missing."""

from __future__ import annotations

import logging

import boto3
import dagster as dg
import pytest

from spotify_assets.defs.partitions import today_utc
from spotify_assets.defs.resources import spotify_resource, spotify_setup_problems
from spotify_assets.emulator import resource as local_spotify
from spotify_assets.spotify.errors import SpotifyCredentialsMissingError
from spotify_assets.spotify.resource import SpotifyResource

from .helpers import clear_spotify_env, load_definitions


@pytest.fixture
def aws_without_spotify(monkeypatch, s3_bucket, aws_env):
    clear_spotify_env(monkeypatch)
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "aws")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("SPOTIFY_ATHENA_OUTPUT", f"s3://{s3_bucket}/athena/")
    return s3_bucket


def test_aws_without_credentials_fails_before_any_request_and_lands_nothing(aws_without_spotify, aws_env, caplog):
    with caplog.at_level(logging.WARNING):
        defs = load_definitions()
    # The location loads (the UI stays browsable) and warns, naming the variables — never values.
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("SPOTIFY_CLIENT_ID" in w and "SPOTIFY_CLIENT_SECRET" in w for w in warnings), warnings
    graph = defs.resolve_asset_graph()
    for source in ("playlists", "tracks"):
        node = graph.get(dg.AssetKey(f"raw_{source}"))
        assert "SPOTIFY_CLIENT_ID" in node.metadata["spotify/setup"].value
        assert node.description.startswith("**Spotify setup needs attention:**")

    emulator_before = local_spotify._bundled
    raw = defs.resolve_assets_def(dg.AssetKey("raw_playlists"))
    result = dg.materialize(
        [raw], partition_key=today_utc(), raise_on_error=False,  # resources: bound by the definitions
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "SPOTIFY_CLIENT_ID" in failure.message and "SPOTIFY_CLIENT_SECRET" in failure.message
    assert "python -m spotify_assets.spotify login" in failure.message
    assert "developer.spotify.com/dashboard" in failure.message
    # Not retried by the step's RetryPolicy: a missing secret does not come back by itself.
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert local_spotify._bundled is emulator_before, "the bundled emulator must not start"
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    assert s3.list_objects_v2(Bucket=aws_without_spotify).get("KeyCount", 0) == 0, "nothing may land in the lake"


def test_aws_resource_refuses_the_emulator_even_with_an_api_url(monkeypatch, emulator):
    clear_spotify_env(monkeypatch)
    monkeypatch.setenv("SPOTIFY_API_URL", emulator.api_url)
    emulator.reset_stats()
    resource = spotify_resource("aws")
    assert type(resource) is SpotifyResource  # the plain resource: no code path to an emulator
    with pytest.raises(SpotifyCredentialsMissingError) as error:
        resource.get_client()
    assert "SPOTIFY_CLIENT_ID" in str(error.value)
    assert emulator.stats()["total_requests"] == 0


def test_missing_variables_are_named_one_by_one(monkeypatch):
    clear_spotify_env(monkeypatch)
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "an-app")
    [problem] = spotify_setup_problems("aws")
    assert "SPOTIFY_CLIENT_SECRET (or SPOTIFY_REFRESH_TOKEN) not set" in problem
    assert "SPOTIFY_CLIENT_ID," not in problem
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "s3cr3t-value")
    assert spotify_setup_problems("aws") == []
    monkeypatch.delenv("SPOTIFY_CLIENT_SECRET")
    monkeypatch.delenv("SPOTIFY_CLIENT_ID")
    assert spotify_setup_problems("local") == [], "locally the bundled emulator stands in"


def test_local_without_credentials_uses_an_emulator(monkeypatch, emulator):
    clear_spotify_env(monkeypatch)
    monkeypatch.setenv("SPOTIFY_API_URL", emulator.api_url)
    resource = spotify_resource("local")
    assert isinstance(resource, local_spotify.LocalSpotifyResource) and resource.missing_credentials() == []
    client = resource.get_client()
    try:
        assert client.get("me/playlists", {"limit": 5}).status == 200
    finally:
        client.close()


def test_rate_limit_pacing_comes_from_the_environment(monkeypatch, emulator):
    clear_spotify_env(monkeypatch)
    monkeypatch.setenv("SPOTIFY_API_URL", emulator.api_url)
    monkeypatch.setenv("SPOTIFY_RATE_LIMIT_PER_30S", "120")
    resource = spotify_resource("local")
    assert resource.rate_limit_per_30s == 120
    client = resource.get_client()
    try:
        assert client.limiter.limit_per_30s == 120 and client.limiter.interval_s > 0
    finally:
        client.close()
    monkeypatch.setenv("SPOTIFY_RATE_LIMIT_PER_30S", "lots")
    with pytest.raises(ValueError, match="SPOTIFY_RATE_LIMIT_PER_30S"):
        spotify_resource("local")
    monkeypatch.delenv("SPOTIFY_RATE_LIMIT_PER_30S")
    assert spotify_resource("local").rate_limit_per_30s is None


def test_a_resource_built_by_hand_never_falls_back():
    with pytest.raises(SpotifyCredentialsMissingError):
        SpotifyResource().settings()
