"""Dagster resources for the warehouse: one interface, two backends, chosen in one place.

``build_warehouse_resource()`` reads ``SPOTIFY_ASSETS_ENV`` (``local`` → DuckDB, ``aws`` → Glue + Athena) from
:mod:`spotify_assets.settings`, for ``Definitions``; assets only ever call ``warehouse.query_engine()`` / ``warehouse.catalog()`` /
``warehouse.get_lake()`` and never branch on the environment. The lake is the same ``LakeResource`` the
other assets use, so there is one lake setting.

Environment variables: ``SPOTIFY_ASSETS_ENV``, ``SPOTIFY_LAKE_URI`` (default ``./data/lake``),
``SPOTIFY_GLUE_DATABASE`` (default ``spotify``), ``SPOTIFY_ATHENA_WORKGROUP`` (default ``primary``),
``SPOTIFY_ATHENA_OUTPUT`` (``s3://…``), ``SPOTIFY_DUCKDB_PATH`` (default ``./data/spotify.duckdb``),
and the AWS settings :mod:`spotify_assets.aws.clients` resolves (``AWS_REGION``, ``AWS_ENDPOINT_URL``…).
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from .. import settings as platform_settings
from ..lake.resource import LakeResource, settings_checked
from ..lake.storage import Lake
from ..settings import ConfigurationError
from ..settings.declared import ENVIRONMENTS
from .athena import AthenaEngine
from .catalog import Catalog, DuckDBCatalog
from .duckdb_engine import DEFAULT_DUCKDB_PATH, DuckDBEngine
from .engine import QueryEngine
from .glue import GlueCatalog
from .preflight import check_athena_output, check_duckdb_path, check_glue_database


class WarehouseResource(dg.ConfigurableResource):
    """Query engine + catalog + lake for one environment (``local``: DuckDB; ``aws``: Athena + Glue).

    Engines are cheap and hold no open connection (DuckDB opens its file per call), so each call
    returns a fresh object; call ``close()`` (Athena: stops queries still running) when done.
    """

    lake: LakeResource
    env: str = "local"
    glue_database: str = "spotify"
    athena_workgroup: str = "primary"
    athena_output: str | None = None
    duckdb_path: str = DEFAULT_DUCKDB_PATH
    aws_region: str | None = None
    aws_endpoint_url: str | None = None
    athena_timeout_s: float = 1800.0

    _checked: bool = PrivateAttr(default=False)

    def get_lake(self) -> Lake:
        return self.lake.get_lake()

    def ready(self) -> WarehouseResource:
        """This resource, once its settings are checked (once per step): what every step that uses the
        warehouse calls first. The lake (``SPOTIFY_LAKE_URI``), then locally the DuckDB file
        (``SPOTIFY_DUCKDB_PATH``: a DuckDB database or nothing yet, in a writable folder), on AWS the Glue
        database name and the Athena output location. A wrong one fails the step at once, naming the
        setting, and is not retried."""
        self.lake.ready_lake()
        if not self._checked:
            with settings_checked():
                _check_env(self.env)
                if self.env == "aws":
                    check_glue_database(self.glue_database)
                    check_athena_output(self.athena_output)
                else:
                    check_duckdb_path(self.duckdb_path)
            self._checked = True
        return self

    def query_engine(self) -> QueryEngine:
        _check_env(self.env)
        if self.env == "aws":
            return AthenaEngine(
                database=self.glue_database,
                workgroup=self.athena_workgroup,
                output_location=self.athena_output or None,
                region=self.aws_region or None,
                endpoint_url=self.aws_endpoint_url or None,
                timeout_s=self.athena_timeout_s,
            )
        return DuckDBEngine(
            self.get_lake(), self.duckdb_path, endpoint_url=self.aws_endpoint_url or None, region=self.aws_region or None
        )

    def catalog(self) -> Catalog:
        _check_env(self.env)
        if self.env == "aws":
            return GlueCatalog(
                database=self.glue_database,
                lake_uri=self.lake.root_uri,
                region=self.aws_region or None,
                endpoint_url=self.aws_endpoint_url or None,
            )
        engine = self.query_engine()
        assert isinstance(engine, DuckDBEngine)
        return DuckDBCatalog(engine)


def _check_env(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise ConfigurationError(f"SPOTIFY_ASSETS_ENV must be one of {', '.join(ENVIRONMENTS)}, got {env!r}")
    return env


def _settings_from_env() -> dict[str, Any]:
    # Names and paths, none of them secret: read when the definitions load. Region and endpoints are
    # resolved by spotify_assets.aws.clients where a client is made (aws_region/aws_endpoint_url override them).
    current = platform_settings.load()
    return {
        "glue_database": current.glue_database,
        "athena_workgroup": current.athena_workgroup,
        "athena_output": current.athena_output,
        "duckdb_path": current.duckdb_path,
    }


def build_warehouse_resource(
    env: str | None = None, lake: LakeResource | None = None, **overrides: Any
) -> WarehouseResource:
    """The warehouse resource for ``SPOTIFY_ASSETS_ENV`` (or ``env``) over ``lake`` (default: from the
    environment); call once, in ``Definitions``."""
    env = _check_env(env or platform_settings.load().assets_env)
    settings = {**_settings_from_env(), **overrides}
    if env == "aws":  # a bad name fails loading the definitions, before anything runs
        check_glue_database(settings["glue_database"])
    return WarehouseResource(env=env, lake=lake or LakeResource.from_env(), **settings)


def build_query_engine(env: str | None = None, **overrides: Any) -> QueryEngine:
    """A query engine straight from the environment (scripts, benchmarks, notebooks)."""
    return build_warehouse_resource(env, **overrides).query_engine()
