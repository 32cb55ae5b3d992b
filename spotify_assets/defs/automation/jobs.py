"""Jobs, for people: a day launched from the UI or the CLI, backfills, the demo. (What runs on its own is
declared by the assets' automation conditions, see :mod:`.conditions`.)"""

from __future__ import annotations

import dagster as dg

from .. import groups
from ..partitions import daily_partitions
from .retries import RUN_RETRY_TAGS

DAILY_JOB_NAME = "daily_job"
TRANSFORM_JOB_NAME = "transform_job"

daily_job = dg.define_asset_job(
    DAILY_JOB_NAME,
    selection=dg.AssetSelection.groups(*groups.ALL),
    partitions_def=daily_partitions,
    tags=RUN_RETRY_TAGS,
    description="The whole pipeline for one day: crawl Spotify into the raw zone, normalize, audit and publish "
    "the tables, register them in the catalog, refresh analytics and insights. Only today's partition can be "
    "crawled; past days are rebuilt with transform_job.",
)

transform_job = dg.define_asset_job(
    TRANSFORM_JOB_NAME,
    selection=dg.AssetSelection.groups(*groups.DOWNSTREAM_OF_RAW),
    partitions_def=daily_partitions,
    tags=RUN_RETRY_TAGS,
    description="Rebuild days from the raw zone (transformed → catalog → analytics, insights): backfills of "
    "past days. Insights over a window of days read what is published when they run: re-run the insights "
    "group after a backfill.",
)

IMPORT_HISTORY_JOB_NAME = "import_history_job"

import_history_job = dg.define_asset_job(
    IMPORT_HISTORY_JOB_NAME,
    selection=dg.AssetSelection.groups(groups.HISTORY),
    tags=RUN_RETRY_TAGS,
    description="Import the user's Spotify data export: land it in the raw zone without personal data "
    "(raw_streaming_history, run config `export`: the zip or its folder, local or s3://), then rebuild, audit "
    "and publish streams and listens month by month and register them in the catalog. One run for any number "
    "of years. `make import-history EXPORT=<path>` launches it.",
)
