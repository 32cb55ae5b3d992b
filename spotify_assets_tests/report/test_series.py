"""The report's numbers, computed from synthetic listens tables and checked against a plain recount."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from spotify_assets.report import compute_series
from spotify_assets.report.series import GAP_MIN_DAYS
from spotify_assets_tests.report.synthetic import HISTORY_GAPS, SCHEMA, history, listen, listens_table

H = 3_600_000


@pytest.fixture(scope="module")
def ten_years() -> pa.Table:
    return history(20_000, seed=11)


@pytest.fixture(scope="module")
def ten_years_series(ten_years):
    return compute_series(ten_years)


def _effective_hours(rows: list[dict]) -> tuple[list[float], float | None]:
    """Each row's hours as the report defines them, recounted without pandas."""
    long_music = [r["ms_played"] for r in rows if r["kind"] == "track" and (r["ms_played"] or 0) > 30_000]
    estimate = statistics.median(long_music) if long_music else None
    return [(r["ms_played"] if r["ms_played"] is not None else (estimate or 0)) / H for r in rows], estimate


def test_ten_years_totals_and_estimate(ten_years, ten_years_series):
    s, rows = ten_years_series, ten_years.to_pylist()
    hours, estimate = _effective_hours(rows)
    unknown = sum(r["ms_played"] is None for r in rows)
    assert unknown > 100  # the history's API-only tail
    assert s.listens == len(rows) == 20_000
    assert s.unknown_duration_listens == unknown
    assert s.estimated_ms == estimate
    assert s.hours == pytest.approx(sum(hours))
    assert s.first_listen == min(r["listened_at"] for r in rows)
    assert s.last_listen == max(r["listened_at"] for r in rows)
    assert s.listens_by_group == {
        "music": sum(r["kind"] == "track" for r in rows),
        "podcasts": sum(r["kind"] == "episode" for r in rows),
        "audiobooks": sum(r["kind"] == "audiobook_chapter" for r in rows),
        "other": sum(r["kind"] == "unknown" for r in rows),
    }
    # podcast shows carry an artist_name in this history: they must not count
    assert s.distinct_artists == len({r["artist_name"] for r in rows if r["kind"] == "track" and r["artist_name"]})
    assert s.distinct_tracks == len({r["track_id"] for r in rows if r["kind"] == "track" and r["track_id"]})
    assert s.days_listened == len({r["listened_at"].date() for r in rows})


def test_ten_years_weekly_series_covers_every_week_and_shows_the_gaps(ten_years, ten_years_series):
    s, rows = ten_years_series, ten_years.to_pylist()
    weekly = s.weekly
    assert (weekly.index.weekday == 0).all()  # Mondays
    assert (np.diff(weekly.index.values) == np.timedelta64(7, "D")).all()  # no week left out
    assert weekly.index[0] == pd.Timestamp("2013-12-30") and weekly.index[-1] == pd.Timestamp("2023-12-25")
    assert len(weekly) == 522
    assert weekly["listens"].sum() == len(rows)
    assert weekly[["music", "podcasts", "audiobooks", "other"]].to_numpy().sum() == pytest.approx(s.hours)
    hours, _ = _effective_hours(rows)
    podcast_hours = sum(h for h, r in zip(hours, rows, strict=True) if r["kind"] == "episode")
    assert weekly["podcasts"].sum() == pytest.approx(podcast_hours)
    # the weeks wholly inside a gap have nothing (drawn as an empty stretch, not interpolated)
    assert s.gaps == HISTORY_GAPS
    for first, last in HISTORY_GAPS:
        inside = weekly.loc[pd.Timestamp(first) + pd.Timedelta(days=6): pd.Timestamp(last) - pd.Timedelta(days=6)]
        assert len(inside) >= 4 and (inside["listens"] == 0).all() and (inside["music"] == 0).all()
        assert inside["average_hours"].isna().all()  # the average line stops at the gap
    # the 13-week average: the mean of the weeks around, leaving out those inside a gap
    total = weekly[["music", "podcasts", "audiobooks", "other"]].sum(axis=1)
    for week in ("2018-06-04", "2016-09-05"):  # mid-history; just after the 2016 gap (its weeks left out)
        i = weekly.index.get_loc(pd.Timestamp(week))
        around = [total.iloc[j] for j in range(i - 6, i + 7) if weekly["listens"].iloc[j] > 0]
        assert weekly["average_hours"].iloc[i] == pytest.approx(sum(around) / len(around))
    assert len([j for j in range(weekly.index.get_loc(pd.Timestamp("2016-09-05")) - 6,
                                 weekly.index.get_loc(pd.Timestamp("2016-09-05")) + 7) if weekly["listens"].iloc[j] > 0]) < 13


