"""Emulator configuration and the well-known demo credentials."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# Well-known credentials: any client id/secret is accepted unless the config pins them, and this
# refresh token always belongs to the emulator's demo user (so /v1/me/* works with no account).
EMULATOR_CLIENT_ID = "emulator-client-id"
EMULATOR_CLIENT_SECRET = "emulator-client-secret"
EMULATOR_REFRESH_TOKEN = "emulator-demo-refresh-token"


@dataclass
class EmulatorConfig:
    port: int = 0
    seed: int = 42
    scale: str = "tiny"  # tiny | small | large
    mode: str = "extended"  # extended | development
    latency_ms: float = 0.0
    fault_rate: float = 0.0
    rate_limit: int | None = None  # max requests per rolling 30 s window; None = unlimited
    token_lifetime_s: float = 3600
    today: date | None = None  # catalog clock; None = UTC today at each request
    # The full clock (UTC) when plays matter: only plays up to it exist. Sets today too. None: today's date
    # (above) at the wall clock's time of day.
    now: datetime | None = None
    # The day the demo user authorized the app for EMULATOR_REFRESH_TOKEN (it stops working six months
    # later on the emulator's clock); None = the emulator's day at start.
    demo_refresh_token_authorized: date | None = None
    require_client_id: str | None = None  # None = accept any credentials
    require_client_secret: str | None = None
    host: str = "127.0.0.1"
    # Development mode only: also send external_ids, label, linked_from and album_group, which sources
    # disagree on (shapes.DEV_DISPUTED_FIELDS); by default they are left out.
    dev_keep_disputed_fields: bool = False
