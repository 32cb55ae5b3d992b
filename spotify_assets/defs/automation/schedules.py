"""The schedules: what starts the pipeline — the daily crawl and the plays — on the Automation page.

* ``daily_crawl_schedule`` — the crawl (``raw_spotify``: the eight crawl sources) for today's partition at
  ``SPOTIFY_SCHEDULE_CRON`` (default ``0 6 * * *``).
* ``recent_plays_schedule`` — ``raw_plays`` for today's partition at ``SPOTIFY_PLAYS_SCHEDULE_CRON`` (default
  ``5 * * * *``, hourly): Spotify remembers a user's last 50 plays only.

Both crons are read in ``SPOTIFY_SCHEDULE_TIMEZONE`` (default UTC). Today is the UTC day of the scheduled
time: the Spotify API only answers for now, and the partitions are UTC days. Everything downstream follows
by its automation condition (:mod:`.conditions`, evaluated by the ``automation_sensor``), so a schedule's
run is the update the transformed tables, the catalog and the analytics then follow once.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from ... import settings
from ...lake.paths import CRAWL_SOURCES, PLAYS_SOURCE
from ..partitions import daily_partitions
from ..raw.shared import raw_asset_key
from .alerts import TRIGGER_TAG
from .conditions import automation_default_on
from .retries import RUN_RETRY_TAGS

CRAWL_SCHEDULE_NAME = "daily_crawl_schedule"
PLAYS_SCHEDULE_NAME = "recent_plays_schedule"


def crawl_cron() -> str:
    return settings.load().schedule_cron


def plays_cron() -> str:
    return settings.load().plays_schedule_cron


def schedule_timezone() -> str:
    return settings.load().schedule_timezone


def schedule_status() -> dg.DefaultScheduleStatus:
    """Stopped unless ``SPOTIFY_AUTOMATION_DEFAULT_ON=true`` (a laptop never crawls on its own)."""
    return dg.DefaultScheduleStatus.RUNNING if automation_default_on() else dg.DefaultScheduleStatus.STOPPED


def todays_run(context: dg.ScheduleEvaluationContext, schedule_name: str) -> dg.RunRequest | dg.SkipReason:
    """The run of a tick: the partition of the UTC day of the scheduled time (not of when the daemon got to
    it, so a late tick still asks for its own day), tagged for run retries."""
    scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = scheduled.astimezone(dt.UTC).date().isoformat()
    if not daily_partitions.has_partition_key(day):
        return dg.SkipReason(f"{day} is not a daily partition (they start at {daily_partitions.start:%Y-%m-%d})")
    return dg.RunRequest(partition_key=day, tags={**RUN_RETRY_TAGS, TRIGGER_TAG: schedule_name})


_FOLLOWERS = ("the transformed tables, the catalog and the analytics of the day then follow through "
              "automation_sensor (switch it on too)")


def build_schedules() -> list[dg.ScheduleDefinition]:
    """The two schedules with the crons, timezone and default state the environment sets now."""

    @dg.schedule(
        name=CRAWL_SCHEDULE_NAME,
        cron_schedule=crawl_cron(),
        execution_timezone=schedule_timezone(),
        target=dg.AssetSelection.assets(*(raw_asset_key(s) for s in CRAWL_SOURCES)),
        default_status=schedule_status(),
        description="Crawls Spotify for today's partition (UTC day): playlists, their items, tracks, albums, "
        "artists and the user's top items and saved tracks, landed in the raw zone in one step. Cron: "
        f"SPOTIFY_SCHEDULE_CRON in SPOTIFY_SCHEDULE_TIMEZONE; {_FOLLOWERS}.",
    )
    def daily_crawl_schedule(context: dg.ScheduleEvaluationContext):
        return todays_run(context, CRAWL_SCHEDULE_NAME)

    @dg.schedule(
        name=PLAYS_SCHEDULE_NAME,
        cron_schedule=plays_cron(),
        execution_timezone=schedule_timezone(),
        target=dg.AssetSelection.assets(raw_asset_key(PLAYS_SOURCE)),
        default_status=schedule_status(),
        description="Lands the user's recently played tracks (raw_plays): the plays since the newest one "
        "already landed. Spotify remembers the last 50 plays only, so keep its runs at most a few hours apart. "
        f"Cron: SPOTIFY_PLAYS_SCHEDULE_CRON in SPOTIFY_SCHEDULE_TIMEZONE; once the day's crawl has landed, "
        f"{_FOLLOWERS}.",
    )
    def recent_plays_schedule(context: dg.ScheduleEvaluationContext):
        return todays_run(context, PLAYS_SCHEDULE_NAME)

    return [daily_crawl_schedule, recent_plays_schedule]


@dg.definitions
def schedules() -> dg.Definitions:
    """The schedules as the environment sets them (read at each ``build_definitions()``; see
    :mod:`spotify_assets.settings` for when each setting is read)."""
    return dg.Definitions(schedules=build_schedules())
