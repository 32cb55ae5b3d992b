"""The one place that turns the environment into resources (local laptop or AWS).

``SPOTIFY_ASSETS_ENV=local`` (default): a lake directory and DuckDB. ``aws``: the lake on S3, the Glue
Data Catalog and Athena. Secrets are passed as ``dg.EnvVar`` so Dagster resolves them at launch and
never shows their values in the UI; optional ones are only wired when set, so a laptop with no
accounts loads the same definitions.

Resources: ``spotify``, ``lake``, ``warehouse``, ``s3`` (``dagster_aws`` ``S3Resource``, the Dagster side's
S3 client: raw-landing sensor, Pipes objects), ``lake_io_manager`` (Python assets load the published
tables through it) and, only when ``SPOTIFY_TRANSFORM_COMPUTE`` sends the transform to AWS,
``pipes_lambda_client`` or ``pipes_glue_client``. Region, endpoints and credentials of every AWS client
are resolved by :mod:`spotify_assets.aws.clients`.
"""

from __future__ import annotations

import dagster as dg
from dagster_aws.s3 import S3Resource

from .. import settings
from ..aws import clients as aws
from ..lake.io_manager import LAKE_IO_MANAGER_KEY, LakeIOManager
from ..lake.resource import LakeResource
from ..spotify.resource import SpotifyResource, missing_credentials, missing_credentials_message
from ..spotify.tokens import refresh_token_status
from ..warehouse.resources import build_warehouse_resource
from .transformed.pipes import (
    GLUE_RESOURCE_KEY,
    LAMBDA_RESOURCE_KEY,
    TransformCompute,
    build_pipes_glue_client,
    build_pipes_lambda_client,
)


def current_environment() -> str:
    """``SPOTIFY_ASSETS_ENV``: ``local`` or ``aws``."""
    return settings.load().assets_env


def _env_var(name: str) -> dg.EnvVar | None:
    """A secret (or credential) passed on by its declared name, resolved by Dagster at launch (the UI shows the
    name, never the value); only wired when set."""
    declared = settings.BY_NAME[name]
    return dg.EnvVar(declared.name) if settings.load().is_set(declared.name) else None


def spotify_resource(env: str | None = None) -> SpotifyResource:
    """The ``spotify`` resource: on a laptop (``local``) the emulator may stand in for missing credentials;
    anywhere else the plain resource, which has no path to the emulator."""
    env = env or current_environment()
    current = settings.load()
    fields = dict(
        # the client id too, though not a secret: the UI shows no part of the credentials
        client_id=_env_var("SPOTIFY_CLIENT_ID"),
        client_secret=_env_var("SPOTIFY_CLIENT_SECRET"),
        refresh_token=_env_var("SPOTIFY_REFRESH_TOKEN"),
        refresh_token_issued_at=current.refresh_token_issued_at,
        refresh_token_warn_days=current.refresh_token_warn_days,
        api_url=current.api_url,
        accounts_url=current.accounts_url,
        rate_limit_per_30s=current.rate_limit_per_30s,
    )
    if env == "local":
        from ..emulator.resource import LocalSpotifyResource  # the emulator is imported for laptops only

        return LocalSpotifyResource(**fields)
    return SpotifyResource(**fields)


def spotify_setup_problems(env: str | None = None) -> list[str]:
    """What a person should fix in the Spotify setup, read from the environment when definitions load.

    Shown as a warning at load and on the raw assets in the UI, so a forgotten secret is visible before
    the first run fails. Names only, never values.
    """
    env = env or current_environment()
    current = settings.load()
    problems = []
    if env != "local":
        missing = missing_credentials(current.client_id, current.client_secret, current.refresh_token)
        if missing:
            problems.append(missing_credentials_message(missing))
    if current.refresh_token:
        status = refresh_token_status(current.refresh_token_issued_at, warn_days=current.refresh_token_warn_days)
        if status.needs_attention:
            problems.append(status.message)
    return problems


def lake_resource(env: str) -> LakeResource:
    lake = LakeResource.from_env()
    if env == "aws" and not lake.root_uri.startswith("s3://"):
        raise settings.ConfigurationError("SPOTIFY_ASSETS_ENV=aws needs SPOTIFY_LAKE_URI=s3://bucket/prefix")
    return lake


def s3_resource(lake: LakeResource | None = None) -> S3Resource:
    """The Dagster side's S3 client, with the lake's (or the environment's) region and S3 endpoint."""
    region = lake.region if lake else None
    endpoint = lake.endpoint_url if lake else None
    return S3Resource(region_name=aws.region(region), endpoint_url=aws.endpoint_url("s3", endpoint))


def transform_compute() -> TransformCompute:
    """Where the transformed step stages a day (``SPOTIFY_TRANSFORM_COMPUTE`` and the function/job names)."""
    return TransformCompute.from_env()


def pipes_resources(compute: TransformCompute, lake: LakeResource, s3: S3Resource) -> dict[str, object]:
    """The Pipes client the transformed step needs for ``compute`` (none in process)."""
    if compute.mode == "lambda":
        return {LAMBDA_RESOURCE_KEY: build_pipes_lambda_client(lake.root_uri, s3_client=s3.get_client())}
    if compute.mode == "glue":
        return {GLUE_RESOURCE_KEY: build_pipes_glue_client(lake.root_uri, s3_client=s3.get_client())}
    return {}


def build_resources(env: str | None = None, compute: TransformCompute | None = None) -> dict[str, object]:
    env = env or current_environment()
    compute = compute or transform_compute()
    lake = lake_resource(env)
    s3 = s3_resource(lake)
    return {
        "spotify": spotify_resource(env),
        "lake": lake,
        "warehouse": build_warehouse_resource(env, lake),
        "s3": s3,
        LAKE_IO_MANAGER_KEY: LakeIOManager(lake=lake),
        **pipes_resources(compute, lake, s3),
    }


@dg.definitions
def resources() -> dg.Definitions:
    """The resources of the code location, for the environment the process runs in."""
    return dg.Definitions(resources=build_resources())
