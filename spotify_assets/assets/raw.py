"""Raw zone assets: one crawl of the Spotify Web API per day (``raw_spotify``) and the user's plays, landed
hourly (``raw_plays``), verbatim as JSON lines."""

from datetime import date

import dagster as dg
from pydantic import Field

from ..lake.paths import CRAWL_SOURCES, PLAYS_SOURCE
from ..lake.plays import land_plays, ms_iso, plays_cursor
from ..lake.raw import RawPartitionWriter, iter_raw_envelopes
from ..lake.resource import LakeResource
from ..partitions import daily_partitions, today_utc
from ..preflight import ConfigurationError, check_lake
from ..spotify.carry import max_age_days
from ..spotify.crawl import CrawlSeeds
from ..spotify.errors import RateLimitedError, SpotifyAuthError, SpotifyError
from ..spotify.ids import validate_ids
from ..spotify.plays import fetch_plays
from ..spotify.resource import SpotifyResource

RAW_GROUP = "raw"

RAW_DESCRIPTIONS = {
    "playlists": "Verbatim `GET /v1/playlists/{id}` responses: playlist metadata plus the first page of items.",
    "playlist_items": "Verbatim playlist item pages (`/tracks` in extended mode, `/items` in development mode); "
    "pages of playlists whose snapshot_id did not change are carried over from the previous partition.",
    "tracks": "Verbatim track look-ups (`/v1/tracks?ids=` batches, or single look-ups in development mode) "
    "for seed tracks not already seen in full inside playlist items.",
    "albums": "Verbatim album look-ups (`/v1/albums?ids=` batches of 20, or single look-ups); an album whose "
    "last full copy is younger than the maximum copy age is carried over from the previous partition instead.",
    "artists": "Verbatim artist look-ups (`/v1/artists?ids=` batches of 50, or single look-ups); in development "
    "mode an artist whose last full copy is younger than the maximum copy age is carried over instead.",
    "top_tracks": "Verbatim `GET /v1/me/top/tracks` answers: the user's top 50 tracks for each time range "
    "(short_term, medium_term, long_term). Needs a user token; empty with client credentials only.",
    "top_artists": "Verbatim `GET /v1/me/top/artists` answers: the user's top 50 artists for each time range. "
    "Needs a user token; empty with client credentials only.",
    "saved_tracks": "Verbatim `GET /v1/me/tracks` pages: the user's saved tracks (Liked Songs), every page. Needs "
    "a user token; empty with client credentials only.",
    "plays": "Verbatim `GET /v1/me/player/recently-played` answers, one file per run and day: each run lands the "
    "plays since the newest one already landed (the API remembers the last 50 only), in the folder of the UTC "
    "day they were played on. Materialized by plays_schedule (hourly by default) and by daily_job.",
}


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{source}")


class ExtractConfig(dg.Config):
    """What to crawl. The defaults work against the bundled emulator (its demo user's playlists)."""

    playlist_ids: list[str] = Field(default_factory=list, description="Playlist ids to crawl (base62).")
    artist_ids: list[str] = Field(default_factory=list, description="Artist ids to crawl (base62).")
    track_ids: list[str] = Field(default_factory=list, description="Track ids to crawl (base62).")
    include_my_playlists: bool = Field(
        default=True, description="Also crawl the user's own playlists (needs SPOTIFY_REFRESH_TOKEN)."
    )
    include_my_library: bool = Field(
        default=True, description="Also fetch the user's top tracks and artists and saved tracks (needs "
        "SPOTIFY_REFRESH_TOKEN; skipped with a log line otherwise)."
    )
    full_copy_max_age_days: int | None = Field(
        default=None, ge=0,
        description="Look an album or artist up again once its last full copy is this many days old; younger "
        "copies are carried over from the previous partition (extended mode looks artists up daily). "
        "0 looks every album and artist up. Unset: SPOTIFY_FULL_COPY_MAX_AGE_DAYS, else 7.",
    )
    allow_past_partition: bool = Field(
        default=False,
        description="The API has no history: extracting a past day would label today's data with that day. "
        "Set only to repair a partition on purpose.",
    )


def _check_partition_is_today(partition: str, allow_past: bool) -> None:
    today = today_utc()
    if partition == today or allow_past:
        return
    raise dg.Failure(
        description=(
            f"Cannot extract partition {partition}: the Spotify API only answers for today ({today} UTC). "
            "Past days are rebuilt from the raw zone by backfilling the transformed, catalog and analytics "
            "assets instead. To relabel today's data as that day anyway, set allow_past_partition: true."
        ),
        allow_retries=False,
    )


def _check_seed_ids(config: ExtractConfig) -> None:
    """Ids become URLs and object keys: reject malformed ones before any request (never retried)."""
    try:
        for kind, ids in (("playlist", config.playlist_ids), ("artist", config.artist_ids), ("track", config.track_ids)):
            validate_ids(kind, ids)
    except ValueError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def _require_spotify(spotify: SpotifyResource) -> None:
    """Production without Spotify credentials stops here: before any request or lake access (never retried)."""
    try:
        spotify.require_credentials()
    except SpotifyAuthError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def _check_lake(lake) -> None:
    """A lake setting a retry cannot fix fails the step before any request — and is not retried: neither by
    the step's retry policy nor by a run retry (the jobs' failure hook sees ``allow_retries=False``)."""
    try:
        check_lake(lake)
    except ConfigurationError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def _discarded(writer: RawPartitionWriter) -> str:
    n = sum(writer.records.values())
    return (f"The {n} records fetched before this point were discarded and the raw zone is unchanged; "
            "a re-run crawls the partition again from the start.")


