"""The report as one self-contained HTML page: headline figures, every chart, the notes.

Nothing is fetched when the page is opened: the charts are ``data:`` URIs, the style is inline, the fonts
are the reader's own, and a Content-Security-Policy forbids loading anything else. Every text from the
data (artist names in the charts' descriptions) is escaped.
"""

from __future__ import annotations

import base64
import html

from .charts import Chart
from .formatting import hours_text, span_text
from .series import GAP_MIN_DAYS, ListeningSeries

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { margin: 0; background: #f6f7f8; color: #1f1f1f;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 20px 40px; }
h1 { font-size: 26px; margin: 0 0 4px; }
.span { color: #5f6368; margin: 0 0 20px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin: 0 0 24px; }
.figure { background: #fff; border-radius: 8px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.figure .value { display: block; font-size: 22px; white-space: nowrap; font-weight: 700; color: #138a3e; }
.figure .label { color: #5f6368; font-size: 13px; }
figure { background: #fff; margin: 0 0 20px; padding: 8px; border-radius: 8px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
.notes { color: #5f6368; font-size: 13px; }
.nothing { background: #fff; border-radius: 8px; padding: 24px; }
"""


def headline(series: ListeningSeries) -> list[tuple[str, str]]:
    """(value, label) pairs of the page's figures, in order."""
    return [
        (hours_text(series.hours), "listened"),
        (f"{series.listens:,}", "listens"),
        (f"{series.distinct_artists:,}", "artists"),
        (f"{series.days_listened:,}", "days with listening"),
        (f"{series.first_listen:%-d %b %Y}", f"first listen, {series.first_listen:%H:%M} {series.timezone}"),
        (f"{series.last_listen:%-d %b %Y}", f"last listen, {series.last_listen:%H:%M} {series.timezone}"),
    ]


def notes(series: ListeningSeries) -> list[str]:
    """What a reader needs to know to read the figures right (estimates, exclusions, gaps)."""
    lines = []
    if series.unknown_duration_listens:
        if series.estimated_ms is not None:
            lines.append(
                f"{series.unknown_duration_listens:,} listens without a known duration (plays seen only through "
                f"the API) count as {series.estimated_ms / 60_000:.1f} min each, the median of the music "
                "listens longer than 30 s."
            )
        else:
            lines.append(
                f"{series.unknown_duration_listens:,} listens without a known duration (plays seen only through "
                "the API) count in the listens but not in the hours: no listen with a known duration to "
                "estimate from."
            )
    by_group = series.listens_by_group
    others = ", ".join(f"{by_group[g]:,} {label}" for g, label in
                       (("podcasts", "podcast episodes"), ("audiobooks", "audiobook chapters"),
                        ("other", "of removed content")) if by_group.get(g))
    if others:
        lines.append(f"Of the listens, {by_group.get('music', 0):,} are music and {others}: those count in the "
                     "hours, never as artists nor in the skip rate.")
    music, skips_known = by_group.get("music", 0), int(series.trend["skips_known"].sum())
    if music > skips_known:
        lines.append(f"{music - skips_known:,} music listens do not say whether they were skipped (older exports "
                     "and plays seen only through the API); the skip rate counts the others.")
    if series.gaps:
        lines.append(f"{len(series.gaps)} period(s) of {GAP_MIN_DAYS} days or more without a single listen are "
                     "shaded in the charts.")
    lines.append(f"Times are in {series.timezone}, at the end of each listen; weeks start on Monday.")
    return lines


def _img(chart: Chart) -> str:
    data = base64.b64encode(chart.png).decode("ascii")
    return (f'<figure id="{chart.key}"><img src="data:image/png;base64,{data}" alt="{html.escape(chart.alt)}" '
            f'width="1000"></figure>')


def render_html(series: ListeningSeries, charts: tuple[Chart, ...], title: str = "Listening report") -> str:
    """The whole page as a string (UTF-8 when written)."""
    head = (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body><main>"
            f"<h1>{html.escape(title)}</h1>")
    if series.empty:
        return (head + '<div class="nothing"><p><strong>Nothing to show yet:</strong> the listens table has no '
                "rows. Import a Spotify data export or let the hourly plays run, then build the report again."
                "</p></div></main></body></html>\n")
    figures = "".join(f'<div class="figure"><span class="value">{html.escape(v)}</span>'
                      f'<span class="label">{html.escape(label)}</span></div>' for v, label in headline(series))
    span = span_text(series.first_listen, series.last_listen)
    body = (f'<p class="span">{html.escape(span)}</p><section class="figures">{figures}</section>'
            + "".join(_img(c) for c in charts)
            + '<section class="notes">' + "".join(f"<p>{html.escape(n)}</p>" for n in notes(series)) + "</section>")
    return head + body + "</main></body></html>\n"
