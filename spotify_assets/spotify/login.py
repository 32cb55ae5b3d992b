"""PKCE login: obtain a refresh token for ``SPOTIFY_REFRESH_TOKEN`` without a client secret.

A local HTTP server on ``http://127.0.0.1:PORT/callback`` (Spotify requires 127.0.0.1, not localhost)
catches the authorization code; spotipy's ``SpotifyPKCE`` (memory cache, accounts URL overridable)
builds the authorize URL and exchanges the code + verifier for tokens.
"""

from __future__ import annotations

import http.server
import logging
import secrets
import threading
import webbrowser
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import spotipy
from spotipy.cache_handler import MemoryCacheHandler

from .errors import SpotifyAuthError
from .redact import install_log_redaction, register_secret

log = logging.getLogger(__name__)

# The user's playlists, saved tracks, top items and recently played tracks (a token from a login without the
# last three makes those requests answer 403: log in again).
DEFAULT_SCOPES = ("playlist-read-private", "playlist-read-collaborative", "user-library-read", "user-top-read",
                  "user-read-recently-played")


class _CallbackServer(http.server.HTTPServer):
    result: dict | None = None
    expected_state: str = ""
    done: threading.Event


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CallbackServer

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        if parts.path != "/callback":
            self.send_response(404)
            self.end_headers()
            return
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if q.get("state") != self.server.expected_state:
            self.server.result = {"error": "state mismatch"}
        else:
            self.server.result = q
        ok = "code" in self.server.result
        self.send_response(200 if ok else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        msg = "Login complete: you can close this tab." if ok else "Login failed: see the terminal."
        self.wfile.write(f"<html><body><p>{msg}</p></body></html>".encode())
        self.server.done.set()

    def log_message(self, format, *args) -> None:  # noqa: A002 - never log the code
        return


def pkce_login(client_id: str, accounts_url: str, *, port: int = 8888, scopes=DEFAULT_SCOPES,
               open_url: Callable[[str], object] | None = None, timeout_s: float = 300.0,
               announce: Callable[[str], None] = print) -> dict:
    """Run the PKCE flow and return the token info (``access_token``, ``refresh_token``, ...).

    ``open_url`` opens the authorize URL (default: the web browser; tests pass an HTTP client).
    """
    install_log_redaction()
    accounts_url = accounts_url.rstrip("/")
    server = _CallbackServer(("127.0.0.1", port), _Handler)
    server.done = threading.Event()
    server.expected_state = secrets.token_urlsafe(16)
    real_port = server.server_address[1]
    redirect_uri = f"http://127.0.0.1:{real_port}/callback"
    scope = " ".join(scopes) if not isinstance(scopes, str) else scopes
    pkce = spotipy.SpotifyPKCE(client_id=client_id, redirect_uri=redirect_uri, scope=scope,
                               state=server.expected_state, cache_handler=MemoryCacheHandler(),
                               open_browser=False)
    pkce.OAUTH_AUTHORIZE_URL = f"{accounts_url}/authorize"
    pkce.OAUTH_TOKEN_URL = f"{accounts_url}/api/token"
    pkce.get_pkce_handshake_parameters()
    url = pkce.get_authorize_url(state=server.expected_state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        announce(f"Open this URL to authorize (redirect {redirect_uri}):\n{url}")
        opener = open_url or webbrowser.open
        try:
            opener(url)
        except Exception:  # no browser: the printed URL is enough
            pass
        if not server.done.wait(timeout_s):
            raise SpotifyAuthError(f"No authorization callback on {redirect_uri} within {timeout_s:g} s.")
    finally:
        server.shutdown()
        server.server_close()
    result = server.result or {}
    if "code" not in result:
        raise SpotifyAuthError(f"Authorization failed: {result.get('error', 'no code')}")
    try:
        pkce.get_access_token(code=result["code"], check_cache=False)
    except spotipy.SpotifyOauthError as e:
        raise SpotifyAuthError(f"Code exchange failed: {e.error}: {e.error_description}") from None
    info = pkce.cache_handler.get_cached_token() or {}
    register_secret(info.get("access_token"), info.get("refresh_token"))
    if not info.get("refresh_token"):
        raise SpotifyAuthError("The token answer carried no refresh_token.")
    return info


if __name__ == "__main__":  # ``python -m spotify_assets.spotify.login …`` is ``python -m spotify_assets.spotify login …``
    import runpy
    import sys

    # run by name, not imported: the command line module imports this one, and this one is only its alias
    sys.argv[1:1] = ["login"]
    runpy.run_module("spotify_assets.spotify", run_name="__main__", alter_sys=True)
