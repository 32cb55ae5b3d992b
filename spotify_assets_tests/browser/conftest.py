"""Fixtures of the browser tests: one ``dg dev`` of the project (what ``make dev`` runs) and one Chromium page
per module."""

from __future__ import annotations

import pytest

from spotify_assets_tests.browser.dagster_dev import (
    ARTIFACTS,
    chromium_page,
    require_chromium,
    running_dagster_dev,
    shot,
)


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    require_chromium()
    with running_dagster_dev(tmp_path_factory.mktemp("ui"), ["dg", "dev"]) as ui:
        yield ui


@pytest.fixture(scope="module")
def page(dagster_ui):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    with chromium_page() as pg:
        yield pg


@pytest.fixture
def screenshot():
    return shot
