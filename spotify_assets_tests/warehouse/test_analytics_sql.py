"""Analytics SQL semantics on DuckDB, checked against results computed independently in Python."""

from __future__ import annotations

import datetime as dt
import re

import pyarrow.parquet as pq
import pytest
import sqlglot

from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.sql import ANALYTICS, load_sql, materialize_analytics, render_analytics, run_analytics
from spotify_assets.sql.analytics import render, to_engine_sql
from spotify_assets.warehouse.engine import QueryResult

D1, D2, D3 = "2024-03-01", "2024-03-02", "2024-03-03"


# -- independent Python implementations --------------------------------------------------------------------
def expected_top_tracks(data, day, top_n):
    appearances: dict[str, int] = {}
    for it in data["playlist_items"][day]:
        if it["item_type"] == "track" and it["item_id"]:
            appearances[it["item_id"]] = appearances.get(it["item_id"], 0) + 1
    tracks = data["tracks"][day]
    with_pop = sorted(
        (t for t in tracks if t["popularity"] is not None),
        key=lambda t: (-t["popularity"], -appearances.get(t["track_id"], 0), t["track_id"]),
    )
    without = sorted(
        (t for t in tracks if t["popularity"] is None),
        key=lambda t: (-appearances.get(t["track_id"], 0), t["track_id"]),
    )
    ranked = (with_pop + without)[:top_n]
    return [
        (i + 1, t["track_id"], t["popularity"], appearances.get(t["track_id"], 0),
         "popularity" if t["popularity"] is not None else "playlist_appearances")
        for i, t in enumerate(ranked)
    ]


def expected_trend(data, day, days):
    start = (dt.date.fromisoformat(day) - dt.timedelta(days=days - 1)).isoformat()
    out = []
    history: dict[str, list] = {}
    for d in sorted(data["artists"]):
        if start <= d <= day:
            for a in data["artists"][d]:
                history.setdefault(a["artist_id"], []).append((d, a["popularity"], a["followers"]))
    for artist, snaps in sorted(history.items()):
        prev = None
        for d, pop, fol in snaps:
            def diff(cur, old):
                return None if cur is None or old is None else cur - old
            out.append((artist, d, prev[0] if prev else None, pop, diff(pop, prev[1]) if prev else None,
                        fol, diff(fol, prev[2]) if prev else None))
            prev = (d, pop, fol)
    return out


def expected_genre_share(data, day):
    artists = {a["artist_id"] for a in data["artists"][day]}
    genres_of: dict[str, set] = {}
    for g in data["artist_genres"][day]:
        genres_of.setdefault(g["artist_id"], set()).add(g["genre"])
    artists_of: dict[str, list] = {}
    for ta in data["track_artists"][day]:
        artists_of.setdefault(ta["track_id"], []).append(ta["artist_id"])
    items = [i for i in data["playlist_items"][day] if i["item_type"] == "track" and i["item_id"]]
    result = {}
    all_genres = {g for gs in genres_of.values() for g in gs}
    for genre in all_genres:
        n_art = sum(1 for a, gs in genres_of.items() if genre in gs)
        n_items = sum(1 for i in items if any(genre in genres_of.get(a, ()) for a in artists_of.get(i["item_id"], [])))
        result[genre] = (n_art, n_art / len(artists), n_items, n_items / len(items))
    return result


def expected_churn(data, day):
    def ids(d, p):
        return {i["item_id"] for i in data["playlist_items"][d] if i["playlist_id"] == p and i["item_id"]}

    out = {}
    for p in sorted({pl["playlist_id"] for pl in data["playlists"][day]}):
        earlier = [d for d in data["playlists"] if d < day and any(pl["playlist_id"] == p for pl in data["playlists"][d])]
        cur = ids(day, p)
        if not earlier:
            out[p] = (None, len(cur), None, None, None)
            continue
        prev_dt = max(earlier)
        prev = ids(prev_dt, p)
        out[p] = (prev_dt, len(cur), len(prev), len(cur - prev), len(prev - cur))
    return out


