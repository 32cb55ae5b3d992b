"""The report's charts, drawn with matplotlib (Agg, no display, no pyplot state) into PNG bytes.

Every chart is 1,000 px wide at 100 dpi — the size the Dagster UI shows a Markdown image at (its
metadata dialog shows images at their natural size) and a comfortable width in the HTML page — with a
bold title, a one-line subtitle saying what is measured and in which unit, and the DejaVu Sans font
matplotlib bundles, so nothing depends on the fonts of the machine. Rendering is deterministic: the
same series give the same bytes (no timestamp or software tag in the PNG, a fixed palette).
"""

from __future__ import annotations

import io
import math
from collections import Counter
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display, no GUI toolkit

import matplotlib.dates as mdates  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402
from PIL import Image  # noqa: E402

from .formatting import hours_text, span_text  # noqa: E402
from .listens import GROUPS  # noqa: E402
from .series import AVERAGE_WEEKS, WEEKDAYS, ListeningSeries  # noqa: E402

DPI = 100
PNG_COLORS = 256
WIDTH_IN = 10.0
HEADER_IN = 0.78  # title and subtitle above the plot area
INK, MUTED, FAINT = "#1f1f1f", "#5f6368", "#e8e8e8"
GAP_SHADE = "#f1f1f1"
GROUP_COLORS = {"music": "#1db954", "podcasts": "#7e57c2", "audiobooks": "#f39c12", "other": "#b0b0b0"}
GROUP_LABELS = {"music": "music", "podcasts": "podcasts", "audiobooks": "audiobooks", "other": "removed content"}
SKIP_COLOR, NEW_COLOR = "#d1495b", "#2e86ab"
HEAT = LinearSegmentedColormap.from_list("listening", ["#f7fbf8", "#a8e6bf", "#1db954", "#0b5d2a"])
# light enough for dark names written over the bars; an artist in the top list of several years keeps
# its colour, the others are grey
ARTIST_PALETTE = (
    "#a6cee3", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffed6f", "#bebada", "#fccde5", "#80b1d3", "#e5c494",
    "#fdcdac", "#cbd5e8", "#f4cae4", "#d9d9d9", "#ffffb3", "#b3cde3", "#decbe4",
)  # no greens: green is the one-year artists' colour
ONE_YEAR_ARTIST = "#cdebd8"
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10.5,
    "text.color": INK,
    "axes.edgecolor": "#9aa0a6",
    "axes.labelcolor": INK,
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "grid.color": FAINT,
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "legend.fontsize": 9.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "path.simplify": True,
}


@dataclass(frozen=True)
class Chart:
    """One rendered chart: ``key`` names it in metadata and file names, ``alt`` describes it in words."""

    key: str
    title: str
    alt: str
    png: bytes


def _figure(height_in: float, title: str, subtitle: str, *, left: float = 0.85, right: float = 0.3,
            bottom: float = 0.55) -> Figure:
    """A figure with the title block on top and the plot area's margins in inches."""
    fig = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(fig)
    x = 0.2 / WIDTH_IN
    fig.text(x, 1 - 0.36 / height_in, title, fontsize=15, fontweight="bold", color=INK, va="baseline")
    fig.text(x, 1 - 0.62 / height_in, subtitle, fontsize=10.5, color=MUTED, va="baseline")
    fig.subplots_adjust(left=left / WIDTH_IN, right=1 - right / WIDTH_IN, bottom=bottom / height_in,
                        top=1 - HEADER_IN / height_in)
    return fig


