"""Tokens and the OAuth flows of accounts.spotify.com: client credentials, authorization code
(with client secret or PKCE S256) and refresh tokens. State is in memory and thread-safe.

Scopes: a token carries the scopes the user granted at the login (the ``scope`` of the ``/authorize``
request); the well-known demo refresh token carries all of :data:`ALL_SCOPES`. The user-data endpoints
that need one answer 403 "Insufficient client scope" without it, as Spotify does.

Refresh tokens follow the rules in force since 2026-07-20: a refresh answer carries no new refresh
token (the one from the login stays in use), and a refresh token stops working six calendar months
after the user authorized the app (on the emulator's clock): the token endpoint then answers
``400 {"error": "invalid_grant", ...}``.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs

from .config import EMULATOR_REFRESH_TOKEN

# Every scope the emulator knows (granted to the demo refresh token).
ALL_SCOPES = ("playlist-read-private", "playlist-read-collaborative", "user-read-private", "user-read-email",
              "user-library-read", "user-top-read", "user-read-recently-played", "user-follow-read")


@dataclass
class Token:
    user: str | None  # None for client-credentials tokens (no user context)
    client_id: str
    expires_at: float
    scopes: frozenset[str] = frozenset(ALL_SCOPES)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


REFRESH_TOKEN_LIFETIME_MONTHS = 6


def refresh_token_expiry(authorized: date) -> date:
    """The first day a refresh token authorized on ``authorized`` no longer works (day clamped to the month)."""
    index = authorized.month - 1 + REFRESH_TOKEN_LIFETIME_MONTHS
    year, month = authorized.year + index // 12, index % 12 + 1
    return authorized.replace(year=year, month=month, day=min(authorized.day, calendar.monthrange(year, month)[1]))


class AuthError(Exception):
    """An OAuth error: rendered as {"error": code, "error_description": description}."""

    def __init__(self, status: int, code: str, description: str) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description


class TokenStore:
    def __init__(self, lifetime_s: float, demo_user: str, require_id: str | None, require_secret: str | None,
                 today: Callable[[], date] = date.today, demo_refresh_authorized: date | None = None):
        self.lifetime_s = lifetime_s
        self.demo_user = demo_user
        self.require_id, self.require_secret = require_id, require_secret
        self.today = today
        self._lock = threading.Lock()
        self._tokens: dict[str, Token] = {}
        self._codes: dict[str, dict] = {}
        # refresh token -> (user, the emulator day the user authorized the app, the scopes granted)
        self._refresh: dict[str, tuple[str, date, frozenset[str]]] = {
            EMULATOR_REFRESH_TOKEN: (demo_user, demo_refresh_authorized or today(), frozenset(ALL_SCOPES))
        }

    # --------------------------------------------------------------- bearer check
    def check(self, header: str | None) -> tuple[Token | None, str | None]:
        """(token, None) if valid, else (None, Spotify's error message)."""
        if not header:
            return None, "No token provided"
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value:
            return None, "Only valid bearer authentication supported"
        with self._lock:
            tok = self._tokens.get(value.strip())
        if tok is None:
            return None, "Invalid access token"
        if time.monotonic() >= tok.expires_at:
            return None, "The access token expired"
        return tok, None

    def _issue(self, user: str | None, client_id: str, scopes: frozenset[str] = frozenset()) -> str:
        value = "BQ" + secrets.token_urlsafe(48)
        with self._lock:
            self._tokens[value] = Token(user, client_id, time.monotonic() + self.lifetime_s, scopes)
        return value

    # --------------------------------------------------------------- /authorize
    def authorize(self, params: dict[str, str]) -> str:
        """Returns the redirect Location for a valid request (no login page: the demo user consents)."""
        redirect = params.get("redirect_uri", "")
        if params.get("response_type") != "code":
            raise AuthError(400, "unsupported_response_type", "response_type must be code")
        if not params.get("client_id") or (self.require_id and params["client_id"] != self.require_id):
            raise AuthError(400, "invalid_client", "Invalid client")
        if not redirect.startswith("http://127.0.0.1:") and not redirect.startswith("http://[::1]:"):
            raise AuthError(400, "invalid_request", "INVALID_CLIENT: Invalid redirect URI")
        method = params.get("code_challenge_method")
        if params.get("code_challenge") and method not in (None, "S256"):
            raise AuthError(400, "invalid_request", "code_challenge_method must be S256")
        code = "AQ" + secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = {"client_id": params["client_id"], "redirect_uri": redirect,
                                 "challenge": params.get("code_challenge"), "expires": time.monotonic() + 600,
                                 "scopes": frozenset((params.get("scope") or "").split())}
        sep = "&" if "?" in redirect else "?"
        loc = f"{redirect}{sep}code={code}"
        if "state" in params:
            from urllib.parse import quote
            loc += f"&state={quote(params['state'])}"
        return loc

    # --------------------------------------------------------------- /api/token
    def _client(self, headers_auth: str | None, form: dict[str, str]) -> tuple[str | None, str | None]:
        if headers_auth and headers_auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(headers_auth[6:].strip()).decode().partition(":")
            except Exception as exc:
                raise AuthError(400, "invalid_client", "Invalid client") from exc
            return cid, secret
        return form.get("client_id"), form.get("client_secret")

    def _check_client(self, cid: str | None, secret: str | None, need_secret: bool) -> None:
        if not cid:
            raise AuthError(400, "invalid_client", "Invalid client")
        if self.require_id and cid != self.require_id:
            raise AuthError(400, "invalid_client", "Invalid client")
        if need_secret and not secret:
            raise AuthError(400, "invalid_client", "Invalid client secret")
        if secret is not None and self.require_secret and secret != self.require_secret:
            raise AuthError(400, "invalid_client", "Invalid client secret")

    def token(self, body: bytes, auth_header: str | None) -> dict:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        grant = form.get("grant_type")
        cid, secret = self._client(auth_header, form)
        if grant == "client_credentials":
            self._check_client(cid, secret, need_secret=True)
            return {"access_token": self._issue(None, cid), "token_type": "Bearer",
                    "expires_in": int(self.lifetime_s)}
        if grant == "authorization_code":
            with self._lock:
                info = self._codes.pop(form.get("code", ""), None)
            if info is None or time.monotonic() > info["expires"]:
                raise AuthError(400, "invalid_grant", "Invalid authorization code")
            if form.get("redirect_uri") != info["redirect_uri"]:
                raise AuthError(400, "invalid_grant", "Invalid redirect URI")
            if info["challenge"]:
                verifier = form.get("code_verifier", "")
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
                if digest != info["challenge"]:
                    raise AuthError(400, "invalid_grant", "code_verifier was incorrect")
                self._check_client(cid, secret, need_secret=False)
            else:
                self._check_client(cid, secret, need_secret=True)
            refresh = "AQ" + secrets.token_urlsafe(40)
            scopes = info["scopes"]
            with self._lock:
                self._refresh[refresh] = (self.demo_user, self.today(), scopes)
            return {"access_token": self._issue(self.demo_user, cid, scopes), "token_type": "Bearer",
                    "expires_in": int(self.lifetime_s), "refresh_token": refresh, "scope": _scope_text(scopes)}
        if grant == "refresh_token":
            self._check_client(cid, secret, need_secret=False)
            with self._lock:
                found = self._refresh.get(form.get("refresh_token", ""))
            if found is None:
                raise AuthError(400, "invalid_grant", "Invalid refresh token")
            user, authorized, scopes = found
            if self.today() >= refresh_token_expiry(authorized):
                raise AuthError(400, "invalid_grant", "Refresh token expired")
            # No "refresh_token" in the answer: refresh tokens are not rotated any more.
            return {"access_token": self._issue(user, cid or "", scopes), "token_type": "Bearer",
                    "expires_in": int(self.lifetime_s), "scope": _scope_text(scopes)}
        raise AuthError(400, "unsupported_grant_type", f"grant_type parameter is missing or unsupported: {grant}")


def _scope_text(scopes: frozenset[str]) -> str:
    """The granted scopes as the token endpoint lists them (space-separated, in a stable order)."""
    return " ".join(sorted(scopes))
