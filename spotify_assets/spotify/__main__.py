"""``python -m spotify_assets.spotify login [--port 8888] [--scopes a,b] [--client-id ...]``

Runs the PKCE flow and prints the refresh token to store as the ``SPOTIFY_REFRESH_TOKEN`` secret.
"""

from __future__ import annotations

import argparse
import os
import sys

from .config import SPOTIFY_ACCOUNTS_URL
from .errors import SpotifyAuthError
from .login import DEFAULT_SCOPES, pkce_login


def main(argv: list[str] | None = None, open_url=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spotify_assets.spotify")
    sub = parser.add_subparsers(dest="command", required=True)
    login = sub.add_parser("login", help="PKCE login; prints a refresh token for SPOTIFY_REFRESH_TOKEN")
    login.add_argument("--port", type=int, default=8888, help="local callback port (redirect "
                       "http://127.0.0.1:PORT/callback must be registered in the Spotify app)")
    login.add_argument("--scopes", default=",".join(DEFAULT_SCOPES), help="comma-separated scopes")
    login.add_argument("--client-id", default=os.environ.get("SPOTIFY_CLIENT_ID"))
    login.add_argument("--accounts-url", default=os.environ.get("SPOTIFY_ACCOUNTS_URL") or SPOTIFY_ACCOUNTS_URL)
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
    print("Store this as the SPOTIFY_REFRESH_TOKEN secret:", file=sys.stderr)
    print(info["refresh_token"], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
