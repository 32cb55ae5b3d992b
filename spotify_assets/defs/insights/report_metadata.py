"""The listening report as asset metadata: the headline figures, and each chart as a Markdown image.

The Dagster UI (1.13) shows a short Markdown value in the metadata table itself and a longer one — every
chart, a base64 PNG — as a "[Show Markdown]" link on the asset's page (Overview → Metadata, and Events);
the link opens a dialog that renders the image at its natural size, 1,000 px wide. A ``data:`` URI keeps
the image in the event log with the materialization it belongs to: no file server, nothing fetched.
"""

from __future__ import annotations

import base64

import dagster as dg

from ...report import ListeningReport, notes
from ...report.formatting import hours_text, span_text

CHART_PREFIX = "chart/"


def chart_markdown(png: bytes, title: str) -> str:
    """A Markdown image holding ``png`` as a ``data:`` URI (``title`` is the alt text; brackets dropped)."""
    alt = title.replace("[", "").replace("]", "")
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"


def summary_markdown(report: ListeningReport) -> str:
    """One line a person reads in the metadata table without opening anything."""
    s = report.series
    if s.empty:
        return "**Nothing to show yet**: the listens table has no rows."
    return (f"**{hours_text(s.hours)}** in {s.listens:,} listens of {s.distinct_artists:,} artists, "
            f"{span_text(s.first_listen, s.last_listen)} ({s.timezone})")


def report_metadata(report: ListeningReport, html_path: str | None = None) -> dict[str, dg.MetadataValue]:
    """The materialization metadata of a listening report asset.

    ``html_path`` is where the asset wrote ``report.html`` (a lake URI), shown as a path. The charts are
    keyed ``chart/<chart key>``, in reading order; an empty report has the summary and no charts.
    """
    s = report.series
    metadata: dict[str, dg.MetadataValue] = {"summary": dg.MetadataValue.md(summary_markdown(report))}
    if not s.empty:
        metadata.update(
            {
                "listens": dg.MetadataValue.int(s.listens),
                "hours_listened": dg.MetadataValue.float(round(s.hours, 1)),
                "artists": dg.MetadataValue.int(s.distinct_artists),
                "first_listen": dg.MetadataValue.timestamp(s.first_listen),
                "last_listen": dg.MetadataValue.timestamp(s.last_listen),
                "timezone": dg.MetadataValue.text(s.timezone),
                "notes": dg.MetadataValue.md("\n".join(f"- {line}" for line in notes(s))),
            }
        )
    for chart in report.charts:
        metadata[CHART_PREFIX + chart.key] = dg.MetadataValue.md(chart_markdown(chart.png, chart.title))
    if html_path:
        metadata["report_html"] = dg.MetadataValue.path(html_path)
    return metadata
