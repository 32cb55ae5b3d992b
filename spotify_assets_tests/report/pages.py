"""What every test of a written report page checks: it loads nothing, and which charts it holds."""

from __future__ import annotations

import re

CHART_KEYS = ("listening_time_per_week", "weekday_hour_heatmap", "top_artists_per_year", "skips_and_new_artists")


def assert_self_contained(page: str) -> None:
    """One whole HTML page that fetches nothing: no address (http(s) or protocol-relative) anywhere outside
    its embedded images, no script, link, frame or style import, every src/href a ``data:`` PNG."""
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>"), page[:100] + page[-100:]
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)  # base64 may spell anything
    assert not re.search(r"https?:|//[a-z0-9]", text, re.IGNORECASE)
    assert not re.search(r"<(script|link|iframe|object|embed)\b|@import|url\(", text, re.IGNORECASE)
    assert all(src.startswith("data:image/png;base64,") for src in re.findall(r'(?:src|href)="([^"]*)"', page))


def charts_in(page: str) -> list[str]:
    """The keys of the charts the page shows as embedded PNGs, in order."""
    return re.findall(r'<figure id="([a-z_]+)"><img src="data:image/png;base64,', page)
