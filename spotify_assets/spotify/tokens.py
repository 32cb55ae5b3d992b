"""Lifetime of Spotify user refresh tokens (no Dagster, no I/O).

Since 2026-07-20 a refresh returns no new refresh token (the one from the login stays in use), and a
refresh token stops working six calendar months after the user authorized the app: the token endpoint
then answers ``invalid_grant``. Spotify does not tell a client when a token was issued, so the time of
the login is configuration (``SPOTIFY_REFRESH_TOKEN_ISSUED_AT``, printed by the login helper) and the
platform computes the expiry from it to warn in time.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from ..settings import BY_NAME

REFRESH_TOKEN_LIFETIME_MONTHS = 6
ISSUED_AT_ENV = "SPOTIFY_REFRESH_TOKEN_ISSUED_AT"
WARN_DAYS_ENV = "SPOTIFY_REFRESH_TOKEN_WARN_DAYS"
DEFAULT_WARN_DAYS = BY_NAME[WARN_DAYS_ENV].default
LOGIN_COMMAND = "python -m spotify_assets.spotify login"


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` plus calendar months; the day is clamped to the target month (Aug 31 + 6 → Feb 28/29)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def refresh_token_expires_at(issued_at: dt.datetime) -> dt.datetime:
    return add_months(issued_at, REFRESH_TOKEN_LIFETIME_MONTHS)


def parse_issued_at(text: str) -> dt.datetime:
    """``2026-11-30`` or ``2026-11-30T08:15:00Z`` (naive values are UTC) → an aware UTC datetime."""
    value = text.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{ISSUED_AT_ENV}={value!r} is not a date or an ISO 8601 timestamp (e.g. 2026-11-30T08:15:00Z, "
            f"as printed by `{LOGIN_COMMAND}`)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def format_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RefreshTokenStatus:
    """Where a configured refresh token stands. ``state``: ``ok`` | ``expiring`` | ``expired`` | ``unknown``."""

    state: str
    message: str
    warn_days: int
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    days_left: float | None = None

    @property
    def needs_attention(self) -> bool:
        return self.state != "ok"

    def as_metadata(self) -> dict[str, object]:
        """Plain values for Dagster metadata (no secret: only dates)."""
        out: dict[str, object] = {"state": self.state, "warn_days": self.warn_days}
        if self.issued_at is not None:
            out["issued_at"] = format_utc(self.issued_at)
        if self.expires_at is not None:
            out["expires_at"] = format_utc(self.expires_at)
        if self.days_left is not None:
            out["days_left"] = round(self.days_left, 1)
        return out


def refresh_token_status(issued_at: str | None, *, warn_days: int = DEFAULT_WARN_DAYS,
                         now: dt.datetime | None = None) -> RefreshTokenStatus:
    """The status of a refresh token authorized at ``issued_at`` (the configured text), as of ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    relogin = (f"Run `{LOGIN_COMMAND}` and store the new SPOTIFY_REFRESH_TOKEN and {ISSUED_AT_ENV} "
               "it prints.")
    if not issued_at or not issued_at.strip():
        return RefreshTokenStatus(
            "unknown",
            f"SPOTIFY_REFRESH_TOKEN is set but {ISSUED_AT_ENV} is not, so its expiry (six months after the "
            f"login) cannot be tracked. Set {ISSUED_AT_ENV} to the time `{LOGIN_COMMAND}` printed.",
            warn_days,
        )
    try:
        issued = parse_issued_at(issued_at)
    except ValueError as error:
        return RefreshTokenStatus("unknown", str(error), warn_days)
    expires = refresh_token_expires_at(issued)
    days_left = (expires - now).total_seconds() / 86400
    when = f"issued {format_utc(issued)}, expires {format_utc(expires)}"
    if days_left <= 0:
        return RefreshTokenStatus("expired", f"The Spotify refresh token has expired ({when}). {relogin}",
                                  warn_days, issued, expires, days_left)
    if days_left <= warn_days:
        return RefreshTokenStatus(
            "expiring",
            f"The Spotify refresh token expires in {days_left:.1f} days ({when}). {relogin}",
            warn_days, issued, expires, days_left,
        )
    return RefreshTokenStatus("ok", f"Spotify refresh token valid for {days_left:.0f} more days ({when}).",
                              warn_days, issued, expires, days_left)
