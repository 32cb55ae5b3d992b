"""The ``spotify_assets`` code location: every asset, check, job, schedule and sensor, with resources.

raw (Spotify API → raw JSON) → transformed (Parquet tables, guarded by checks; staged in process, in
AWS Lambda or in AWS Glue) → catalog (Glue or DuckDB views) → analytics (SQL), and insights (Python assets
reading the tables through the lake IO manager). Resources come from ``resources.build_resources`` — the
one place that reads ``SPOTIFY_ASSETS_ENV`` and ``SPOTIFY_TRANSFORM_COMPUTE``.

Your own assets: ``dg.Definitions.merge(defs, dg.Definitions(assets=[my_asset]))`` — a parameter named
after a table (``tracks: pd.DataFrame``, ``playlist_items: pa.Table``) loads its published rows.
"""

from __future__ import annotations

import logging

import dagster as dg

from .assets.analytics import analytics_tables
from .assets.catalog import catalog_tables
from .assets.insights import weekly_movers
from .assets.raw import raw_spotify
from .assets.spotify_setup import annotate_raw_assets, spotify_refresh_token_expiry
from .assets.transformed import build_transformed_tables
from .automation import build_automation
from .resources import build_resources, spotify_setup_problems, transform_compute


def build_definitions() -> dg.Definitions:
    """The code location's definitions for the current environment (read once, here)."""
    automation = build_automation()
    compute = transform_compute()
    # A forgotten secret must not hide the UI: the location loads, warns, and the raw assets say what is missing.
    setup_problems = spotify_setup_problems()
    for problem in setup_problems:
        logging.getLogger(__name__).warning(problem)
    return dg.Definitions(
        assets=[
            annotate_raw_assets(raw_spotify, setup_problems),
            build_transformed_tables(compute),
            catalog_tables,
            analytics_tables,
            weekly_movers,
        ],
        asset_checks=[spotify_refresh_token_expiry],
        jobs=automation.jobs,
        schedules=automation.schedules,
        sensors=automation.sensors,
        resources=build_resources(compute=compute),
    )


defs = build_definitions()
