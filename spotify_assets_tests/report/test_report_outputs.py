"""The report's outputs: the charts (PNG), the self-contained HTML page and the asset metadata."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
import textwrap

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from spotify_assets.defs.insights.report_metadata import CHART_PREFIX, report_metadata, summary_markdown
from spotify_assets.report import build_report
from spotify_assets.report.charts import DPI, GROUP_COLORS, WIDTH_IN
from spotify_assets_tests.report.synthetic import SCHEMA, history, listen, listens_table

CHART_KEYS = ["listening_time_per_week", "weekday_hour_heatmap", "top_artists_per_year", "skips_and_new_artists"]


@pytest.fixture(scope="module")
def ten_years():
    return build_report(history(20_000, seed=3))


@pytest.fixture(scope="module")
def one_day():
    return build_report(listens_table([
        listen("2024-05-17 08:10", ms=180_000, artist="Solo"),
        listen("2024-05-17 08:20", ms=20_000, artist="Solo", skipped=True),
        listen("2024-05-17 21:00", ms=600_000, kind="episode", artist=None),
    ]))


@pytest.fixture(scope="module")
def empty():
    return build_report(SCHEMA.empty_table())


def _image(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")).astype(int)


def _near(pixels: np.ndarray, hex_color: str, tolerance: int = 12) -> np.ndarray:
    rgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])
    return (np.abs(pixels - rgb) <= tolerance).all(axis=-1)


def _longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


@pytest.mark.parametrize("name", ["ten_years", "one_day"])
def test_every_chart_is_a_png_as_wide_as_the_ui_shows_it(name, request):
    report = request.getfixturevalue(name)
    assert [c.key for c in report.charts] == CHART_KEYS
    for chart in report.charts:
        image = Image.open(io.BytesIO(chart.png))
        assert image.size[0] == WIDTH_IN * DPI == 1000 and 150 <= image.size[1] <= 1000, (chart.key, image.size)
        assert image.mode == "P"  # a palette PNG: a third of the bytes of true colour
        assert len(chart.png) < 80_000, (chart.key, len(chart.png))
        assert chart.title and chart.alt


def test_weekly_chart_leaves_the_gaps_empty():
    """A stretch of the weekly chart without a single music-green pixel exists where the history has a gap,
    and nowhere in the same history without it."""
    with_gaps = build_report(history(6_000, seed=5)).charts[0]
    without = build_report(history(6_000, seed=5, gaps=())).charts[0]
    runs = []
    for chart in (with_gaps, without):
        pixels = _image(chart.png)
        plot = pixels[100:-60, 100:-40]  # inside the axes, away from the title and the legend
        green_columns = _near(plot, GROUP_COLORS["music"]).any(axis=0)
        runs.append(_longest_run(~green_columns))
    assert runs[0] >= 20 and runs[1] <= 2, runs


def test_rendering_is_deterministic():
    table = history(3_000, seed=9)
    first, second = build_report(table), build_report(table)
    assert [c.png for c in first.charts] == [c.png for c in second.charts]
    assert first.html == second.html


def test_html_is_self_contained_and_holds_every_chart_and_the_headline(ten_years):
    page = ten_years.html
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 may spell anything
    assert not re.search(r"https?:|//[a-z0-9]", text, re.IGNORECASE)  # no address to fetch from
    assert not re.search(r"<(script|link|iframe|object|embed)\b|@import|url\(", text, re.IGNORECASE)
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'(?:src|href)="([^"]*)"', page))
    assert "Content-Security-Policy" in page and "default-src 'none'; img-src data:" in page
    sources = re.findall(r'<img src="([^"]+)"', page)
    assert sources == [f"data:image/png;base64,{base64.b64encode(c.png).decode()}" for c in ten_years.charts]
    s = ten_years.series
    for text in (f"{s.hours:,.0f} h", f"{s.listens:,}", f"{s.distinct_artists:,}", f"{s.first_listen:%-d %b %Y}",
                 f"{s.last_listen:%-d %b %Y}", "first listen", "last listen"):
        assert text in page, text
    assert "count as" in page and "median" in page  # the estimate of unknown durations is explained
    assert "2 period(s)" in page  # the gaps are


def test_html_escapes_what_comes_from_the_data():
    hostile = '<img src=x onerror="alert(1)">'
    report = build_report(listens_table([listen("2020-02-02 12:00", artist=hostile)]))
    assert hostile not in report.html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in report.html  # in the chart's description


def test_one_day_report_writes_small_figures_in_minutes(one_day):
    assert "13 min" in one_day.html  # 800 s, not "0 hours"
    assert "17 May 2024" in one_day.html and "17 May 2024 –" not in one_day.html


def test_empty_table_gives_a_clear_nothing_to_show_report(empty):
    assert empty.empty and empty.charts == ()
    assert "Nothing to show yet" in empty.html and "<img" not in empty.html
    metadata = report_metadata(empty)
    assert list(metadata) == ["summary"]
    assert "Nothing to show yet" in metadata["summary"].value


def test_metadata_holds_the_figures_and_every_chart_as_a_markdown_image(ten_years):
    metadata = report_metadata(ten_years, html_path="s3://lake/reports/listening_report.html")
    s = ten_years.series
    assert metadata["listens"] == dg.MetadataValue.int(s.listens)
    assert metadata["artists"] == dg.MetadataValue.int(s.distinct_artists)
    assert metadata["hours_listened"].value == pytest.approx(s.hours, abs=0.05)
    assert metadata["first_listen"].value == s.first_listen.timestamp()
    assert metadata["last_listen"].value == s.last_listen.timestamp()
    assert metadata["report_html"] == dg.MetadataValue.path("s3://lake/reports/listening_report.html")
    charts = [k for k in metadata if k.startswith(CHART_PREFIX)]
    assert charts == [CHART_PREFIX + k for k in CHART_KEYS]
    for chart in ten_years.charts:
        md = metadata[CHART_PREFIX + chart.key]
        assert isinstance(md, dg.MarkdownMetadataValue)
        match = re.fullmatch(r"!\[([^\]]+)\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", md.value)
        assert match and match[1] == chart.title
        assert base64.b64decode(match[2]) == chart.png
    # short enough to be read in the metadata table without opening it
    assert len(metadata["summary"].value) < 200 and summary_markdown(ten_years).startswith(f"**{s.hours:,.0f} h**")
    # what the report adds to the event log per materialization
    total = sum(len(v.value) for v in metadata.values() if isinstance(v, dg.MarkdownMetadataValue))
    assert total < 200_000, total


def test_the_report_library_imports_no_dagster_and_draws_without_a_display(tmp_path):
    code = textwrap.dedent("""
        import sys
        from spotify_assets.report import build_report
        from spotify_assets_tests.report.synthetic import history
        report = build_report(history(500))
        import matplotlib
        print(len(report.charts), matplotlib.get_backend().lower(),
              sorted(m for m in ("dagster", "matplotlib.pyplot") if m in sys.modules))
    """)
    env = {"PATH": "/usr/bin:/bin", "MPLCONFIGDIR": str(tmp_path)}  # no DISPLAY, no backend chosen, no user config
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["4", "agg", "[]"]
