"""What the report shows, as numbers: the series behind every chart and the headline figures.

Computed once from the ``listens`` table (``compute_series``), so the charts, the HTML page and the tests
all read the same values. Definitions a reader of the report may ask about:

- **Listening time** is ``ms_played``. A listen whose duration is unknown (a play seen only through the
  API) counts as the median duration of the history's music listens longer than 30 s — the listens the
  API reports — and the report says how many were estimated. With no such listen to take the median
  from they count as nothing, and the report says that too.
- **Times** are wall-clock times in the report's time zone (UTC unless told otherwise), at the moment
  the listen ended (``listened_at``). Weeks start on Monday.
- **Artists** are music listens' ``artist_name`` (stripped; empty means unknown). Podcast episodes,
  audiobook chapters and removed content never count as artists, nor in the skip rate.
- **A new artist** in a period is one whose first listen in the whole history falls in that period; the
  share is new artists over the distinct artists heard in the period.
- **Skip rate** is skipped music listens over music listens whose ``skipped`` is known.
- **A gap** is a run of at least ``GAP_MIN_DAYS`` days without a single listen; charts shade it.
- **The weekly average** is the mean listening time of the ``AVERAGE_WEEKS`` weeks around each week
  (centred), over the weeks outside gaps: a quiet week counts, a week in a gap does not, and the line
  stops at a gap instead of sinking into it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from .listens import GROUPS, MUSIC_KIND, check_timezone, to_frame

TOP_ARTISTS = 5
GAP_MIN_DAYS = 28
AVERAGE_WEEKS = 13  # a quarter: smooths the week-to-week noise, keeps the seasons
# Histories shorter than this get weekly skip/new-artist points; longer ones monthly (weekly would be noise).
WEEKLY_TREND_BELOW_DAYS = 183
ESTIMATE_FROM_MS = 30_000  # the API reports plays longer than 30 s: estimate unknown durations from those
MS_PER_HOUR = 3_600_000
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
TREND_COLUMNS = ("music_listens", "skips_known", "skips", "skip_rate", "artists", "new_artists", "new_artist_share")


@dataclass(frozen=True)
class ArtistYear:
    """One artist's listening in one year."""

    name: str
    hours: float
    listens: int


@dataclass(frozen=True)
class ListeningSeries:
    """Every figure and series of the report (see the module docstring for the definitions)."""

    timezone: str
    listens: int = 0
    listens_by_group: dict[str, int] = field(default_factory=dict)
    hours: float = 0.0
    first_listen: dt.datetime | None = None  # in ``timezone``
    last_listen: dt.datetime | None = None
    distinct_artists: int = 0
    distinct_tracks: int = 0
    days_listened: int = 0
    unknown_duration_listens: int = 0
    estimated_ms: float | None = None  # what each unknown-duration listen counts for (None: nothing)
    # index: Monday of each week from the first to the last listen; columns: GROUPS (hours), "listens",
    # "average_hours" (the weekly average, NaN in gaps and where fewer than half its weeks exist)
    weekly: pd.DataFrame = field(default_factory=lambda: _empty_weekly())
    gaps: tuple[tuple[dt.date, dt.date], ...] = ()  # first and last day without a listen, inclusive
    heatmap: np.ndarray = field(default_factory=lambda: np.zeros((7, 24)))  # hours: [weekday Mon=0, hour]
    top_artists: dict[int, tuple[ArtistYear, ...]] = field(default_factory=dict)  # year → ranked artists
    music_hours_by_year: dict[int, float] = field(default_factory=dict)
    trend_period: str = "month"  # "week" or "month"
    # index: start of each period from the first to the last listen; columns: TREND_COLUMNS
    trend: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(TREND_COLUMNS)))

    @property
    def empty(self) -> bool:
        return self.listens == 0

    @property
    def busiest_hour(self) -> tuple[str, int] | None:
        """(weekday, hour) of the heatmap's largest cell; None without listening time."""
        if not self.heatmap.any():
            return None
        day, hour = np.unravel_index(int(np.argmax(self.heatmap)), self.heatmap.shape)
        return WEEKDAYS[day], int(hour)


def _empty_weekly() -> pd.DataFrame:
    return pd.DataFrame(columns=[*GROUPS, "listens", "average_hours"], index=pd.DatetimeIndex([], name="week"))


def _week_start(local: pd.Series) -> pd.Series:
    day = local.dt.normalize()
    return day - pd.to_timedelta(day.dt.weekday, unit="D")


def _gaps(days: pd.Series) -> tuple[tuple[dt.date, dt.date], ...]:
    """Runs of at least GAP_MIN_DAYS days without a listen between the listened ``days`` (sorted, unique)."""
    if len(days) < 2:
        return ()
    stamps = pd.DatetimeIndex(days)
    without = (stamps[1:] - stamps[:-1]).days - 1
    return tuple(
        ((stamps[i] + pd.Timedelta(days=1)).date(), (stamps[i + 1] - pd.Timedelta(days=1)).date())
        for i in np.flatnonzero(without >= GAP_MIN_DAYS)
    )


