"""The ``spotify_assets`` code location: every asset, check, job, schedule and sensor, with resources.

raw (Spotify API → raw JSON) → transformed (Parquet tables, guarded by checks) → catalog (Glue or
DuckDB views) → analytics (SQL). Resources come from ``resources.build_resources`` — the one place
that reads ``SPOTIFY_ASSETS_ENV``.
"""

from __future__ import annotations

import dagster as dg

from .assets.analytics import analytics_tables
from .assets.catalog import catalog_tables
from .assets.raw import raw_spotify
from .assets.transformed import transformed_tables
from .automation import build_automation
from .resources import build_resources

automation = build_automation()

defs = dg.Definitions(
    assets=[raw_spotify, transformed_tables, catalog_tables, analytics_tables],
    jobs=automation.jobs,
    schedules=automation.schedules,
    sensors=automation.sensors,
    resources=build_resources(),
)
