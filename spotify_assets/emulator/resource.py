"""The emulator's Dagster adapter: the Spotify resource of a laptop, for which the emulator may stand in.

Real Spotify when credentials are set, else the emulator at ``api_url`` or the bundled one. Wired in by
``spotify_assets.defs.resources.spotify_resource`` for ``SPOTIFY_ASSETS_ENV=local`` only, so production's
resource (:class:`~spotify_assets.spotify.resource.SpotifyResource`) has no path to the emulator at all: it
fails before any request, naming the missing variables.
"""

from __future__ import annotations

import atexit
import logging
import threading

from ..spotify.config import SpotifyApiSettings
from ..spotify.resource import SpotifyResource
from .config import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN, EmulatorConfig
from .server import EmulatorServer, start_emulator

log = logging.getLogger(__name__)

_lock = threading.Lock()
_bundled: EmulatorServer | None = None  # one per process, started on first use


def bundled_emulator() -> EmulatorServer:
    """The bundled emulator of this process (seed 42, scale "small"), started on first use."""
    global _bundled
    with _lock:
        if _bundled is None:
            # The wall clock, not a day fixed at start: plays exist up to now, and a code server that runs
            # for days (make dev, the hourly plays) sees each new day and its plays.
            _bundled = start_emulator(EmulatorConfig(port=0, seed=42, scale="small"))
            atexit.register(_bundled.stop)
            log.warning("No Spotify credentials and no SPOTIFY_API_URL: started the bundled Spotify emulator "
                        "in-process at %s (seed 42, scale small)", _bundled.api_url)
        return _bundled


class LocalSpotifyResource(SpotifyResource):
    """Spotify Web API access on a laptop: with credentials, like production; without, the emulator at
    ``api_url`` (one the developer started) or the bundled one, with the emulator's well-known credentials."""

    def missing_credentials(self) -> list[str]:
        return []  # the emulator stands in

    def settings(self) -> SpotifyApiSettings:
        if self.has_credentials():
            return super().settings()
        if self.api_url:
            api_url = self.api_url
            accounts_url = self.accounts_url or api_url.rstrip("/").removesuffix("/v1")
        else:
            emulator = bundled_emulator()
            api_url, accounts_url = emulator.api_url, emulator.accounts_url
        return SpotifyApiSettings(client_id=EMULATOR_CLIENT_ID, client_secret=EMULATOR_CLIENT_SECRET,
                                  refresh_token=EMULATOR_REFRESH_TOKEN, api_url=api_url,
                                  accounts_url=accounts_url, **self.client_options())
