"""Access-token providers. Tokens live in memory only (never spotipy's ``.cache`` file).

spotipy's OAuth managers hard-code ``https://accounts.spotify.com/...`` as *class* attributes
(``OAUTH_TOKEN_URL``/``OAUTH_AUTHORIZE_URL``) but read them through ``self``, so each manager built here
gets *instance* attributes pointing at the configured accounts URL (the emulator in tests). Every
manager gets a :class:`spotipy.MemoryCacheHandler`, so nothing is written to disk.

A provider is a spotipy ``auth_manager`` (it has ``get_access_token(as_dict=False)``) and is shared by all
worker threads: ``token()`` is lock-protected, and ``refresh(stale)`` refreshes once even when several
threads report the same expired token at the same time.
"""

from __future__ import annotations

import logging
import threading
import time

import requests
import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from .config import SpotifyApiSettings
from .errors import RefreshTokenExpiredError, SpotifyAuthError
from .redact import install_log_redaction, register_client_credentials, register_secret
from .tokens import ISSUED_AT_ENV, LOGIN_COMMAND

log = logging.getLogger(__name__)

# Redirect URI spotipy insists on for SpotifyOAuth objects; only used by the interactive login.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"


def _point_at(manager, accounts_url: str):
    manager.OAUTH_TOKEN_URL = f"{accounts_url}/api/token"
    if hasattr(type(manager), "OAUTH_AUTHORIZE_URL"):
        manager.OAUTH_AUTHORIZE_URL = f"{accounts_url}/authorize"
    return manager


