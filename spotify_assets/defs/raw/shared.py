"""What the raw assets share: their keys, descriptions, retry policy, the credentials check they make before
the first request, and the setup notes shown on them."""

import dagster as dg

from ...spotify.errors import SpotifyAuthError
from ...spotify.resource import SpotifyResource

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
    "day they were played on. Materialized by recent_plays_schedule (SPOTIFY_PLAYS_SCHEDULE_CRON, hourly by "
    "default) and by daily_job.",
}

# Shown on each crawl source's page, where Materialize selects all eight of them.
CRAWL_DAY = (
    "**One crawl lands the day's eight crawl sources together** (`raw_spotify`): Materialize on one of them "
    "selects all eight, for today's partition only (the Spotify API has no history; past days are rebuilt "
    "from the raw zone with `transform_job`). Scheduled by `daily_crawl_schedule` (SPOTIFY_SCHEDULE_CRON)."
)

# Transient Spotify/S3 trouble: the step is retried in place (a rate limit or auth error is not, see below).
RAW_RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL,
                                  jitter=dg.Jitter.PLUS_MINUS)


def raw_asset_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(f"raw_{source}")


def require_spotify(spotify: SpotifyResource) -> None:
    """Production without Spotify credentials stops here: before any request or lake access (never retried)."""
    try:
        spotify.require_credentials()
    except SpotifyAuthError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error


def annotate_raw_assets(assets_def: dg.AssetsDefinition, problems: list[str]) -> dg.AssetsDefinition:
    """The raw assets with ``problems`` (setup messages, no secrets) in front of their description."""
    if not problems:
        return assets_def
    note = "\n".join(f"- {p}" for p in problems)

    def annotate(spec: dg.AssetSpec) -> dg.AssetSpec:
        return spec.replace_attributes(
            description=f"**Spotify setup needs attention:**\n{note}\n\n{spec.description or ''}",
            metadata={**spec.metadata, "spotify/setup": dg.MetadataValue.md(note)},
        )

    return assets_def.map_asset_specs(annotate)
