"""The one partitioning scheme of the lake: a daily partition per UTC day, today's included."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from .. import settings

# read once, when the definitions are first imported (see spotify_assets.settings: a reload re-reads it)
PARTITIONS_START = settings.load().partitions_start

# end_offset=1 makes today's (still running) day a partition: the daily extraction snapshots the API
# "as of today", which is the only day the API can answer for.
daily_partitions = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, end_offset=1, timezone="UTC")


def today_utc() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()
