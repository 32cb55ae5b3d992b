"""The ``spotify_assets`` code location: every asset, check, job, schedule and sensor, with resources.

raw (Spotify API → raw JSON) → transformed (Parquet tables, guarded by checks; staged in process, in
AWS Lambda or in AWS Glue) → catalog (Glue or DuckDB views) → analytics (SQL), and insights (Python assets
reading the tables through the lake IO manager). Resources come from ``resources.build_resources`` — the
one place that reads ``SPOTIFY_ASSETS_ENV`` and ``SPOTIFY_TRANSFORM_COMPUTE``.

Your own assets: ``dg.Definitions.merge(defs, dg.Definitions(assets=[my_asset]))`` — a parameter named
after a table (``tracks: pd.DataFrame``, ``playlist_items: pa.Table``) loads its published rows.
"""

from __future__ import annotations

import dagster as dg

from .assets.analytics import analytics_tables
from .assets.catalog import catalog_tables
from .assets.insights import weekly_movers
from .assets.raw import raw_spotify
from .assets.transformed import build_transformed_tables
from .automation import build_automation
from .resources import build_resources, transform_compute


def build_definitions() -> dg.Definitions:
    """The code location's definitions for the current environment (read once, here)."""
    automation = build_automation()
    compute = transform_compute()
    return dg.Definitions(
        assets=[raw_spotify, build_transformed_tables(compute), catalog_tables, analytics_tables, weekly_movers],
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=automation.sensors,
        resources=build_resources(compute=compute),
    )


defs = build_definitions()
