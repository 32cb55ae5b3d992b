"""The listening report: charts and a self-contained HTML page from the ``listens`` table.

A pure library (no Dagster): ``build_report(listens)`` computes the series (``series.py``), draws the
charts (``charts.py``, matplotlib) and the page (``page.py``). The Dagster side turns a report into asset
metadata (``defs/insights/report_metadata.py``).

    from spotify_assets.report import build_report
    report = build_report(listens_table, timezone="Europe/Berlin")
    report.charts[0].png      # PNG bytes
    report.html               # one page, nothing fetched when opened
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from .charts import Chart, render_charts
from .page import headline, notes, render_html
from .series import TOP_ARTISTS, ListeningSeries, compute_series

__all__ = ["Chart", "ListeningReport", "ListeningSeries", "build_report", "compute_series", "headline", "notes"]


@dataclass(frozen=True)
class ListeningReport:
    """The series, the charts (empty when there are no listens) and the HTML page of one report."""

    series: ListeningSeries
    charts: tuple[Chart, ...]
    html: str

    @property
    def empty(self) -> bool:
        return self.series.empty


def build_report(listens: pa.Table, timezone: str = "UTC", top_n: int = TOP_ARTISTS) -> ListeningReport:
    """The report of a ``listens`` table (the listens contract's columns; more are ignored).

    ``timezone`` (IANA name) is where the weekday, the hour, weeks, months and years are counted;
    ``top_n`` is how many artists each year shows. An empty table gives a report that says so and has no
    charts; a table breaking the contract raises ``ValueError`` naming the column.
    """
    series = compute_series(listens, timezone, top_n)
    charts = () if series.empty else render_charts(series, top_n)
    return ListeningReport(series=series, charts=charts, html=render_html(series, charts))
