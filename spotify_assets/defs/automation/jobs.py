"""Jobs, for people: a day launched from the UI or the CLI, backfills, the demo — and the one rule of what
they run. (What starts on its own: :mod:`.schedules`; what follows: :mod:`.conditions`.)

The jobs run the project's own assets, named stage by stage in :data:`PIPELINE`, never "every asset of a
group": an asset someone adds — a user's own asset, in ``insights`` or any group, with its own partitions
and backfill policy — joins ``daily_job`` and ``transform_job`` only by a line here, and so does a new
stage of the project.
"""

from __future__ import annotations

import dagster as dg

from ...lake.paths import RAW_SOURCES
from ...sql.analytics import ANALYTICS
from ...tables import HISTORY_TABLES, TABLES
from .. import groups
from ..catalog.assets import catalog_asset_key
from ..history.importing import RAW_HISTORY_KEY
from ..insights.listening_report import LISTENING_REPORT_KEY
from ..insights.weekly_movers import WEEKLY_MOVERS
from ..partitions import daily_partitions
from ..raw.shared import raw_asset_key
from .retries import RUN_RETRY_TAGS

DAILY_JOB_NAME = "daily_job"
TRANSFORM_JOB_NAME = "transform_job"

# What the jobs run, per stage (the group each asset is in). Add a stage or an asset here to put it in the jobs.
PIPELINE: dict[str, tuple[dg.AssetKey, ...]] = {
    groups.RAW: tuple(raw_asset_key(source) for source in RAW_SOURCES),
    groups.TRANSFORMED: tuple(dg.AssetKey(table) for table in TABLES),
    groups.CATALOG: tuple(catalog_asset_key(table) for table in TABLES),
    groups.ANALYTICS: tuple(dg.AssetKey(name) for name in ANALYTICS),
    groups.INSIGHTS: (dg.AssetKey(WEEKLY_MOVERS.name),),
}
BELOW_THE_RAW_ZONE = [stage for stage in PIPELINE if stage != groups.RAW]


def pipeline_selection(*stages: str) -> dg.AssetSelection:
    """The named assets of ``stages`` (keys of :data:`PIPELINE`)."""
    return dg.AssetSelection.assets(*(key for stage in stages for key in PIPELINE[stage]))


daily_job = dg.define_asset_job(
    DAILY_JOB_NAME,
    selection=pipeline_selection(*PIPELINE),
    partitions_def=daily_partitions,
    tags=RUN_RETRY_TAGS,
    description="The whole pipeline for one day: crawl Spotify into the raw zone and land the plays, normalize, "
    "audit and publish the tables, register them in the catalog, refresh analytics and insights. Only today's "
    "partition can be crawled; past days are rebuilt with transform_job.",
)

transform_job = dg.define_asset_job(
    TRANSFORM_JOB_NAME,
    selection=pipeline_selection(*BELOW_THE_RAW_ZONE),
    partitions_def=daily_partitions,
    tags=RUN_RETRY_TAGS,
    description="Rebuild days from the raw zone (transformed → catalog → analytics, insights): backfills of "
    "past days. Insights over a window of days read what is published when they run: re-run the insights "
    "group after a backfill.",
)

IMPORT_HISTORY_JOB_NAME = "import_history_job"
# The listening history: not daily, so in no PIPELINE stage; its own job, named asset by asset as well.
HISTORY_ASSETS = (RAW_HISTORY_KEY, *(dg.AssetKey(t) for t in HISTORY_TABLES),
                  *(catalog_asset_key(t) for t in HISTORY_TABLES), LISTENING_REPORT_KEY)

import_history_job = dg.define_asset_job(
    IMPORT_HISTORY_JOB_NAME,
    selection=dg.AssetSelection.assets(*HISTORY_ASSETS),
    tags=RUN_RETRY_TAGS,
    description="Import the user's Spotify data export: land it in the raw zone without personal data "
    "(raw_streaming_history, run config `export`: the zip or its folder, local or s3://), then rebuild, audit "
    "and publish streams and listens month by month, register them in the catalog and draw the listening report. "
    "One run for any number of years. `make import-history EXPORT=<path>` launches it.",
)
