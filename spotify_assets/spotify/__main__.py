"""``python -m spotify_assets.spotify login [--port 8888] [--scopes a,b] [--client-id ...]``

Runs the PKCE flow and prints the refresh token (alone on stdout, so it can be piped into a secret
store) to store as the ``SPOTIFY_REFRESH_TOKEN`` secret, plus, on stderr, when it was issued and when it
expires: Spotify does not report either later, and the token stops working six months after this login.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from .. import settings
from .config import SPOTIFY_ACCOUNTS_URL
from .errors import SpotifyAuthError
from .login import DEFAULT_SCOPES, pkce_login
from .tokens import DEFAULT_WARN_DAYS, ISSUED_AT_ENV, WARN_DAYS_ENV, format_utc, refresh_token_expires_at


def storage_instructions(issued_at: dt.datetime) -> str:
    expires = refresh_token_expires_at(issued_at)
    return (
        f"Refresh token issued {format_utc(issued_at)}; it expires {format_utc(expires)} (six months after this "
        "login; Spotify no longer hands out a new one on refresh).\n"
        "Store both values:\n"
        "  SPOTIFY_REFRESH_TOKEN = the line printed on stdout - a secret: your secret store (AWS Secrets Manager "
        "for the ECS deployment), never a file in the repository\n"
        f"  {ISSUED_AT_ENV}={format_utc(issued_at)} - not secret: a plain environment variable\n"
        f"The platform warns {DEFAULT_WARN_DAYS} days before the expiry ({WARN_DAYS_ENV}); log in "
        "again before then."
    )


def main(argv: list[str] | None = None, open_url=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spotify_assets.spotify")
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="PKCE login; prints a refresh token for SPOTIFY_REFRESH_TOKEN")
    login.add_argument("--port", type=int, default=8888, help="local callback port (redirect "
                       "http://127.0.0.1:PORT/callback must be registered in the Spotify app)")
    login.add_argument("--scopes", default=",".join(DEFAULT_SCOPES), help="comma-separated scopes")
    current = settings.load()
    login.add_argument("--client-id", default=current.client_id)
    login.add_argument("--accounts-url", default=current.accounts_url or SPOTIFY_ACCOUNTS_URL)
    login.add_argument("--timeout", type=float, default=300.0)
    login.add_argument("--no-browser", action="store_true", help="only print the URL")
    args = parser.parse_args(argv)
    if not args.client_id:
        parser.error("--client-id or SPOTIFY_CLIENT_ID is required")
    opener = open_url if open_url is not None else ((lambda url: None) if args.no_browser else None)
    try:
        info = pkce_login(args.client_id, args.accounts_url, port=args.port,
                          scopes=[s for s in args.scopes.split(",") if s], open_url=opener,
                          timeout_s=args.timeout, announce=lambda m: print(m, file=sys.stderr, flush=True))
    except SpotifyAuthError as e:
        print(f"login failed: {e}", file=sys.stderr)
        return 1
    issued_at = dt.datetime.now(dt.UTC).replace(microsecond=0)  # the authorization just happened
    print(storage_instructions(issued_at), file=sys.stderr, flush=True)
    print(info["refresh_token"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
