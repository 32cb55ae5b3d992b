"""The listening report in the Dagster UI and in a browser, as a person sees it.

The project as ``make dev`` serves it (``dg dev``, temporary instance and lake) after an import of a small
emulator export (``python -m spotify_assets.commands.import_history``, what ``make import-history`` runs): in headless
Chromium, the page of the project's ``listening_report`` asset shows the summary in the metadata table and
each chart behind its "[Show Markdown]" link, rendered from the ``data:`` URI. The HTML page the asset wrote
is opened from disk with every request recorded: the page itself and nothing else. Screenshots go to
``test-artifacts/browser/report/``.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from spotify_assets_tests.browser.dagster_dev import (
    ARTIFACTS,
    REPO,
    chromium_page,
    require_chromium,
    running_dagster_dev,
)
from spotify_assets_tests.report.pages import CHART_KEYS

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

SHOTS = ARTIFACTS / "report"
# Two and a half years of the emulator's demo user, about 2,000 streams: every chart, imported in seconds.
NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2022, 1, 1)


@pytest.fixture(scope="module")
def report_ui(tmp_path_factory):
    require_chromium()
    from spotify_assets.emulator.export import write_export

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    base = tmp_path_factory.mktemp("report-ui")
    export = base / "my_spotify_data.zip"  # outside the lake, as a user's download
    truth = write_export(export, scale="tiny", now=NOW, first_day=FIRST_DAY, target_streams=2000)
    with running_dagster_dev(base, ["dg", "dev"], "dagster-dev-report.log") as ui:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "AWS_", "DAGSTER_"))}
        env.update(DAGSTER_HOME=str(ui.home), SPOTIFY_LAKE_URI=str(ui.lake), SPOTIFY_ASSETS_ENV="local",
                   SPOTIFY_DUCKDB_PATH=str(base / "spotify.duckdb"))
        done = subprocess.run([sys.executable, "-m", "spotify_assets.commands.import_history", str(export)],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        ui.streams = len(truth.streams)
        yield ui


@pytest.fixture(scope="module")
def report_page(report_ui):
    with chromium_page() as page:
        yield page


def _metadata(ui) -> dict[str, dict]:
    data = ui.graphql(
        '{ assetNodeOrError(assetKey: {path: ["listening_report"]}) { ... on AssetNode { groupName '
        "assetMaterializations(limit: 1) { metadataEntries { __typename label "
        "... on MarkdownMetadataEntry { mdStr } ... on PathMetadataEntry { path } "
        "... on IntMetadataEntry { intValue } } } } } }"
    )["assetNodeOrError"]
    assert data["groupName"] == "history"
    return {e["label"]: e for e in data["assetMaterializations"][0]["metadataEntries"]}


def test_the_asset_page_shows_the_summary_and_every_chart(report_ui, report_page):
    page = report_page
    entries = _metadata(report_ui)
    assert [k for k in entries if k.startswith("chart/")] == [f"chart/{k}" for k in CHART_KEYS]
    assert entries["listens"]["intValue"] == entries["dagster/row_count"]["intValue"] == report_ui.streams

    page.goto(f"{report_ui.url}/assets/listening_report", wait_until="domcontentloaded")
    # the summary is short: the metadata table shows it as it is, no click needed
    summary = page.get_by_text(re.compile(rf"in {report_ui.streams:,} listens of [\d,]+ artists"))
    summary.first.wait_for(state="visible", timeout=60_000)
    page.get_by_text("chart/listening_time_per_week").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "00-asset-page.png"), full_page=True)

    for i, key in enumerate(CHART_KEYS, start=1):
        row = page.locator("tr").filter(has=page.get_by_text(f"chart/{key}", exact=True))
        row.get_by_text("[Show Markdown]").click()
        dialog = page.get_by_role("dialog")
        image = dialog.locator("img")
        image.wait_for(state="visible")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        natural, shown = image.evaluate("img => [img.naturalWidth, img.getBoundingClientRect().width]")
        page.screenshot(path=str(SHOTS / f"{i:02d}-{key}.png"))
        assert natural == 1000 and shown >= 900, (key, natural, shown)  # drawn at (nearly) its natural size
        assert image.get_attribute("src").startswith("data:image/png;base64,")
        dialog.get_by_role("button", name="Close").click()
        dialog.wait_for(state="hidden")


def test_the_html_page_fetches_nothing_and_shows_every_chart(report_ui, report_page):
    page = report_page
    html_file = Path(_metadata(report_ui)["report_html"]["path"])
    assert html_file == report_ui.lake / "insights" / "listening_report" / "listening_report.html"
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(html_file.as_uri(), wait_until="load")
    loaded = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
    page.screenshot(path=str(SHOTS / "05-html-page.png"), full_page=True)
    assert loaded == [1000] * len(CHART_KEYS)
    assert [u for u in requests if not u.startswith("data:")] == [html_file.as_uri()]
