"""Synthetic ``listens`` tables for the report's tests and benchmark (the listens contract's columns only).

``listens_table`` builds a small table from explicit rows; ``history`` draws years of listening with gaps,
podcasts, skips of a few hundred ms, unknown durations and removed content — deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from spotify_assets.report.listens import LISTENS_COLUMNS

SCHEMA = pa.schema([pa.field(name, type_, nullable=nullable) for name, (type_, nullable) in LISTENS_COLUMNS.items()])
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """``"2020-01-06 18:30"`` (UTC) as an aware datetime."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def listen(when: str, *, ms: int | None = 200_000, kind: str = "track", artist: str | None = "Artist A",
           track: str | None = None, skipped: bool | None = False, source: str = "export") -> dict:
    """One row of the contract; ``track`` defaults to an id derived from the artist."""
    return {
        "listened_at": at(when),
        "ms_played": ms,
        "kind": kind,
        "track_id": track if track is not None else (f"{(artist or 'x')[:10]:0<22}".replace(" ", "0") if kind == "track" else None),
        "track_name": "Song" if kind == "track" else None,
        "artist_name": artist,
        "skipped": skipped,
        "source": source,
    }


def listens_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMA)


# Ten years, 2014-01-01 .. 2023-12-31, with two periods without any listening.
HISTORY_START = dt.date(2014, 1, 1)
HISTORY_END = dt.date(2023, 12, 31)
HISTORY_GAPS = ((dt.date(2016, 5, 2), dt.date(2016, 8, 28)), (dt.date(2020, 3, 1), dt.date(2020, 4, 12)))
# hour-of-day weights (UTC): quiet nights, a morning bump, an evening peak
HOUR_WEIGHTS = np.array([2, 1, 1, 1, 1, 1, 2, 5, 8, 6, 5, 5, 6, 5, 5, 6, 7, 9, 11, 12, 11, 9, 6, 4], dtype=float)


def history(n: int = 200_000, *, seed: int = 7, artists: int = 3_000, start: dt.date = HISTORY_START,
            end: dt.date = HISTORY_END, gaps=HISTORY_GAPS, skipped_known_from: dt.date = dt.date(2016, 1, 1),
            api_only_from: dt.date = dt.date(2023, 11, 1)) -> pa.Table:
    """``n`` listens between ``start`` and ``end`` (inclusive), none on the days of ``gaps``.

    Music 90 %, podcasts 7 % (their ``artist_name`` is the show: it must not count as an artist),
    audiobooks 1 %, removed content 2 % (every metadata field null). A fifth of the music is skipped
    after 200–30,000 ms, some after 0 ms; ``skipped`` is null before ``skipped_known_from`` (older exports
    do not say). Listens from ``api_only_from`` on are plays seen only through the API: ``ms_played`` null,
    ``skipped`` null, ``source`` "plays". Favourite artists drift year by year so each year has its own top list.
    """
    rng = np.random.default_rng(seed)
    all_days = np.arange(np.datetime64(start), np.datetime64(end) + 1)
    keep = np.ones(len(all_days), dtype=bool)
    for a, b in gaps:
        keep &= ~((all_days >= np.datetime64(a)) & (all_days <= np.datetime64(b)))
    days = all_days[keep]
    day = rng.choice(days, n)
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    second = rng.integers(0, 3600, n)
    when = day.astype("datetime64[s]") + (hour * 3600 + second).astype("timedelta64[s]")

    kind = rng.choice(np.array(["track", "episode", "audiobook_chapter", "unknown"]), n, p=[0.90, 0.07, 0.01, 0.02])
    music = kind == "track"
    years = when.astype("datetime64[Y]").astype(int) + 1970
    # an artist is discovered in one year and peaks then or soon after: rank by |year - peak| among the
    # artists discovered by then, Zipf-like over that rank (so new artists keep coming, tops change)
    debut = rng.integers(start.year, end.year + 1, artists)
    peak = debut + rng.integers(0, 3, artists)
    weight = 1.0 / (1 + np.arange(artists)) ** 0.9
    artist_ix = np.empty(n, dtype=np.int64)
    for year in np.unique(years):
        rows = np.flatnonzero(years == year)
        order = np.argsort(np.abs(peak - year) * 40 + np.arange(artists), kind="stable")
        p = np.empty(artists)
        p[order] = weight
        p[debut > year] = 0.0
        artist_ix[rows] = rng.choice(artists, len(rows), p=p / p.sum())
    artist_names = np.array([f"Artist {i:04d}" for i in range(artists)], dtype=object)
    shows = np.array([f"Podcast Show {i}" for i in range(20)], dtype=object)

    skip = music & (rng.random(n) < 0.2)
    ms = np.where(skip, rng.integers(0, 30_000, n), rng.integers(60_000, 320_000, n)).astype(object)
    ms[skip & (rng.random(n) < 0.1)] = 0
    skipped = np.where(skip, True, False).astype(object)
    skipped[~music | (when < np.datetime64(skipped_known_from))] = None
    api_only = when >= np.datetime64(api_only_from)
    ms[api_only & music] = None
    skipped[api_only] = None  # the API says neither how long nor whether it was skipped
    source = np.where(api_only & music, "plays", "export").astype(object)

    artist = np.where(music, artist_names[artist_ix], None).astype(object)
    episode = kind == "episode"
    artist[episode] = shows[rng.integers(0, len(shows), n)][episode]
    track_id = np.array([f"{i:022d}" for i in rng.integers(0, 50_000, n)], dtype=object)
    track_id[~music] = None
    track_name = np.where(music, "Song", None).astype(object)
    track_name[kind == "episode"] = "Episode"

    order = np.argsort(when, kind="stable")
    return pa.table(
        {
            "listened_at": pa.array(when[order].astype("datetime64[us]"), pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
            "ms_played": pa.array(ms[order], pa.int64()),
            "kind": pa.array(kind[order], pa.string()),
            "track_id": pa.array(track_id[order], pa.string()),
            "track_name": pa.array(track_name[order], pa.string()),
            "artist_name": pa.array(artist[order], pa.string()),
            "skipped": pa.array(skipped[order], pa.bool_()),
            "source": pa.array(source[order], pa.string()),
        },
        schema=SCHEMA,
    )