def _rounded(row: tuple) -> tuple:
    return tuple(round(v, 9) if isinstance(v, float) else v for v in row)


def _window(data, table, day, days):
    start = (dt.date.fromisoformat(day) - dt.timedelta(days=days - 1)).isoformat()
    return [(d, r) for d in sorted(data[table]) if start <= d <= day for r in data[table][d]]


def expected_listening_by_hour(data, day, days):
    durations = {(d, t["track_id"]): t["duration_ms"] for d in data["tracks"] for t in data["tracks"][d]}
    plays = _window(data, "plays", day, days)
    cells: dict[tuple[int, int], list] = {}
    for d, p in plays:
        cells.setdefault((p["played_at"].isoweekday(), p["played_at"].hour), []).append((d, p))
    out = {}
    for (weekday, hour), ps in cells.items():
        ms = sum(durations.get((d, p["track_id"]), 0) for d, p in ps)
        out[(weekday, hour)] = (len(ps), len({p["track_id"] for _, p in ps if p["track_id"]}), ms / 60000,
                                len(ps) / len(plays))
    return out


def expected_top_artists(data, day, top_n):
    out = []
    for window in (7, 30):
        plays = _window(data, "plays", day, window)
        credits = {(d, ta["track_id"]): [] for d in data["track_artists"] for ta in data["track_artists"][d]}
        for d in data["track_artists"]:
            for ta in data["track_artists"][d]:
                credits[(d, ta["track_id"])].append(ta["artist_id"])
        counts, tracks, last = {}, {}, {}
        for d, p in plays:
            for a in credits.get((d, p["track_id"]), []):
                counts[a] = counts.get(a, 0) + 1
                tracks.setdefault(a, set()).add(p["track_id"])
                last[a] = max(last.get(a, p["played_at"]), p["played_at"])
        names = {a["artist_id"]: a["name"] for _, a in _window(data, "artists", day, 30)}  # latest day wins
        ranked = sorted(counts, key=lambda a: (-counts[a], -last[a].timestamp(), a))[:top_n]
        out += [(window, i + 1, a, names.get(a), counts[a], len(tracks[a]), counts[a] / len(plays))
                for i, a in enumerate(ranked)]
    return out


def expected_discoveries(data, day, lookback):
    start = (dt.date.fromisoformat(day) - dt.timedelta(days=lookback)).isoformat()
    earlier = {p["track_id"] for d in data["plays"] if start <= d < day for p in data["plays"][d]}
    names = {t["track_id"]: t["name"] for t in data["tracks"][day]}
    today: dict[str, list] = {}
    for p in data["plays"][day]:
        if p["track_id"]:
            today.setdefault(p["track_id"], []).append(p)
    out = []
    for track, ps in today.items():
        if track not in earlier:
            first = min(ps, key=lambda p: p["played_at"])
            out.append((track, names.get(track), first["played_at"], len(ps), first["context_type"], first["context_uri"]))
    return sorted(out, key=lambda r: (r[2], r[0]))


# -- tests ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("day", [D1, D2, D3])
def test_daily_top_tracks(duck, dataset, day):
    got = run_analytics(duck, "daily_top_tracks", day, top_n=6).table.to_pylist()
    assert [(r["track_rank"], r["track_id"], r["popularity"], r["playlist_appearances"], r["ranked_by"]) for r in got] == (
        expected_top_tracks(dataset, day, 6)
    )
    assert {r["dt"] for r in got} == {day}


def test_top_tracks_development_mode_ranks_by_appearances(duck, dataset):
    got = run_analytics(duck, "daily_top_tracks", D3, top_n=3).table.to_pylist()
    assert all(r["popularity"] is None and r["ranked_by"] == "playlist_appearances" for r in got)
    assert [r["track_id"] for r in got] == ["t6", "t0", "t9"]  # 3 appearances, then 2 and 2 (id order)


def test_top_tracks_mixed_null_popularity_ranks_last(duck, dataset):
    got = run_analytics(duck, "daily_top_tracks", D1, top_n=10).table.to_pylist()
    assert got[-1]["track_id"] == "t8" and got[-1]["popularity"] is None
    assert [r["track_id"] for r in got[:3]] == ["t0", "t1", "t2"]  # 90, then 85/85 broken by appearances


