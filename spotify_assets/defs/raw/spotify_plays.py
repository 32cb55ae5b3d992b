"""Raw zone asset ``raw_plays``: the user's recently played tracks, landed hourly, verbatim as JSON lines.

Spotify remembers a user's last 50 plays only, so the plays cannot wait for the daily crawl: this asset has
its own schedule (``recent_plays_schedule``, :mod:`..automation.schedules`) and a cursor (the newest play
already landed), and lands each play in the folder of the UTC day it was played on.
"""

import dagster as dg

from ...lake.paths import PLAYS_SOURCE
from ...lake.plays import land_plays, ms_iso, plays_cursor
from ...lake.resource import LakeResource
from ...spotify.errors import RateLimitedError, SpotifyAuthError
from ...spotify.plays import fetch_plays
from ...spotify.resource import SpotifyResource
from .. import groups
from ..automation.retries import RUN_HOOKS
from ..partitions import daily_partitions
from ..resources import spotify_setup_problems
from .shared import (
    RAW_DESCRIPTIONS,
    RAW_RETRY_POLICY,
    annotate_raw_assets,
    raw_asset_key,
    require_spotify,
)


@dg.asset(
    key=raw_asset_key(PLAYS_SOURCE),
    group_name=groups.RAW,
    description=RAW_DESCRIPTIONS[PLAYS_SOURCE],
    kinds={"python", "s3", "json"},
    metadata={"lake_path": f"raw/{PLAYS_SOURCE}/dt=<day played>/plays-<first>-<last>.jsonl.gz"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    retry_policy=RAW_RETRY_POLICY,
    hooks=RUN_HOOKS,
)
def raw_plays(context: dg.AssetExecutionContext, spotify: SpotifyResource, lake: LakeResource):
    """Land the plays the user made since the newest play already in the raw zone (recently played).

    The API remembers the last 50 plays only, so this runs often (``recent_plays_schedule``, hourly by
    default: SPOTIFY_PLAYS_SCHEDULE_CRON). Each run writes only new plays, one new file per day they were played on (UTC): a run just after midnight
    may land plays in yesterday's folder too, and reports that day as materialized as well. Re-running
    never duplicates a play (the cursor is the newest landed play) nor loses one (days are written oldest
    first); the transform keeps one row per played_at. Any partition key works: plays always land in the
    day they were played on. Without a user token nothing is fetched (a log line says so).
    """
    partition = context.partition_key
    require_spotify(spotify)
    the_lake = lake.ready_lake()
    client = spotify.get_client()
    try:
        if not client.is_user:
            message = ("No user token (client credentials only): recently played needs SPOTIFY_REFRESH_TOKEN; "
                       "no plays fetched.")
            context.log.info(message)
            return dg.MaterializeResult(metadata={"dagster/row_count": 0, "plays/status": message})
        after, found_in = plays_cursor(the_lake)
        context.log.info(f"Fetching plays after {ms_iso(after)}" + (f" (newest play in raw/plays/dt={found_in})"
                                                                     if found_in else " (none landed yet)"))
        fetched = fetch_plays(client, after, logger=context.log)
    except (RateLimitedError, SpotifyAuthError) as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    finally:
        client.close()
    landing = land_plays(the_lake, [r.envelope() for r in fetched.responses], fallback_day=partition)
    status = fetched.problem or ("possible gap: 50 plays or more since the last run" if fetched.possible_gap
                                 else "ok")
    context.log.info(f"Landed {landing.plays} plays: " + (", ".join(
        f"{day}: {d.plays} in {d.path}" for day, d in landing.days.items()) or "no new plays"))

    def metadata(day: str) -> dict:
        landed = landing.days.get(day)
        return {
            "dagster/row_count": landed.plays if landed else 0,
            "path": dg.MetadataValue.path(the_lake.uri(landed.path)) if landed else "none (no new plays that day)",
            "bytes_compressed": landed.bytes if landed else 0,
            "plays/after": ms_iso(after),
            "plays/fetched": fetched.plays,
            "plays/requests": len(fetched.responses) + (1 if fetched.problem else 0),
            "plays/possible_gap": fetched.possible_gap,
            "plays/status": status,
        }

    for day in landing.days:
        if day != partition and daily_partitions.has_partition_key(day):
            context.log_event(dg.AssetMaterialization(asset_key=raw_asset_key(PLAYS_SOURCE), partition=day,
                                                      metadata=metadata(day)))
    return dg.MaterializeResult(metadata=metadata(partition))


@dg.definitions
def plays_assets() -> dg.Definitions:
    """``raw_plays`` with the Spotify setup notes in front of its description (the crawl's module logs them)."""
    return dg.Definitions(assets=[annotate_raw_assets(raw_plays, spotify_setup_problems())])
