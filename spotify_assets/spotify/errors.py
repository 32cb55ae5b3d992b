"""Exceptions raised by the Spotify client (none of them ever carries a secret), and what a log line says
of an error answer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from .tokens import LOGIN_COMMAND, format_utc

# The scope each user-data endpoint needs (a token from an older login may lack it: Spotify answers 403).
SCOPE_OF = {"top_tracks": "user-top-read", "top_artists": "user-top-read", "saved_tracks": "user-library-read",
            "plays": "user-read-recently-played"}
LOGIN_HINT = f"log in again (`{LOGIN_COMMAND}`) to grant it"


def error_message(body: Any) -> str | None:
    """Spotify's error message in a response body (``{"error": {"message": …}}``, at most 200 characters),
    or None when it holds none."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])[:200]
    return None


class SpotifyError(Exception):
    """Base class."""


class SpotifyAuthError(SpotifyError):
    """Token could not be obtained/refreshed, or the API still answers 401 after a refresh."""


class SpotifyCredentialsMissingError(SpotifyAuthError):
    """No Spotify credentials where the bundled emulator must not stand in (production)."""


class RefreshTokenExpiredError(SpotifyAuthError):
    """The accounts service answered ``invalid_grant`` to a refresh: the user must log in again.

    Refresh tokens end six months after the user authorized the app (and can be revoked), so retrying
    can never help.
    """


class RateLimitedError(SpotifyError):
    """The API asked us to wait longer than ``retry_after_ceiling_s``: re-run after ``retry_at``.

    Records fetched so far were handed to the sink; whether they are kept is the sink owner's to say
    (the raw asset discards them and says so).
    """

    def __init__(self, request: str, retry_after_s: float, ceiling_s: float, retry_at: datetime | None = None):
        self.request = request
        self.retry_after_s = retry_after_s
        self.ceiling_s = ceiling_s
        self.retry_at = retry_at or datetime.fromtimestamp(
            datetime.now(UTC).timestamp() + retry_after_s, UTC
        )
        self.report = None  # set by run_crawl: the partial CrawlReport
        super().__init__(
            f"Spotify rate limit: {request} answered 429 with Retry-After {retry_after_s:g} s, above the "
            f"ceiling of {ceiling_s:g} s. Retry after {format_utc(self.retry_at)} (UTC)."
        )


class RetryBudgetExhaustedError(SpotifyError):
    """The crawl-wide retry budget (``max_retries_total``) or a request's attempt limit is spent."""

    def __init__(self, message: str):
        self.report = None
        super().__init__(message)


class SpotifyRequestError(SpotifyError):
    """A request failed for good (e.g. unexpected status that is not data)."""

    def __init__(self, request: str, status: int | None, message: str):
        self.request = request
        self.status = status
        self.report = None
        super().__init__(f"{request}: status {status}: {message}")
