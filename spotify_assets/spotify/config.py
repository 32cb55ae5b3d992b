"""Settings for the Spotify Web API client (plain dataclass, no Dagster)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Literal

from .. import settings

SPOTIFY_API_URL = "https://api.spotify.com/v1/"
SPOTIFY_ACCOUNTS_URL = "https://accounts.spotify.com"

Mode = Literal["auto", "extended", "development"]
_SECRET_FIELDS = frozenset({"client_secret", "refresh_token"})


@dataclass(frozen=True)
class SpotifyApiSettings:
    """Everything the client needs. Secrets never appear in ``repr``/``str``.

    ``rate_limit_per_30s`` is the client-side budget over a rolling 30 s window (Spotify's own window);
    the client paces requests at ``rate_limit_headroom`` of it so a steady-state crawl never sees a 429.
    ``None`` disables client-side pacing (then only the server's 429s slow us down).
    """

    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None
    api_url: str = SPOTIFY_API_URL
    accounts_url: str = SPOTIFY_ACCOUNTS_URL
    mode: Mode = "auto"
    max_workers: int = 4
    rate_limit_per_30s: int | None = None
    rate_limit_headroom: float = 0.95
    retry_after_ceiling_s: float = 60.0
    max_retries_total: int = 1000
    max_attempts_per_request: int = 10
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "extended", "development"):
            raise ValueError(f"mode must be auto|extended|development, not {self.mode!r}")
        if self.max_workers < 1:
            raise ValueError("max_workers must be >= 1")
        if self.rate_limit_per_30s is not None and self.rate_limit_per_30s < 1:
            raise ValueError("rate_limit_per_30s must be >= 1 or None")
        if not self.api_url.endswith("/"):
            object.__setattr__(self, "api_url", self.api_url + "/")
        object.__setattr__(self, "accounts_url", self.accounts_url.rstrip("/"))

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRET_FIELDS:
                parts.append(f"{f.name}={'<redacted>' if value else None}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"SpotifyApiSettings({', '.join(parts)})"

    __str__ = __repr__

    @property
    def has_user_token(self) -> bool:
        return bool(self.refresh_token)

    def secrets(self) -> list[str]:
        """The secret values (for log redaction)."""
        return [s for s in (self.client_secret, self.refresh_token) if s]

    def with_(self, **changes) -> SpotifyApiSettings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> SpotifyApiSettings:
        """From the platform's settings (:mod:`spotify_assets.settings`; ``env`` instead of ``os.environ``):
        ``SPOTIFY_CLIENT_ID``, ``SPOTIFY_CLIENT_SECRET``, ``SPOTIFY_REFRESH_TOKEN``, ``SPOTIFY_RATE_LIMIT_PER_30S``,
        ``SPOTIFY_API_URL``, ``SPOTIFY_ACCOUNTS_URL`` (real Spotify when unset)."""
        current = settings.load(env)
        kwargs: dict = {
            "client_id": current.client_id,
            "client_secret": current.client_secret,
            "refresh_token": current.refresh_token,
            "rate_limit_per_30s": current.rate_limit_per_30s,
        }
        if current.api_url:
            kwargs["api_url"] = current.api_url
        if current.accounts_url:
            kwargs["accounts_url"] = current.accounts_url
        kwargs.update(overrides)
        return cls(**kwargs)
