"""The ``spotify_assets`` code location: every asset, check, job, schedule and sensor, with resources."""

from __future__ import annotations

import dagster as dg

from .assets.raw import raw_spotify
from .resources import build_resources

defs = dg.Definitions(
    assets=[raw_spotify],
    resources=build_resources(),
)