def test_ten_years_heatmap_is_the_hours_by_weekday_and_hour(ten_years, ten_years_series):
    s, rows = ten_years_series, ten_years.to_pylist()
    hours, _ = _effective_hours(rows)
    expected = np.zeros((7, 24))
    for h, r in zip(hours, rows, strict=True):
        expected[r["listened_at"].weekday(), r["listened_at"].hour] += h
    assert s.heatmap == pytest.approx(expected)
    assert s.busiest_hour[1] == 19  # the synthetic evening peak


def test_ten_years_top_artists_per_year(ten_years, ten_years_series):
    s, rows = ten_years_series, ten_years.to_pylist()
    hours, _ = _effective_hours(rows)
    per_year: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
    for h, r in zip(hours, rows, strict=True):
        if r["kind"] == "track" and r["artist_name"]:
            cell = per_year[r["listened_at"].year][r["artist_name"]]
            cell[0] += h
            cell[1] += 1
    assert list(s.top_artists) == list(range(2014, 2024))
    for year, artists in s.top_artists.items():
        ranked = sorted(per_year[year].items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:5]
        assert [(a.name, a.listens) for a in artists] == [(name, n) for name, (_, n) in ranked]
        assert [a.hours for a in artists] == pytest.approx([h for _, (h, _) in ranked])
        assert not any(a.name.startswith("Podcast Show") for a in artists)
    music_by_year = Counter()
    for h, r in zip(hours, rows, strict=True):
        if r["kind"] == "track":
            music_by_year[r["listened_at"].year] += h
    assert s.music_hours_by_year == pytest.approx(dict(music_by_year))


def test_ten_years_skip_rate_and_new_artists_per_month(ten_years, ten_years_series):
    s, rows = ten_years_series, ten_years.to_pylist()
    trend = s.trend
    assert s.trend_period == "month"
    assert len(trend) == 120 and trend.index[0] == pd.Timestamp("2014-01-01")
    music = [r for r in rows if r["kind"] == "track"]
    month = lambda r: pd.Timestamp(r["listened_at"].strftime("%Y-%m-01"))  # noqa: E731
    debut: dict[str, pd.Timestamp] = {}
    for r in music:  # rows are in time order
        if r["artist_name"]:
            debut.setdefault(r["artist_name"], month(r))
    for period in (pd.Timestamp("2015-06-01"), pd.Timestamp("2019-02-01"), pd.Timestamp("2023-12-01")):
        in_month = [r for r in music if month(r) == period]
        known = [r for r in in_month if r["skipped"] is not None]
        artists = {r["artist_name"] for r in in_month if r["artist_name"]}
        row = trend.loc[period]
        assert row["music_listens"] == len(in_month)
        assert row["skips_known"] == len(known)
        if known:
            assert row["skip_rate"] == pytest.approx(sum(r["skipped"] for r in known) / len(known))
        else:  # 2015: this history's export did not say; 2023-12: plays seen only through the API
            assert math.isnan(row["skip_rate"])
        assert row["artists"] == len(artists)
        assert row["new_artists"] == sum(debut[a] == period for a in artists)
        assert row["new_artist_share"] == pytest.approx(row["new_artists"] / len(artists))
    assert trend["new_artists"].sum() == s.distinct_artists
    assert trend["new_artist_share"].iloc[0] == 1.0  # the history's first month: every artist is new
    assert 0.15 < trend.loc["2017-01-01":, "skip_rate"].mean() < 0.25
    # a month wholly inside a gap: no listens and no rates (a break in the lines, not a zero)
    gap_month = trend.loc[pd.Timestamp("2016-06-01")]
    assert gap_month["music_listens"] == 0 and math.isnan(gap_month["skip_rate"])
    assert math.isnan(gap_month["new_artist_share"])