@pytest.mark.parametrize("days", [2, 3])
def test_artist_trend(duck, dataset, days):
    got = run_analytics(duck, "artist_trend", D3, days=days).table.to_pylist()
    rows = [(r["artist_id"], r["snapshot_dt"], r["previous_snapshot_dt"], r["popularity"], r["popularity_change"],
             r["followers"], r["followers_change"]) for r in got]
    assert sorted(rows, key=lambda r: (r[0], r[1])) == expected_trend(dataset, D3, days)
    assert {r["dt"] for r in got} == {D3}


@pytest.mark.parametrize("day", [D1, D2, D3])
def test_genre_share(duck, dataset, day):
    got = {r["genre"]: r for r in run_analytics(duck, "genre_share", day).table.to_pylist()}
    want = expected_genre_share(dataset, day)
    assert set(got) == set(want)
    for genre, (n_art, art_share, n_items, item_share) in want.items():
        r = got[genre]
        assert (r["artist_count"], r["track_appearances"]) == (n_art, n_items), genre
        assert r["artist_share"] == pytest.approx(art_share) and r["track_appearance_share"] == pytest.approx(item_share)
        assert r["dt"] == day


@pytest.mark.parametrize("day", [D1, D2, D3])
def test_playlist_churn(duck, dataset, day):
    got = run_analytics(duck, "playlist_churn", day).table.to_pylist()
    assert {
        r["playlist_id"]: (r["previous_dt"], r["item_count"], r["previous_item_count"], r["items_added"], r["items_removed"])
        for r in got
    } == expected_churn(dataset, day)


def test_playlist_churn_known_values(duck):
    got = {r["playlist_id"]: r for r in run_analytics(duck, "playlist_churn", D2).table.to_pylist()}
    assert (got["p0"]["items_added"], got["p0"]["items_removed"]) == (2, 1)  # +t5 +t6, -t1
    assert (got["p1"]["items_added"], got["p1"]["items_removed"]) == (0, 0)
    assert got["p2"]["previous_dt"] is None and got["p2"]["items_added"] is None  # first snapshot


def test_churn_lookback_window_excludes_old_snapshots(duck):
    # A 1-day look-back still reaches the previous day; D1 is outside the window and never compared.
    got = run_analytics(duck, "playlist_churn", D3, lookback_days=1).table.to_pylist()
    assert all(r["previous_dt"] == D2 for r in got)


def test_every_result_has_dt_last(duck):
    for name in ANALYTICS:
        table = run_analytics(duck, name, D2).table
        assert table.column_names[-1] == "dt", name
        assert table.schema.field("dt").type == "string"


def test_materialize_locally_is_idempotent(duck, local_lake):
    first = materialize_analytics(duck, "daily_top_tracks", D2, lake=local_lake, top_n=5)
    again = materialize_analytics(duck, "daily_top_tracks", D2, lake=local_lake, top_n=5)
    materialize_analytics(duck, "daily_top_tracks", D1, lake=local_lake, top_n=5)
    assert first.row_count == again.row_count == 5
    assert first.location == again.location and again.publish_action == "unchanged"  # same data, same version
    files = local_lake.list_files("analytics/daily_top_tracks")
    assert [f.path for f in files] == [
        published_file(local_lake, "analytics", "daily_top_tracks", D1),
        published_file(local_lake, "analytics", "daily_top_tracks", D2),
    ]
    assert "dt" not in pq.read_schema(local_lake.uri(files[0].path)).names  # the path carries dt
    counts = duck.query("SELECT dt, count(*) AS n FROM daily_top_tracks GROUP BY dt ORDER BY dt").table.to_pylist()
    assert counts == [{"dt": D1, "n": 5}, {"dt": D2, "n": 5}]


