"""A one-asset code location for the browser test of the listening report's metadata.

``listening_report`` reports ten synthetic years of listening the way the project's asset will: the HTML
page into the lake (``$SPOTIFY_LAKE_URI``), the figures and charts into the materialization's metadata.
"""

import os

import dagster as dg

from spotify_assets.defs.insights.report_metadata import report_metadata
from spotify_assets.lake.storage import Lake
from spotify_assets.report import build_report
from spotify_assets_tests.report.synthetic import history

HTML_PATH = "reports/listening_report.html"


@dg.asset(kinds={"python", "html"})
def listening_report() -> dg.MaterializeResult:
    """Ten synthetic years of listening: hours per week, weekday x hour, top artists, skips and new artists."""
    report = build_report(history(20_000, seed=1))
    lake = Lake(os.environ["SPOTIFY_LAKE_URI"])
    lake.write_bytes(HTML_PATH, report.html.encode("utf-8"))
    return dg.MaterializeResult(metadata=report_metadata(report, html_path=lake.uri(HTML_PATH)))


defs = dg.Definitions(assets=[listening_report])