def _weekly(f: pd.DataFrame, gaps: tuple[tuple[dt.date, dt.date], ...]) -> pd.DataFrame:
    week = _week_start(f["local"])
    hours = f.pivot_table(index=week, columns="group", values="hours", aggfunc="sum", fill_value=0.0, observed=True)
    weeks = pd.date_range(week.min(), week.max(), freq="7D", name="week")
    weekly = hours.reindex(index=weeks, columns=list(GROUPS), fill_value=0.0).astype("float64")
    weekly["listens"] = week.value_counts().reindex(weeks, fill_value=0).astype("int64")
    weekly.columns.name = None
    total = weekly[list(GROUPS)].sum(axis=1)
    in_gap = np.zeros(len(weeks), dtype=bool)
    for first, last in gaps:  # weeks whose seven days all lie in the gap
        in_gap |= (weeks >= pd.Timestamp(first)) & (weeks + pd.Timedelta(days=6) <= pd.Timestamp(last))
    average = total.mask(in_gap).rolling(AVERAGE_WEEKS, center=True, min_periods=(AVERAGE_WEEKS + 1) // 2).mean()
    weekly["average_hours"] = average.mask(in_gap)
    return weekly


def _heatmap(f: pd.DataFrame) -> np.ndarray:
    grid = np.zeros((7, 24))
    np.add.at(grid, (f["local"].dt.weekday.to_numpy(), f["local"].dt.hour.to_numpy()), f["hours"].to_numpy())
    return grid


def _top_artists(music: pd.DataFrame, top_n: int) -> dict[int, tuple[ArtistYear, ...]]:
    named = music[music["artist"].notna()]
    if named.empty:
        return {}
    per = (
        named.groupby([named["local"].dt.year.rename("year"), "artist"], observed=True)
        .agg(hours=("hours", "sum"), listens=("hours", "size"))
        .reset_index()
    )
    per["artist"] = per["artist"].astype(str)  # ties go by name, not by the categories' order
    per = per.sort_values(["year", "hours", "listens", "artist"], ascending=[True, False, False, True])
    return {
        int(year): tuple(ArtistYear(r.artist, float(r.hours), int(r.listens)) for r in rows.head(top_n).itertuples())
        for year, rows in per.groupby("year", sort=True)
    }


def _trend(music: pd.DataFrame, period: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    if period == "week":
        start, periods = _week_start(music["local"]), pd.date_range(_week_start(pd.Series([first]))[0], last, freq="7D")
    else:
        start = music["local"].dt.to_period("M").dt.start_time
        periods = pd.date_range(first.to_period("M").start_time, last, freq="MS")
    periods = periods.rename("period")
    music = music.assign(period=start)
    by = music.groupby("period")
    known = music["skipped"].notna()
    trend = pd.DataFrame(index=periods)
    trend["music_listens"] = by.size().reindex(periods, fill_value=0).astype("int64")
    trend["skips_known"] = known.groupby(music["period"]).sum().reindex(periods, fill_value=0).astype("int64")
    skips = (music["skipped"] == 1.0).groupby(music["period"]).sum()
    trend["skips"] = skips.reindex(periods, fill_value=0).astype("int64")
    named = music[music["artist"].notna()]
    trend["artists"] = named.groupby("period")["artist"].nunique().reindex(periods, fill_value=0).astype("int64")
    debut = named.groupby("artist", observed=True)["period"].min()
    trend["new_artists"] = debut.value_counts().reindex(periods, fill_value=0).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        trend["skip_rate"] = np.where(trend["skips_known"] > 0, trend["skips"] / trend["skips_known"], np.nan)
        trend["new_artist_share"] = np.where(trend["artists"] > 0, trend["new_artists"] / trend["artists"], np.nan)
    return trend[list(TREND_COLUMNS)]


def compute_series(listens: pa.Table, timezone: str = "UTC", top_n: int = TOP_ARTISTS) -> ListeningSeries:
    """The report's figures and series from a ``listens`` table (any number of rows, none included)."""
    f = to_frame(listens, check_timezone(timezone))
    if f.empty:
        return ListeningSeries(timezone=timezone)

    music_long = f.loc[(f["kind"] == MUSIC_KIND) & (f["ms_played"] > ESTIMATE_FROM_MS), "ms_played"]
    estimate = float(music_long.median()) if len(music_long) else None
    unknown = int(f["ms_played"].isna().sum())
    f["hours"] = f["ms_played"].fillna(estimate if estimate is not None else 0.0) / MS_PER_HOUR

    music = f[f["kind"] == MUSIC_KIND]
    first, last = f["local"].iloc[0], f["local"].iloc[-1]
    days = f["local"].dt.normalize().drop_duplicates()
    gaps = _gaps(days)
    period = "week" if (last - first) < pd.Timedelta(days=WEEKLY_TREND_BELOW_DAYS) else "month"
    zone = f["listened_at"].dt.tz_convert(timezone)
    return ListeningSeries(
        timezone=timezone,
        listens=len(f),
        listens_by_group={g: int(n) for g, n in f["group"].value_counts().reindex(GROUPS, fill_value=0).items()},
        hours=float(f["hours"].sum()),
        first_listen=zone.iloc[0].to_pydatetime(),
        last_listen=zone.iloc[-1].to_pydatetime(),
        distinct_artists=int(music["artist"].nunique()),
        distinct_tracks=int(music["track_id"].nunique()),
        days_listened=len(days),
        unknown_duration_listens=unknown,
        estimated_ms=estimate if unknown else None,
        weekly=_weekly(f, gaps),
        gaps=gaps,
        heatmap=_heatmap(f),
        top_artists=_top_artists(music, top_n),
        music_hours_by_year={int(y): float(h) for y, h in music.groupby(music["local"].dt.year)["hours"].sum().items()},
        trend_period=period,
        trend=_trend(music, period, first, last),
    )