def test_single_day():
    t = listens_table([
        listen("2024-05-17 08:10", ms=180_000, artist="Solo"),
        listen("2024-05-17 08:20", ms=20_000, artist="Solo", skipped=True),
        listen("2024-05-17 21:00", ms=600_000, kind="episode", artist=None),
    ])
    s = compute_series(t)
    assert s.listens == 3 and s.days_listened == 1 and s.gaps == ()
    assert s.hours == pytest.approx(800_000 / H)
    assert list(s.weekly.index) == [pd.Timestamp("2024-05-13")]
    assert s.weekly.loc["2024-05-13", "music"] == pytest.approx(200_000 / H)
    assert s.weekly.loc["2024-05-13", "podcasts"] == pytest.approx(600_000 / H)
    assert s.trend_period == "week" and len(s.trend) == 1
    assert s.trend["skip_rate"].iloc[0] == 0.5 and s.trend["new_artist_share"].iloc[0] == 1.0
    assert s.heatmap[4, 8] == pytest.approx(200_000 / H) and s.heatmap[4, 21] == pytest.approx(600_000 / H)
    assert s.heatmap.sum() == pytest.approx(s.hours)
    assert s.top_artists == {2024: (s.top_artists[2024][0],)} and s.top_artists[2024][0].name == "Solo"


@pytest.mark.parametrize("table", [SCHEMA.empty_table(), pa.table({n: pa.array([], SCHEMA.field(n).type) for n in SCHEMA.names})])
def test_empty_table_is_an_empty_series(table):
    s = compute_series(table)
    assert s.empty and s.listens == 0 and s.hours == 0 and s.first_listen is None
    assert s.weekly.empty and s.trend.empty and s.top_artists == {} and s.busiest_hour is None


def test_nulls_in_every_nullable_column():
    t = listens_table([
        listen("2021-03-01 10:00", ms=240_000, artist="Known", skipped=False),
        listen("2021-03-01 11:00", ms=120_000, artist="Known", skipped=None),
        listen("2021-03-02 12:00", ms=None, artist="Known", skipped=None, source="plays"),
        listen("2021-03-02 13:00", ms=200_000, artist=None, track=None, skipped=None),
        listen("2021-03-03 14:00", ms=90_000, kind="unknown", artist=None, track=None, skipped=None),
        {**listen("2021-03-03 15:00"), "track_name": None, "track_id": None, "artist_name": "  ", "skipped": True},
    ])
    s = compute_series(t)
    assert s.listens == 6 and s.unknown_duration_listens == 1
    assert s.estimated_ms == statistics.median([240_000, 120_000, 200_000, 200_000])
    assert s.hours == pytest.approx((240_000 + 120_000 + s.estimated_ms + 200_000 + 90_000 + 200_000) / H)
    assert s.distinct_artists == 1  # null and blank names are not an artist
    assert s.top_artists[2021][0].name == "Known" and s.top_artists[2021][0].listens == 3
    assert s.trend["skips_known"].sum() == 2 and s.trend["skip_rate"].iloc[0] == 0.5
    assert s.listens_by_group["other"] == 1


def test_only_unknown_durations_count_listens_but_no_hours():
    t = listens_table([listen(f"2025-01-0{d} 09:00", ms=None, skipped=None, source="plays") for d in range(1, 4)])
    s = compute_series(t)
    assert s.listens == 3 and s.unknown_duration_listens == 3
    assert s.estimated_ms is None and s.hours == 0
    assert s.top_artists[2025][0].listens == 3 and s.top_artists[2025][0].hours == 0
    assert math.isnan(s.trend["skip_rate"].iloc[0])


