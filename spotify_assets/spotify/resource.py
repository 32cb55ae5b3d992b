"""Dagster resource around :class:`SpotifyClient` (the only module of this package importing Dagster)."""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Iterable
from datetime import date

import dagster as dg
from pydantic import Field

from .client import SpotifyClient
from .config import SPOTIFY_ACCOUNTS_URL, SPOTIFY_API_URL, SpotifyApiSettings
from .crawl import CrawlReport, CrawlSeeds, RawSink, run_crawl

log = logging.getLogger(__name__)

_emulator_lock = threading.Lock()
_emulator = None  # one in-process emulator per process


def _bundled_emulator():
    """Start (once per process) the bundled emulator: seed 42, scale "small", today's date."""
    global _emulator
    with _emulator_lock:
        if _emulator is None:
            from spotify_assets.emulator import EmulatorConfig, start_emulator

            _emulator = start_emulator(EmulatorConfig(port=0, seed=42, scale="small", today=date.today()))
            atexit.register(_emulator.stop)
            log.warning("No Spotify credentials and no SPOTIFY_API_URL: started the bundled Spotify emulator "
                        "in-process at %s (seed 42, scale small)", _emulator.api_url)
        return _emulator


class SpotifyResource(dg.ConfigurableResource):
    """Spotify Web API access (real Spotify, an emulator URL, or the bundled emulator).

    Secrets should be passed as ``dg.EnvVar("SPOTIFY_CLIENT_SECRET")`` etc. With no credentials and no
    ``api_url``, the bundled emulator is started in-process (logged). With credentials and no URL, real
    Spotify is used.
    """

    client_id: str | None = Field(default=None, description="Spotify app client id (SPOTIFY_CLIENT_ID).")
    client_secret: str | None = Field(default=None, repr=False, description="Client secret (SPOTIFY_CLIENT_SECRET).")
    refresh_token: str | None = Field(default=None, repr=False, description="User refresh token (SPOTIFY_REFRESH_TOKEN) "
                                      "from `python -m spotify_assets.spotify login`.")
    api_url: str | None = Field(default=None, description="API root, e.g. http://127.0.0.1:8000/v1/.")
    accounts_url: str | None = Field(default=None, description="Accounts service root.")
    mode: str = Field(default="auto", description="auto | extended | development")
    max_workers: int = Field(default=4)
    rate_limit_per_30s: int | None = Field(default=None, description="Client-side pacing budget.")
    retry_after_ceiling_s: float = Field(default=60.0)
    max_retries_total: int = Field(default=1000)
    timeout_s: float = Field(default=30.0)

    def settings(self) -> SpotifyApiSettings:
        has_credentials = bool(self.client_id and (self.client_secret or self.refresh_token))
        common = dict(mode=self.mode, max_workers=self.max_workers, rate_limit_per_30s=self.rate_limit_per_30s,
                      retry_after_ceiling_s=self.retry_after_ceiling_s,
                      max_retries_total=self.max_retries_total, timeout_s=self.timeout_s)
        if not has_credentials and not self.api_url:
            from spotify_assets.emulator import (
                EMULATOR_CLIENT_ID,
                EMULATOR_CLIENT_SECRET,
                EMULATOR_REFRESH_TOKEN,
            )

            emu = _bundled_emulator()
            return SpotifyApiSettings(client_id=EMULATOR_CLIENT_ID, client_secret=EMULATOR_CLIENT_SECRET,
                                      refresh_token=EMULATOR_REFRESH_TOKEN, api_url=emu.api_url,
                                      accounts_url=emu.accounts_url, **common)
        return SpotifyApiSettings(
            client_id=self.client_id, client_secret=self.client_secret, refresh_token=self.refresh_token,
            api_url=self.api_url or SPOTIFY_API_URL, accounts_url=self.accounts_url or SPOTIFY_ACCOUNTS_URL,
            **common)

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
