"""Exceptions raised by the Spotify client. None of them ever carries a secret."""

from __future__ import annotations

from datetime import UTC, datetime


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
            f"ceiling of {ceiling_s:g} s. Retry after {self.retry_at.strftime('%Y-%m-%dT%H:%M:%SZ')} (UTC)."
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
