"""Raw zone assets: one crawl of the Spotify Web API per day, landed verbatim as JSON lines."""

import logging
from datetime import date

import dagster as dg
from pydantic import Field

from ...lake.paths import CRAWL_SOURCES
from ...lake.raw import RawPartitionWriter, iter_raw_envelopes
from ...lake.resource import LakeResource
from ...spotify.crawl import CrawlSeeds
from ...spotify.crawl.carry import max_age_days
from ...spotify.errors import RateLimitedError, SpotifyAuthError, SpotifyError
from ...spotify.ids import validate_ids
from ...spotify.resource import SpotifyResource
from .. import groups
from ..automation.retries import RUN_HOOKS
from ..partitions import daily_partitions, today_utc
from ..resources import spotify_setup_problems
from .shared import (
    CRAWL_DAY,
    RAW_DESCRIPTIONS,
    RAW_RETRY_POLICY,
    annotate_raw_assets,
    raw_asset_key,
    require_spotify,
)

log = logging.getLogger(__name__)


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
            group_name=groups.RAW,
            description=f"{RAW_DESCRIPTIONS[source]}\n\n{CRAWL_DAY}",
            kinds={"python", "s3", "json"},
            metadata={"lake_path": f"raw/{source}/dt=<partition>/"},
        )
        for source in CRAWL_SOURCES
    ],
    partitions_def=daily_partitions,
    hooks=RUN_HOOKS,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    retry_policy=RAW_RETRY_POLICY,
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
    require_spotify(spotify)
    _check_partition_is_today(partition, config.allow_past_partition)
    _check_seed_ids(config)
    token = spotify.refresh_token_status()
    if token is not None and token.needs_attention:
        context.log.warning(token.message)  # also the spotify_refresh_token_expiry check on raw_playlists
    the_lake = lake.ready_lake()  # a wrong SPOTIFY_LAKE_URI fails here, before any request (not retried)
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


@dg.definitions
def raw_assets() -> dg.Definitions:
    """The raw assets as the environment sets them up: a forgotten secret must not hide the UI, so the
    location loads, warns, and the raw assets say what is missing (read at each load of the definitions)."""
    problems = spotify_setup_problems()
    for problem in problems:
        log.warning(problem)
    return dg.Definitions(assets=[annotate_raw_assets(raw_spotify, problems)])