def _legend(fig: Figure, ax, height_in: float) -> None:
    """The legend at the top right, level with the title (out of the data's and the subtitle's way)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower right", ncols=len(handles), borderaxespad=0, handlelength=1.4,
                   columnspacing=1.2, bbox_to_anchor=(1 - 0.3 / WIDTH_IN, 1 - 0.42 / height_in))


def _png(fig: Figure) -> bytes:
    """The figure as a palette PNG: a chart has few colours, and 256 of them keep the antialiased edges
    while the file is about a third of a true-colour one (it travels in Dagster metadata as base64)."""
    canvas = fig.canvas
    canvas.draw()
    image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    palette = image.quantize(colors=PNG_COLORS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", optimize=True)  # no text chunks: same series, same bytes
    return buffer.getvalue()


def _date_axis(ax, start: pd.Timestamp, end: pd.Timestamp) -> None:
    locator = mdates.AutoDateLocator(minticks=3, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(start, end)


def _shade_gaps(ax, series: ListeningSeries, start: pd.Timestamp, end: pd.Timestamp) -> None:
    """Grey bands over the periods without a single listen, labelled across or (narrow bands) upright."""
    width_px = ax.get_position().width * WIDTH_IN * DPI
    days = (end - start) / pd.Timedelta(days=1)
    for first, last in series.gaps:
        a, b = pd.Timestamp(first), pd.Timestamp(last) + pd.Timedelta(days=1)
        ax.axvspan(a, b, color=GAP_SHADE, zorder=0, linewidth=0)
        band_px = (b - a) / pd.Timedelta(days=1) / days * width_px
        if band_px >= 60:
            ax.text(a + (b - a) / 2, 0.97, "no listens", transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=8.5, color=MUTED)
        elif band_px >= 13:
            ax.text(a + (b - a) / 2, 0.97, "no listens", transform=ax.get_xaxis_transform(), ha="center",
                    va="top", fontsize=8.5, color=MUTED, rotation=90)


def weekly_chart(series: ListeningSeries) -> Chart:
    weekly = series.weekly
    span = span_text(series.first_listen, series.last_listen, months=True)
    height = 3.9
    fig = _figure(height, "Listening time per week",
                  f"hours per week (Monday to Sunday, {series.timezone}) · {span} · "
                  f"{hours_text(series.hours)} in total")
    ax = fig.add_subplot()
    start, end = weekly.index[0] - pd.Timedelta(days=7), weekly.index[-1] + pd.Timedelta(days=14)
    _shade_gaps(ax, series, start, end)
    # one filled step line per kind, stacked: crisp at any number of weeks (bars a pixel wide would
    # leave antialiasing seams), and a week without listening drops to the baseline
    edges = mdates.date2num(weekly.index.append(pd.DatetimeIndex([weekly.index[-1] + pd.Timedelta(days=7)])))
    bottom = np.zeros(len(weekly))
    for group in GROUPS:
        values = weekly[group].to_numpy()
        if values.any():
            ax.stairs(bottom + values, edges, baseline=bottom.copy(), fill=True, color=GROUP_COLORS[group],
                      label=GROUP_LABELS[group], linewidth=0)
            bottom += values
    average = weekly["average_hours"].to_numpy()
    if len(weekly) >= AVERAGE_WEEKS and not np.isnan(average).all():
        ax.plot(weekly.index + pd.Timedelta(days=3.5), average, color=INK, linewidth=1.6,
                label=f"{AVERAGE_WEEKS}-week average")
    _date_axis(ax, start, end)
    ax.set_ylabel("hours per week")
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.yaxis.grid(True)
    ax.set_axisbelow(True)
    ax.set_ylim(0, max(bottom.max() * 1.08, 0.1))
    _legend(fig, ax, height)
    busiest = weekly[list(GROUPS)].sum(axis=1)
    alt = (f"Hours listened per week, {span}; the busiest week, from "
           f"{busiest.idxmax():%Y-%m-%d}, has {hours_text(busiest.max())}"
           + (f"; {len(series.gaps)} period(s) without listening are shaded" if series.gaps else ""))
    return Chart("listening_time_per_week", "Listening time per week", alt, _png(fig))


def heatmap_chart(series: ListeningSeries) -> Chart:
    height = 3.7
    peak = series.busiest_hour
    busiest = f" · busiest: {peak[0]} {peak[1]:02d}:00–{peak[1] + 1:02d}:00" if peak else ""
    fig = _figure(height, "When you listen",
                  f"hours listened by weekday and hour of day ({series.timezone}), whole history{busiest}",
                  left=0.7, right=1.25, bottom=0.62)
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(np.arange(25), np.arange(8), series.heatmap, cmap=HEAT, vmin=0,
                         edgecolors="white", linewidth=1.5)
    ax.set_xlim(0, 24)
    ax.set_ylim(7, 0)  # Monday on top
    ax.set_yticks(np.arange(7) + 0.5, WEEKDAYS)
    ax.set_xticks(np.arange(24) + 0.5, [f"{h:02d}" for h in range(24)])
    ax.tick_params(length=0)
    ax.set_xlabel(f"hour of day ({series.timezone}), when the listen ended")
    for spine in ax.spines.values():
        spine.set_visible(False)
    top = 1 - HEADER_IN / height
    cax = fig.add_axes((1 - 1.0 / WIDTH_IN, 0.62 / height, 0.16 / WIDTH_IN, top - 0.62 / height))
    bar = fig.colorbar(mesh, cax=cax)
    bar.set_label("hours")
    bar.outline.set_visible(False)
    bar.ax.tick_params(length=0)
    alt = ("Heatmap of hours listened by weekday (rows, Monday first) and hour of day (columns)"
           + (f"; the busiest hour is {peak[0]} {peak[1]:02d}:00" if peak else ""))
    return Chart("weekday_hour_heatmap", "When you listen", alt, _png(fig))


def _artist_colors(series: ListeningSeries) -> dict[str, str]:
    """Artists in the top list of two years or more, most-years first, get a palette colour."""
    years_in_top = Counter(a.name for artists in series.top_artists.values() for a in artists)
    recurring = sorted((n for n, c in years_in_top.items() if c > 1), key=lambda n: (-years_in_top[n], n))
    return {name: ARTIST_PALETTE[i % len(ARTIST_PALETTE)] for i, name in enumerate(recurring)}


def _fit(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def top_artists_chart(series: ListeningSeries, top_n: int) -> Chart:
    years = list(series.top_artists)
    columns = min(4, len(years))
    rows = math.ceil(len(years) / columns)
    slots = max(len(artists) for artists in series.top_artists.values())  # no empty rows below a short list
    panel_in = 0.3 * slots + 0.55
    height = HEADER_IN + 0.15 + rows * panel_in
    fig = _figure(height, f"Top {top_n} artists per year",
                  f"by hours of music listened in the year ({series.timezone}) · a colour marks an artist "
                  f"in the top {top_n} of more than one year", left=0.2, right=0.2, bottom=0.12)
    grid = fig.add_gridspec(rows, columns, left=0.2 / WIDTH_IN, right=1 - 0.2 / WIDTH_IN,
                            bottom=0.12 / height, top=1 - (HEADER_IN + 0.1) / height, hspace=0.38, wspace=0.08)
    colors = _artist_colors(series)
    panel_chars = int((WIDTH_IN - 0.4) / columns * 11.5)  # ~ characters of 9.5 pt text across a panel
    for i, year in enumerate(years):
        ax = fig.add_subplot(grid[i // columns, i % columns])
        artists = series.top_artists[year]
        hours = [a.hours for a in artists]
        ax.barh(range(len(artists)), hours, height=0.8, linewidth=0,
                color=[colors.get(a.name, ONE_YEAR_ARTIST) for a in artists])
        ax.set_ylim(slots - 0.5, -0.5)
        ax.set_xlim(0, max(hours) or 1)
        for rank, artist in enumerate(artists):
            value = hours_text(artist.hours)
            ax.text(0.015, rank, _fit(artist.name, panel_chars - len(value) - 3), transform=ax.get_yaxis_transform(),
                    va="center", ha="left", fontsize=9.5, color=INK)
            ax.text(0.985, rank, value, transform=ax.get_yaxis_transform(), va="center", ha="right", fontsize=9,
                    color=MUTED)
        ax.set_title(str(year), loc="left", fontsize=11.5, fontweight="bold", pad=4)
        ax.set_title(f"{hours_text(series.music_hours_by_year.get(year, 0.0))} of music", loc="right", fontsize=9,
                     color=MUTED, pad=4)
        ax.set_axis_off()
    first, last = years[0], years[-1]
    alt = (f"Top {top_n} artists of each year from {first} to {last} by listening time; "
           + "; ".join(f"{y}: {series.top_artists[y][0].name}" for y in years))
    return Chart("top_artists_per_year", f"Top {top_n} artists per year", alt, _png(fig))


def trend_chart(series: ListeningSeries) -> Chart:
    trend = series.trend
    period = series.trend_period
    height = 3.7
    fig = _figure(height, "Skips and new artists",
                  f"per {period} ({series.timezone}) · share of music listens skipped · share of the {period}'s "
                  "artists heard for the first time")
    ax = fig.add_subplot()
    step = pd.Timedelta(days=7) if period == "week" else pd.Timedelta(days=30.44)
    start, end = trend.index[0] - step, trend.index[-1] + 2 * step
    _shade_gaps(ax, series, start, end)
    x = trend.index + step / 2  # a point in the middle of its period
    for column, color, label in (("skip_rate", SKIP_COLOR, "skip rate"), ("new_artist_share", NEW_COLOR, "new artists")):
        values = trend[column].to_numpy(dtype=float) * 100
        if np.isnan(values).all():
            label += " (not recorded)" if column == "skip_rate" else " (no artist names)"
        ax.plot(x, values, color=color, label=label, linewidth=1.6, marker="o", markersize=3 if len(x) > 60 else 4.5)
    _date_axis(ax, start, end)
    ax.set_ylim(-3, 103)
    ax.yaxis.set_major_formatter(PercentFormatter(100))
    ax.set_ylabel("share of the period")
    ax.yaxis.grid(True)
    ax.set_axisbelow(True)
    _legend(fig, ax, height)
    known = trend["skips_known"].sum()
    overall = f"{trend['skips'].sum() / known:.0%}" if known else "not recorded"
    alt = (f"Line chart per {period}: skip rate of music (overall {overall}) and share of new artists "
           f"({int(trend['new_artists'].sum())} artists in all)")
    return Chart("skips_and_new_artists", "Skips and new artists", alt, _png(fig))


def render_charts(series: ListeningSeries, top_n: int) -> tuple[Chart, ...]:
    """Every chart of a non-empty report, in reading order (a chart with nothing to draw is left out)."""
    with matplotlib.rc_context(STYLE):
        charts = [weekly_chart(series), heatmap_chart(series)]
        if series.top_artists:
            charts.append(top_artists_chart(series, top_n))
        if series.trend["music_listens"].sum():
            charts.append(trend_chart(series))
    return tuple(charts)
