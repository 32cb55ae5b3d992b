"""The Spotify setup, where a person looks: a refresh-token expiry check and notes on the raw assets.

* ``spotify_refresh_token_expiry`` — a non-blocking asset check on ``raw_playlists`` (it runs in every
  ``daily_job`` after the crawl): WARN from ``SPOTIFY_REFRESH_TOKEN_WARN_DAYS`` days before the user's
  refresh token expires, when it has expired, or when its authorization date is unknown. It never stops
  the pipeline; the asset page's *Checks* tab shows it with the dates as metadata.
(Problems found when the definitions load — missing credentials in production, a token about to expire —
are also shown on the raw assets themselves: :func:`.shared.annotate_raw_assets`.)
"""

from __future__ import annotations

import warnings

import dagster as dg

from ...spotify.resource import SpotifyResource
from ..partitions import daily_partitions
from .shared import raw_asset_key

TOKEN_CHECK_NAME = "spotify_refresh_token_expiry"

# Partitioned like its asset, so each day's run records its own result (and no day is left "planned").
# Partitioned checks are a preview feature in Dagster 1.13.
warnings.filterwarnings("ignore", message=".*partitions_def.*", category=dg.PreviewWarning)


@dg.asset_check(
    asset=raw_asset_key("playlists"),
    name=TOKEN_CHECK_NAME,
    blocking=False,
    partitions_def=daily_partitions,
    description="Warns ahead of the expiry of the Spotify user refresh token (six months after the login, "
    "from SPOTIFY_REFRESH_TOKEN_ISSUED_AT), SPOTIFY_REFRESH_TOKEN_WARN_DAYS days before (default 14). "
    "Passes when no user token is configured.",
)
def spotify_refresh_token_expiry(spotify: SpotifyResource) -> dg.AssetCheckResult:
    status = spotify.refresh_token_status()
    if status is None:
        return dg.AssetCheckResult(passed=True, metadata={"state": "no user token configured"},
                                   description="No SPOTIFY_REFRESH_TOKEN: nothing expires.")
    return dg.AssetCheckResult(
        passed=not status.needs_attention,
        severity=dg.AssetCheckSeverity.WARN,
        description=status.message,
        metadata={**status.as_metadata(), "message": status.message},
    )