class TokenProvider:
    """Base: a thread-safe in-memory access token with an expiry."""

    kind = "base"

    def __init__(self, timeout_s: float = 30.0):
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._timeout_s = timeout_s
        self.refreshes = 0

    # --- to implement -------------------------------------------------------------------------
    def _fetch(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    # --- public -------------------------------------------------------------------------------
    @property
    def is_user_token(self) -> bool:
        return False

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.time() >= self._expires_at - 60:
                self._renew()
            assert self._token is not None
            return self._token

    def refresh(self, stale: str | None = None) -> str:
        """Force a new token, unless another thread already replaced ``stale``."""
        with self._lock:
            if stale is None or self._token == stale or self._token is None:
                self._renew()
            assert self._token is not None
            return self._token

    # spotipy auth_manager protocol
    def get_access_token(self, as_dict: bool = False, check_cache: bool = True):
        token = self.token()
        return {"access_token": token} if as_dict else token

    def __repr__(self) -> str:
        return f"{type(self).__name__}(token={'<redacted>' if self._token else None})"

    def _oauth_error(self, e: spotipy.SpotifyOauthError) -> SpotifyAuthError:
        return SpotifyAuthError(f"Spotify token request failed ({self.kind}): {e.error}: {e.error_description}")

    def _renew(self) -> None:
        try:
            info = self._fetch()
        except spotipy.SpotifyOauthError as e:
            raise self._oauth_error(e) from None
        except requests.RequestException as e:
            raise SpotifyAuthError(f"Spotify token request failed ({self.kind}): {type(e).__name__}") from None
        if not info or "access_token" not in info:
            raise SpotifyAuthError(f"Spotify token request failed ({self.kind}): no access_token in answer")
        register_secret(info["access_token"], info.get("refresh_token"))
        self._token = info["access_token"]
        self._expires_at = time.time() + float(info.get("expires_in", 3600))
        self.refreshes += 1
        log.debug("obtained a new %s access token (expires in %s s)", self.kind, info.get("expires_in"))


class ClientCredentialsProvider(TokenProvider):
    """Client-credentials flow (catalog data only, no ``/me``)."""

    kind = "client_credentials"

    def __init__(self, client_id: str, client_secret: str, accounts_url: str, timeout_s: float = 30.0):
        super().__init__(timeout_s)
        install_log_redaction()
        register_client_credentials(client_id, client_secret)
        self._manager = _point_at(
            spotipy.SpotifyClientCredentials(
                client_id=client_id,
                client_secret=client_secret,
                cache_handler=MemoryCacheHandler(),
                requests_timeout=timeout_s,
            ),
            accounts_url,
        )

    def _fetch(self) -> dict:
        self._manager.get_access_token(as_dict=False, check_cache=False)
        return self._manager.cache_handler.get_cached_token()


class RefreshTokenProvider(TokenProvider):
    """Authorization-code flow: trade a stored refresh token for access tokens.

    With a client secret this is the classic flow (spotipy ``SpotifyOAuth``); without, the PKCE flow
    (spotipy ``SpotifyPKCE``, client id only). Since 2026-07-20 Spotify no longer returns a new refresh
    token on refresh (the stored one stays valid until six months after the login); should an answer
    still carry one, it is kept in memory (``current_refresh_token``) for the rest of the process.
    ``invalid_grant`` (expired or revoked) raises :class:`RefreshTokenExpiredError`: only a new login helps.
    """

    kind = "refresh_token"

    def __init__(self, client_id: str, client_secret: str | None, refresh_token: str, accounts_url: str,
                 timeout_s: float = 30.0):
        super().__init__(timeout_s)
        install_log_redaction()
        register_client_credentials(client_id, client_secret)
        register_secret(refresh_token)
        self._refresh_token = refresh_token
        if client_secret:
            manager = spotipy.SpotifyOAuth(
                client_id=client_id, client_secret=client_secret, redirect_uri=DEFAULT_REDIRECT_URI,
                cache_handler=MemoryCacheHandler(), open_browser=False, requests_timeout=timeout_s,
            )
        else:
            manager = spotipy.SpotifyPKCE(
                client_id=client_id, redirect_uri=DEFAULT_REDIRECT_URI, cache_handler=MemoryCacheHandler(),
                open_browser=False, requests_timeout=timeout_s,
            )
        self._manager = _point_at(manager, accounts_url)

    @property
    def is_user_token(self) -> bool:
        return True

    @property
    def current_refresh_token(self) -> str:
        return self._refresh_token

    def _oauth_error(self, e: spotipy.SpotifyOauthError) -> SpotifyAuthError:
        if e.error == "invalid_grant":
            return RefreshTokenExpiredError(
                "Spotify rejected the refresh token (invalid_grant): it has expired (refresh tokens end six "
                "months after the user authorized the app) or was revoked. Retrying cannot help: log in again "
                f"with `{LOGIN_COMMAND}` and store the SPOTIFY_REFRESH_TOKEN and {ISSUED_AT_ENV} it prints."
            )
        return super()._oauth_error(e)

    def _fetch(self) -> dict:
        info = self._manager.refresh_access_token(self._refresh_token)
        if info and info.get("refresh_token"):
            self._refresh_token = info["refresh_token"]
        return info


class StaticTokenProvider(TokenProvider):
    """A fixed access token (tests, or a token obtained elsewhere). Cannot refresh."""

    kind = "static"

    def __init__(self, access_token: str):
        super().__init__()
        register_secret(access_token)
        self._static = access_token

    def _fetch(self) -> dict:
        return {"access_token": self._static, "expires_in": 10**9}


def make_token_provider(settings: SpotifyApiSettings) -> TokenProvider:
    """Refresh-token flow when a refresh token is set (user data, ``/me``), else client credentials."""
    if not settings.client_id:
        raise SpotifyAuthError("No Spotify client id: set SPOTIFY_CLIENT_ID (or the resource's client_id).")
    if settings.refresh_token:
        return RefreshTokenProvider(settings.client_id, settings.client_secret, settings.refresh_token,
                                    settings.accounts_url, settings.timeout_s)
    if not settings.client_secret:
        raise SpotifyAuthError(
            "No Spotify credentials: set SPOTIFY_CLIENT_SECRET (client credentials) or "
            f"SPOTIFY_REFRESH_TOKEN (run `{LOGIN_COMMAND}`)."
        )
    return ClientCredentialsProvider(settings.client_id, settings.client_secret, settings.accounts_url,
                                     settings.timeout_s)
