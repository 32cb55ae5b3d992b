"""The ``spotify_assets`` code location: every asset, check, job, schedule and sensor, with resources.

raw (Spotify API → raw JSON) → transformed (Parquet tables, guarded by checks) → catalog (Glue or
DuckDB views) → analytics (SQL). Resources come from ``resources.build_resources`` — the one place
that reads ``SPOTIFY_ASSETS_ENV``.
"""

from __future__ import annotations

import logging

import dagster as dg

from .assets.analytics import analytics_tables
from .assets.catalog import catalog_tables
from .assets.raw import raw_plays, raw_spotify
from .assets.spotify_setup import annotate_raw_assets, spotify_refresh_token_expiry
from .assets.transformed import transformed_tables
from .automation import build_automation
from .resources import build_resources, spotify_setup_problems

automation = build_automation()

# A forgotten secret must not hide the UI: the location loads, warns, and the raw assets say what is missing.
setup_problems = spotify_setup_problems()
for problem in setup_problems:
    logging.getLogger(__name__).warning(problem)

defs = dg.Definitions(
    assets=[annotate_raw_assets(raw_spotify, setup_problems), annotate_raw_assets(raw_plays, setup_problems),
            transformed_tables, catalog_tables, analytics_tables],
    asset_checks=[spotify_refresh_token_expiry],
    jobs=automation.jobs,
    schedules=automation.schedules,
    sensors=automation.sensors,
    resources=build_resources(),
)
