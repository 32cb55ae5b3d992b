"""The one place that turns the environment into resources (local laptop or AWS).

``SPOTIFY_ASSETS_ENV=local`` (default): a lake directory and DuckDB. ``aws``: the lake on S3, the Glue
Data Catalog and Athena. Secrets are passed as ``dg.EnvVar`` so Dagster resolves them at launch and
never shows their values in the UI; optional ones are only wired when set, so a laptop with no
accounts loads the same definitions.
"""

from __future__ import annotations

import os

import dagster as dg

from .lake.resource import LakeResource
from .spotify.resource import SpotifyResource
from .warehouse.resources import ENVIRONMENTS, build_warehouse_resource


def current_environment() -> str:
    env = os.environ.get("SPOTIFY_ASSETS_ENV", "local").strip().lower() or "local"
    if env not in ENVIRONMENTS:
        raise ValueError(f"SPOTIFY_ASSETS_ENV={env!r} is not one of {', '.join(ENVIRONMENTS)}")
    return env


def _env_or_none(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def _plain_env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name) or default


def spotify_resource() -> SpotifyResource:
    return SpotifyResource(
        client_id=_env_or_none("SPOTIFY_CLIENT_ID"),
        client_secret=_env_or_none("SPOTIFY_CLIENT_SECRET"),
        refresh_token=_env_or_none("SPOTIFY_REFRESH_TOKEN"),
        api_url=_plain_env("SPOTIFY_API_URL"),
        accounts_url=_plain_env("SPOTIFY_ACCOUNTS_URL"),
    )


def lake_resource(env: str) -> LakeResource:
    lake = LakeResource.from_env()
    if env == "aws" and not lake.root_uri.startswith("s3://"):
        raise ValueError("SPOTIFY_ASSETS_ENV=aws needs SPOTIFY_LAKE_URI=s3://bucket/prefix")
    return lake


def build_resources(env: str | None = None) -> dict[str, object]:
    env = env or current_environment()
    lake = lake_resource(env)
    return {
        "spotify": spotify_resource(),
        "lake": lake,
        "warehouse": build_warehouse_resource(env, lake),
    }
