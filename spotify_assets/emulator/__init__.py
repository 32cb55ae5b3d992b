"""A faithful, fast, deterministic Spotify Web API emulator for offline development and tests.

    from spotify_assets.emulator import EmulatorConfig, start_emulator
    with start_emulator(EmulatorConfig(scale="tiny")) as server:
        ...  # point SPOTIFY_API_URL at server.api_url, SPOTIFY_ACCOUNTS_URL at server.accounts_url
"""

from .config import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN, EmulatorConfig
from .server import EmulatorServer, start_emulator

__all__ = [
    "EMULATOR_CLIENT_ID", "EMULATOR_CLIENT_SECRET", "EMULATOR_REFRESH_TOKEN",
    "EmulatorConfig", "EmulatorServer", "start_emulator",
]