def test_rendering_validates_parameters():
    with pytest.raises(ValueError):
        render_analytics("daily_top_tracks", "2024-03-01'; DROP TABLE tracks; --")
    with pytest.raises(ValueError):
        render_analytics("daily_top_tracks", D1, top_n="10; DROP")
    with pytest.raises(KeyError):
        render("SELECT {{ missing }}")
    with pytest.raises(KeyError):
        load_sql("nope")


class RecordingEngine:
    """A Trino-dialect engine that records what it is asked to run (stands in for Athena)."""

    name = "athena"
    dialect = "trino"

    def __init__(self):
        self.submitted: list[str] = []

    def query(self, sql, *, params=None):
        import pyarrow as pa

        self.submitted.append(sql)
        return QueryResult(table=pa.table({}), query_id=f"q{len(self.submitted)}", sql=sql)

    def refresh_tables(self, partitions=None):
        pass

    def close(self):
        pass


@pytest.mark.parametrize("name", ANALYTICS)
def test_athena_gets_the_source_text_modulo_parameters(name):
    engine = RecordingEngine()
    run_analytics(engine, name, D2)
    (submitted,) = engine.submitted
    source = load_sql(name)
    # Replacing every {{ placeholder }} by a regex for a literal must match the submitted text exactly.
    literal = r"(?:'\d{4}-\d{2}-\d{2}'|\d+)"
    pattern = literal.join(re.escape(part) for part in re.split(r"\{\{\s*[a-z_]+\s*\}\}", source))
    assert re.fullmatch(pattern, submitted, flags=re.S)
    assert submitted == render_analytics(name, D2)
    sqlglot.parse_one(submitted, read="trino")  # valid Trino
    assert to_engine_sql(submitted, engine) == submitted