def test_episodes_never_count_as_artists():
    rows = [listen("2022-02-01 20:00", ms=3_000_000, kind="episode", artist="The Daily Show", track=None,
                   skipped=True) for _ in range(5)]
    rows += [listen("2022-02-02 20:00", ms=100_000, kind="audiobook_chapter", artist="An Author", track=None)]
    rows += [listen("2022-02-03 20:00", ms=200_000, artist="Band", skipped=False)]
    s = compute_series(listens_table(rows))
    assert s.distinct_artists == 1
    assert [a.name for a in s.top_artists[2022]] == ["Band"]
    assert s.trend["artists"].sum() == 1 and s.trend["new_artists"].sum() == 1
    assert s.trend["skip_rate"].iloc[0] == 0.0  # the skipped episodes are not music
    assert s.hours == pytest.approx((5 * 3_000_000 + 100_000 + 200_000) / H)  # but they are listening time


def test_a_year_with_one_artist():
    rows = [listen(f"2019-0{m}-10 18:00", artist="Only One") for m in range(1, 10)]
    rows += [listen("2020-01-10 18:00", artist=a) for a in ("B", "C", "C")]
    s = compute_series(listens_table(rows))
    assert [a.name for a in s.top_artists[2019]] == ["Only One"] and s.top_artists[2019][0].listens == 9
    assert [a.name for a in s.top_artists[2020]] == ["C", "B"]


def test_gap_threshold():
    def series_with_days_between(days: int):
        first = dt.datetime(2020, 1, 1, 12)
        rows = [listen(f"{first:%Y-%m-%d %H:%M}"), listen(f"{first + dt.timedelta(days=days + 1):%Y-%m-%d %H:%M}")]
        return compute_series(listens_table(rows))

    assert series_with_days_between(GAP_MIN_DAYS - 1).gaps == ()
    assert series_with_days_between(GAP_MIN_DAYS).gaps == ((dt.date(2020, 1, 2), dt.date(2020, 1, 1) + dt.timedelta(days=GAP_MIN_DAYS)),)


def test_time_zone_moves_weekday_hour_and_year():
    t = listens_table([listen("2019-12-31 23:30", ms=3_600_000, artist="New Year")])
    utc, berlin = compute_series(t), compute_series(t, timezone="Europe/Berlin")
    assert list(utc.top_artists) == [2019] and list(berlin.top_artists) == [2020]
    assert utc.heatmap[1, 23] == 1.0 and berlin.heatmap[2, 0] == 1.0  # Tue 23h UTC = Wed 00h in Berlin
    assert berlin.first_listen.isoformat() == "2020-01-01T00:30:00+01:00"
    assert list(berlin.weekly.index) == [pd.Timestamp("2019-12-30")]


def test_extra_columns_and_castable_types_are_accepted():
    t = listens_table([listen("2023-07-01 10:00", ms=100_000)])
    wider = t.append_column("platform", pa.array(["android"]))
    cast = wider.set_column(0, "listened_at", t["listened_at"].cast(pa.timestamp("ns", tz="UTC")))
    cast = cast.set_column(2, "kind", t["kind"].cast(pa.large_string()))
    assert compute_series(cast).hours == pytest.approx(100_000 / H)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop_columns(["skipped"]), "lacks column(s) skipped"),
        (lambda t: t.set_column(0, "listened_at", t["listened_at"].cast(pa.timestamp("us"))), "without a time zone"),
        (lambda t: t.set_column(0, "listened_at", pa.array([None], pa.timestamp("us", tz="UTC"))), "listened_at has 1 null"),
        (lambda t: t.set_column(1, "ms_played", pa.array([-5], pa.int64())), "ms_played has 1 negative"),
        (lambda t: t.set_column(1, "ms_played", pa.array(["long"])), "ms_played is string"),
        (lambda t: t.set_column(2, "kind", pa.array([None], pa.string())), "kind has 1 null"),
    ],
)
def test_a_table_breaking_the_contract_is_refused_naming_the_column(change, message):
    t = listens_table([listen("2023-07-01 10:00")])
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        compute_series(change(t))


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        compute_series(listens_table([listen("2023-07-01 10:00")]), timezone="Mars/Olympus")