def _full_copy_max_age(config: ExtractConfig) -> int:
    """The config's maximum copy age, else the environment's; a bad value fails at once (never retried)."""
    try:
        return max_age_days(config.full_copy_max_age_days)
    except ValueError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def _previous_records(lake, partition: str | None):
    if partition is None:
        return None
    return (
        (source, envelope)
        for source in ("playlists", "playlist_items", "albums", "artists")
        for envelope in iter_raw_envelopes(lake, source, partition)
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            raw_asset_key(source),
            group_name=RAW_GROUP,
            description=RAW_DESCRIPTIONS[source],
            kinds={"python", "s3", "json"},
            metadata={"lake_path": f"raw/{source}/dt=<partition>/"},
        )
        for source in CRAWL_SOURCES
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS),
)
def raw_spotify(
    context: dg.AssetExecutionContext, config: ExtractConfig, spotify: SpotifyResource, lake: LakeResource
):
    """Crawl the Spotify Web API for today's partition and land every response verbatim in the raw zone:
    the playlists and their items, tracks, albums and artists, and — with a user token — the user's top
    tracks and artists and saved tracks (without one they are skipped, and a log line says so).

    The crawl makes the fewest requests it can: batch look-ups at their maximum sizes, maximum page
    sizes, one request for a playlist whose snapshot_id did not change since the previous partition, and
    none for an album or artist whose last full copy is younger than the maximum copy age (that copy is
    carried over; the `crawl/*_carried` metadata counts them).
    Re-running a partition replaces the files this asset wrote; it never adds duplicates.
    """
    partition = context.partition_key
    _require_spotify(spotify)
    _check_partition_is_today(partition, config.allow_past_partition)
    _check_seed_ids(config)
    token = spotify.refresh_token_status()
    if token is not None and token.needs_attention:
        context.log.warning(token.message)  # also the spotify_refresh_token_expiry check on raw_playlists
    the_lake = lake.get_lake()
    _check_lake(the_lake)
    seeds = CrawlSeeds(
        playlist_ids=list(config.playlist_ids),
        artist_ids=list(config.artist_ids),
        track_ids=list(config.track_ids),
        include_my_playlists=config.include_my_playlists,
        include_my_library=config.include_my_library,
    )
    previous = the_lake.previous_partition("raw/playlists", partition)
    context.log.info(f"Crawling for {partition}; previous raw partition: {previous or 'none'}")
    max_age = _full_copy_max_age(config)
    writer = RawPartitionWriter(the_lake, partition)
    try:
        report = spotify.crawl(
            seeds,
            writer,
            previous=_previous_records(the_lake, previous),
            logger=context.log,
            today=date.fromisoformat(partition),
            full_copy_max_age_days=max_age,
        )
    except (RateLimitedError, SpotifyAuthError) as error:
        # Retrying within minutes cannot help: wait for the time the message names, or fix credentials.
        discarded = _discarded(writer)
        writer.close()
        raise dg.Failure(description=f"{error} {discarded}", allow_retries=False) from error
    except SpotifyError as error:
        error.add_note(_discarded(writer))
        writer.close()
        raise
    except BaseException:
        writer.close()
        raise
    written = writer.commit()
    crawl_metadata = report.as_metadata()
    context.log.info(
        f"Crawl done: {report.total_requests} requests (minimum {report.minimum_requests}), "
        f"records {writer.records}"
    )
    for source in CRAWL_SOURCES:
        info = written[source]
        yield dg.MaterializeResult(
            asset_key=raw_asset_key(source),
            metadata={
                "dagster/row_count": info["records"],
                "path": dg.MetadataValue.path(the_lake.uri(info["path"])),
                "bytes_compressed": info["bytes"],
                "previous_partition": previous or "",
                **({"spotify/refresh_token_expires_at": token.as_metadata()["expires_at"]}
                   if token is not None and token.expires_at else {}),
                **{f"crawl/{k}": v for k, v in crawl_metadata.items()},
            },
        )


@dg.asset(
    key=raw_asset_key(PLAYS_SOURCE),
    group_name=RAW_GROUP,
    description=RAW_DESCRIPTIONS[PLAYS_SOURCE],
    kinds={"python", "s3", "json"},
    metadata={"lake_path": f"raw/{PLAYS_SOURCE}/dt=<day played>/plays-<first>-<last>.jsonl.gz"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS),
)
def raw_plays(context: dg.AssetExecutionContext, spotify: SpotifyResource, lake: LakeResource):
    """Land the plays the user made since the newest play already in the raw zone (recently played).

    The API remembers the last 50 plays only, so this runs often (plays_schedule, hourly by default). Each
    run writes only new plays, one new file per day they were played on (UTC): a run just after midnight
    may land plays in yesterday's folder too, and reports that day as materialized as well. Re-running
    never duplicates a play (the cursor is the newest landed play) nor loses one (days are written oldest
    first); the transform keeps one row per played_at. Any partition key works: plays always land in the
    day they were played on. Without a user token nothing is fetched (a log line says so).
    """
    partition = context.partition_key
    _require_spotify(spotify)
    the_lake = lake.get_lake()
    _check_lake(the_lake)
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
