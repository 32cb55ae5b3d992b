"""Keep credentials out of logs.

spotipy logs the token request headers (``Authorization: Basic base64(id:secret)``) and bodies
(refresh tokens, code verifiers) and the API call headers (``Bearer ...``) at DEBUG; urllib3/requests log
URLs. :func:`install_log_redaction` attaches a :class:`RedactingFilter` to those loggers (filters on a
logger only see records created by that exact logger, so each one is listed) and to this package's
loggers. The filter rewrites the formatted message, masking known secret values (registered with
:func:`register_secret`) and anything that looks like a bearer/basic header or a token field.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
MASK = "<redacted>"

_PATTERNS = [
    re.compile(r"(?i)(Bearer|Basic)\s+[A-Za-z0-9+/=._~-]+"),
    re.compile(
        r"""(?ix)(\b['"]?(?:access_token|refresh_token|client_secret|code_verifier|code|authorization|id_token)['"]?
        \s*[:=]\s*['"]?)([^'",&\s}]+)"""
    ),
]

LOGGERS = (
    "spotipy",
    "spotipy.client",
    "spotipy.oauth2",
    "spotipy.util",
    "spotipy.cache_handler",
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.util.retry",
    "requests",
    "spotify_assets.spotify",
    "spotify_assets.spotify.auth",
    "spotify_assets.spotify.client",
    "spotify_assets.spotify.crawl",
    "spotify_assets.spotify.mode",
    "spotify_assets.spotify.accounting",
    "spotify_assets.spotify.login",
    "spotify_assets.spotify.resource",
)


def register_secret(*values: str | None) -> None:
    """Remember secret values (and their base64 forms inside Basic headers are covered by pattern)."""
    with _lock:
        for v in values:
            if v and len(v) >= 4:
                _secrets.add(v)


def register_client_credentials(client_id: str | None, client_secret: str | None) -> None:
    register_secret(client_secret)
    if client_id and client_secret:
        register_secret(base64.b64encode(f"{client_id}:{client_secret}".encode()).decode())


def redact(text: str) -> str:
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in text:
            text = text.replace(s, MASK)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error handling
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_FILTER = RedactingFilter()
_installed = False


def install_log_redaction(extra_loggers: tuple[str, ...] = ()) -> None:
    """Idempotent."""
    global _installed
    with _lock:
        names = LOGGERS + tuple(extra_loggers)
        if _installed and not extra_loggers:
            return
        for name in names:
            lg = logging.getLogger(name)
            if _FILTER not in lg.filters:
                lg.addFilter(_FILTER)
        _installed = True
