"""Shared helpers of the production tests (no fixtures here: they live in conftest.py)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import dagster as dg

import spotify_assets

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
SPOTIFY_VARIABLES = (
    "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN", "SPOTIFY_REFRESH_TOKEN_ISSUED_AT",
    "SPOTIFY_REFRESH_TOKEN_WARN_DAYS", "SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL", "SPOTIFY_RATE_LIMIT_PER_30S",
)


def clear_spotify_env(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("SPOTIFY_"):
            monkeypatch.delenv(name, raising=False)


def load_definitions(module_name: str = "spotify_assets._definitions_under_test") -> dg.Definitions:
    """Execute ``spotify_assets/definitions.py`` afresh (as a code server does at start) with the current
    environment, without replacing the ``spotify_assets.definitions`` other tests import."""
    path = Path(spotify_assets.__file__).parent / "definitions.py"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "spotify_assets"
    spec.loader.exec_module(module)
    return module.defs