def test_churn_without_previous_snapshot_in_window(tmp_path, dataset):
    from spotify_assets.lake.storage import Lake
    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    lake = Lake(str(tmp_path / "lake"))
    import importlib.util
    import pathlib

    spec = importlib.util.spec_from_file_location("wh_conftest", pathlib.Path(__file__).with_name("conftest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.write_dataset(lake, {t: {d: v[d] for d in (D1, D3) if d in v} for t, v in dataset.items()})  # D2 missing
    engine = DuckDBEngine(lake, str(tmp_path / "x.duckdb"))
    got = {r["playlist_id"]: r for r in run_analytics(engine, "playlist_churn", D3, lookback_days=1).table.to_pylist()}
    assert all(r["previous_dt"] is None and r["items_added"] is None for r in got.values())
    got = {r["playlist_id"]: r for r in run_analytics(engine, "playlist_churn", D3).table.to_pylist()}
    assert got["p0"]["previous_dt"] == D1 and got["p2"]["previous_dt"] is None


@pytest.mark.parametrize("day,days", [(D1, 28), (D3, 28), (D3, 2)])
def test_listening_by_hour(duck, dataset, day, days):
    got = run_analytics(duck, "listening_by_hour", day, days=days).table.to_pylist()
    want = expected_listening_by_hour(dataset, day, days)
    assert {(r["weekday"], r["hour"]): _rounded((r["plays"], r["distinct_tracks"], r["track_minutes"], r["share_of_plays"]))
            for r in got} == {k: _rounded(v) for k, v in want.items()}
    assert [(r["weekday"], r["hour"]) for r in got] == sorted(want)  # ordered by weekday, hour
    assert all(r["window_days"] == days and r["dt"] == day for r in got)
    names = {r["weekday"]: r["weekday_name"] for r in got}
    assert {5: "Friday", 6: "Saturday", 7: "Sunday"}.items() >= names.items()


def test_listening_by_hour_known_values(duck):
    got = {(r["weekday"], r["hour"]): r for r in run_analytics(duck, "listening_by_hour", D3).table.to_pylist()}
    # Friday 08:00 UTC: t0 and t1 (200 000 ms each); 23:59:59.999 is still Friday 23:00; Sunday 00:00.000 is Sunday
    assert (got[(5, 8)]["plays"], got[(5, 8)]["track_minutes"]) == (2, pytest.approx(400_000 / 60000))
    assert got[(5, 23)]["plays"] == 1 and got[(7, 0)]["plays"] == 1
    # Sunday 19:00: t7, t4, t1 and a local file (no track: counted as a play, not as a track, no minutes)
    assert (got[(7, 19)]["plays"], got[(7, 19)]["distinct_tracks"]) == (4, 3)
    assert got[(7, 19)]["track_minutes"] == pytest.approx(3 * 200_000 / 60000)
    assert sum(r["plays"] for r in got.values()) == 15 and sum(r["share_of_plays"] for r in got.values()) == pytest.approx(1)


@pytest.mark.parametrize("day", [D1, D2, D3])
def test_top_artists_by_plays(duck, dataset, day):
    got = run_analytics(duck, "top_artists_by_plays", day, top_n=3).table.to_pylist()
    rows = [(r["window_days"], r["artist_rank"], r["artist_id"], r["name"], r["plays"], r["distinct_tracks"],
             r["share_of_plays"]) for r in got]
    assert [_rounded(r) for r in rows] == [_rounded(r) for r in expected_top_artists(dataset, day, 3)]
    assert {r["dt"] for r in got} == {day}


def test_top_artists_by_plays_known_values(duck):
    got = run_analytics(duck, "top_artists_by_plays", D3).table.to_pylist()
    week = [(r["artist_rank"], r["artist_id"], r["plays"]) for r in got if r["window_days"] == 7]
    # a0: t0 x4, t1 x2, t8 = 7 plays; a1 (t1 x2, t2) and a3 (t5 x2, t4) 3 each: a1 played last (19:12 on D3);
    # a2 (t8, t4) and a4 (t9, t6) 2 each: a2 played last (19:09); a5 once
    assert [(a, n) for _, a, n in week] == [("a0", 7), ("a1", 3), ("a3", 3), ("a2", 2), ("a4", 2), ("a5", 1)]
    # a5 is missing from D2's artists: its name comes from the latest day it appears on
    assert {r["artist_id"]: r["name"] for r in got}["a5"] == "Artist a5"
    assert [r["window_days"] for r in got] == [7] * 6 + [30] * 6  # the 30-day window holds the same three days


@pytest.mark.parametrize("day", [D1, D2, D3])
@pytest.mark.parametrize("lookback", [1, 90])
def test_discoveries(duck, dataset, day, lookback):
    got = run_analytics(duck, "discoveries", day, lookback_days=lookback).table.to_pylist()
    rows = [(r["track_id"], r["name"], r["first_played_at"], r["plays"], r["first_context_type"],
             r["first_context_uri"]) for r in got]
    assert rows == expected_discoveries(dataset, day, lookback)


def test_discoveries_known_values(duck):
    assert [r["track_id"] for r in run_analytics(duck, "discoveries", D1).table.to_pylist()] == ["t0", "t1", "t8"]
    d2 = run_analytics(duck, "discoveries", D2).table.to_pylist()
    assert [(r["track_id"], r["plays"], r["first_context_type"]) for r in d2] == [("t5", 2, "album"), ("t2", 1, "user")]
    # t1 was played two days before D3: a discovery with a one-day look-back, not with the default 90 days
    short = run_analytics(duck, "discoveries", D3, lookback_days=1).table.to_pylist()
    assert [r["track_id"] for r in short] == ["t9", "t6", "t7", "t4", "t1"]
    assert [r["track_id"] for r in run_analytics(duck, "discoveries", D3).table.to_pylist()] == ["t9", "t6", "t7", "t4"]


def test_analytics_inputs_are_the_tables_the_sql_reads():
    """Each spec's ``reads`` (the lineage the UI draws) names exactly the lake tables its query reads."""
    from spotify_assets.tables import ANALYTICS_QUERIES, TABLES

    for name in ANALYTICS:
        tree = sqlglot.parse_one(render_analytics(name, D2), read="trino")
        ctes = {c.alias for c in tree.find_all(sqlglot.exp.CTE)}
        read = {t.name for t in tree.find_all(sqlglot.exp.Table)} - ctes
        assert read <= set(TABLES), name
        assert read == set(ANALYTICS_QUERIES[name].reads), name
