"""Quota-mode detection: ``extended`` (batch look-ups, /tracks pages of 100) or ``development``."""

from __future__ import annotations

import logging

from .client import SpotifyClient

log = logging.getLogger(__name__)

# Any well-formed id works: in extended mode an unknown id just yields a ``null`` entry.
PROBE_TRACK_ID = "4uLU6hMCjMI75M1A2tKUQC"


def detect_mode(client: SpotifyClient, probe_track_id: str = PROBE_TRACK_ID,
                logger: logging.Logger | None = None) -> tuple[str, int]:
    """Return ``(mode, probe_requests)``; sets ``client.mode``.

    Configured mode wins (no request). In ``auto`` mode one batch look-up ``GET /v1/tracks?ids=<id>`` is
    made: 403/404 (the endpoint is gone for development-mode apps) means ``development``, anything else
    (200, or 400 for a bad id) means ``extended``.
    """
    logger = logger or log
    if client.mode in ("extended", "development"):
        logger.info("Spotify quota mode: %s (configured)", client.mode)
        return client.mode, 0
    resp = client.get("tracks", {"ids": probe_track_id})
    mode = "development" if resp.status in (403, 404) else "extended"
    client.mode = mode
    logger.info("Spotify quota mode: %s (auto-detected: %s answered %d)", mode, resp.request, resp.status)
    return mode, 1
