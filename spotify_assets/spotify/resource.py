"""Dagster resource around :class:`SpotifyClient` (the only module of this package importing Dagster)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date

import dagster as dg
from pydantic import Field

from .client import SpotifyClient
from .config import SPOTIFY_ACCOUNTS_URL, SPOTIFY_API_URL, SpotifyApiSettings
from .crawl import CrawlReport, CrawlSeeds, RawSink, run_crawl
from .errors import SpotifyCredentialsMissingError
from .tokens import (
    DEFAULT_WARN_DAYS,
    ISSUED_AT_ENV,
    LOGIN_COMMAND,
    WARN_DAYS_ENV,
    RefreshTokenStatus,
    refresh_token_status,
)

log = logging.getLogger(__name__)

def missing_credentials(client_id: str | None, client_secret: str | None, refresh_token: str | None) -> list[str]:
    """The environment variables that are missing for real Spotify ([] when the credentials suffice)."""
    missing = [] if client_id else ["SPOTIFY_CLIENT_ID"]
    if not (client_secret or refresh_token):
        missing.append("SPOTIFY_CLIENT_SECRET (or SPOTIFY_REFRESH_TOKEN)")
    return missing


def missing_credentials_message(missing: list[str]) -> str:
    return (
        f"Spotify credentials missing: {', '.join(missing)} not set. Production (SPOTIFY_ASSETS_ENV=aws) never "
        "falls back to the bundled emulator, so nothing is crawled. Create an app in the Spotify developer "
        "dashboard (https://developer.spotify.com/dashboard), then set SPOTIFY_CLIENT_ID and "
        "SPOTIFY_CLIENT_SECRET (client credentials; list the playlists to crawl) and, for a user's own "
        f"playlists, SPOTIFY_REFRESH_TOKEN and {ISSUED_AT_ENV} from `{LOGIN_COMMAND}`."
    )


class SpotifyResource(dg.ConfigurableResource):
    """Spotify Web API access with the configured credentials (real Spotify unless ``api_url`` says otherwise).

    Secrets should be passed as ``dg.EnvVar("SPOTIFY_CLIENT_SECRET")`` etc. Without credentials a crawl
    fails before any request, naming the missing variables. (A laptop's resource, which lets the emulator
    stand in, is wired in for ``SPOTIFY_ASSETS_ENV=local`` only, outside this package.)
    """

    client_id: str | None = Field(default=None, description="Spotify app client id (SPOTIFY_CLIENT_ID).")
    client_secret: str | None = Field(default=None, repr=False, description="Client secret (SPOTIFY_CLIENT_SECRET).")
    refresh_token: str | None = Field(default=None, repr=False, description="User refresh token (SPOTIFY_REFRESH_TOKEN) "
                                      f"from `{LOGIN_COMMAND}`.")
    refresh_token_issued_at: str | None = Field(
        default=None, description=f"When the user authorized the app ({ISSUED_AT_ENV}, printed by "
        "the login helper); the refresh token expires six months later.")
    refresh_token_warn_days: int = Field(
        default=DEFAULT_WARN_DAYS, description="Warn this many days before the refresh token expires "
        f"({WARN_DAYS_ENV}).")
    api_url: str | None = Field(default=None, description="API root, e.g. http://127.0.0.1:8000/v1/.")
    accounts_url: str | None = Field(default=None, description="Accounts service root.")
    mode: str = Field(default="auto", description="auto | extended | development")
    max_workers: int = Field(default=4)
    rate_limit_per_30s: int | None = Field(default=None, description="Client-side pacing budget: requests per "
                                           "rolling 30 s (SPOTIFY_RATE_LIMIT_PER_30S); unset = no pacing.")
    retry_after_ceiling_s: float = Field(default=60.0)
    max_retries_total: int = Field(default=1000)
    timeout_s: float = Field(default=30.0)

    def missing_credentials(self) -> list[str]:
        """What is missing before a crawl can run ([] when the credentials suffice)."""
        return missing_credentials(self.client_id, self.client_secret, self.refresh_token)

    def has_credentials(self) -> bool:
        return not missing_credentials(self.client_id, self.client_secret, self.refresh_token)

    def require_credentials(self) -> None:
        """Raise :class:`SpotifyCredentialsMissingError` (naming the variables) when a crawl cannot run."""
        missing = self.missing_credentials()
        if missing:
            raise SpotifyCredentialsMissingError(missing_credentials_message(missing))

    def refresh_token_status(self, now=None) -> RefreshTokenStatus | None:
        """Expiry status of the configured user token (``None`` without one, or on the bundled emulator)."""
        if not self.refresh_token:
            return None
        return refresh_token_status(self.refresh_token_issued_at, warn_days=self.refresh_token_warn_days, now=now)

    def client_options(self) -> dict:
        """The client's settings besides where it connects and as whom."""
        return dict(mode=self.mode, max_workers=self.max_workers, rate_limit_per_30s=self.rate_limit_per_30s,
                    retry_after_ceiling_s=self.retry_after_ceiling_s, max_retries_total=self.max_retries_total,
                    timeout_s=self.timeout_s)

    def settings(self) -> SpotifyApiSettings:
        self.require_credentials()  # fail here, before any request
        return SpotifyApiSettings(
            client_id=self.client_id, client_secret=self.client_secret, refresh_token=self.refresh_token,
            api_url=self.api_url or SPOTIFY_API_URL, accounts_url=self.accounts_url or SPOTIFY_ACCOUNTS_URL,
            **self.client_options())

    def get_client(self) -> SpotifyClient:
        return SpotifyClient(self.settings())

    def crawl(self, seeds: CrawlSeeds, sink: RawSink, *, previous: Iterable[tuple[str, dict]] | None = None,
              logger: logging.Logger | None = None, today: date | None = None,
              full_copy_max_age_days: int | None = None) -> CrawlReport:
        """:func:`~.crawl.run_crawl` with a client of this resource (closed afterwards)."""
        client = self.get_client()
        try:
            return run_crawl(client, seeds, sink, previous=previous, logger=logger, today=today,
                             full_copy_max_age_days=full_copy_max_age_days)
        finally:
            client.close()
