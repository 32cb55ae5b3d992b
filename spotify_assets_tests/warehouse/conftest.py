"""Warehouse fixtures: a small hand-made lake (3 daily partitions) written with pyarrow from the schemas.

The data is designed to exercise every analytics rule: popularity present (D1, D2) and absent
(development mode, D3); an artist missing on one day; a playlist that first appears on D2; local files,
episodes and a track appearing twice in one playlist; plays (a Friday, a Saturday and a Sunday) at both ends
of a UTC day, repeats, a track credited to two artists, a local file's play and plays without a context.
"""

from __future__ import annotations

import datetime as _dt
import io
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_assets.lake.publication.publish import publish
from spotify_assets.lake.publication.staging import Staging
from spotify_assets.lake.storage import Lake
from spotify_assets.tables import TABLES

D1, D2, D3 = "2024-03-01", "2024-03-02", "2024-03-03"
DAYS = (D1, D2, D3)


def write_partition(lake: Lake, table: str, dt: str, rows: list[dict], schema: pa.Schema | None = None) -> None:
    schema = schema or TABLES[table].schema
    data = pa.Table.from_pylist(rows, schema=schema)
    buf = io.BytesIO()
    pq.write_table(data, buf, compression="zstd")
    staging = Staging(lake, dt, f"fixture-{table}")
    lake.write_bytes(staging.file("transformed", table), buf.getvalue())
    publish(staging, [("transformed", table)])
    staging.discard()


def build_dataset() -> dict[str, dict[str, list[dict]]]:
    """``{table: {dt: rows}}`` for the three days."""
    genres = {"a0": ["pop", "dance pop"], "a1": ["pop"], "a2": ["rock"], "a3": ["indie", "rock"], "a4": [], "a5": ["jazz"]}
    # artist popularity / followers per day (None: development mode on D3 for popularity)
    artist_pop = {
        D1: {"a0": (80, 1000), "a1": (60, 500), "a2": (40, 300), "a3": (20, 100), "a4": (10, 50), "a5": (5, 10)},
        D2: {"a0": (82, 1100), "a1": (58, 520), "a2": (40, 290), "a3": (25, 130), "a4": (11, 50)},  # a5 missing
        D3: {"a0": (None, 1150), "a1": (None, 530), "a2": (None, 300), "a3": (None, 140), "a4": (None, 55), "a5": (None, 12)},
    }
    track_artists = {
        "t0": ["a0"], "t1": ["a0", "a1"], "t2": ["a1"], "t3": ["a2"], "t4": ["a2", "a3"],
        "t5": ["a3"], "t6": ["a4"], "t7": ["a5"], "t8": ["a0", "a2"], "t9": ["a4"],
    }
    track_pop = {
        D1: {"t0": 90, "t1": 85, "t2": 85, "t3": 50, "t4": 70, "t5": 30, "t6": 20, "t7": 10, "t8": None, "t9": 5},
        D2: {"t0": 88, "t1": 91, "t2": 80, "t3": 52, "t4": 70, "t5": 35, "t6": 22, "t7": 12, "t8": 60, "t9": 5},
        D3: dict.fromkeys(track_artists, None),
    }
    # playlist contents: list of (item_type, item_id)
    T, E, L = "track", "episode", "local"
    items = {
        D1: {
            "p0": [(T, "t0"), (T, "t1"), (T, "t2"), (T, "t0"), (L, None)],
            "p1": [(T, "t3"), (T, "t4"), (E, "e1"), (T, "t8")],
        },
        D2: {
            "p0": [(T, "t0"), (T, "t2"), (T, "t5"), (T, "t6"), (L, None)],  # +t5 +t6, -t1
            "p1": [(T, "t3"), (T, "t4"), (E, "e1"), (T, "t8")],  # unchanged
            "p2": [(T, "t7"), (T, "t9")],  # new playlist
        },
        D3: {
            "p0": [(T, "t0"), (T, "t2"), (T, "t5"), (T, "t6"), (T, "t6"), (T, "t6")],  # local removed (ignored)
            "p1": [(T, "t3"), (E, "e2"), (T, "t8"), (T, "t9"), (T, "t0")],  # -t4 -e1 +e2 +t9 +t0
            "p2": [(T, "t9")],  # -t7
        },
    }
    data: dict[str, dict[str, list[dict]]] = {t: {} for t in TABLES}
    for dt in DAYS:
        data["artists"][dt] = [
            {"artist_id": a, "name": f"Artist {a}", "popularity": p, "followers": f} for a, (p, f) in artist_pop[dt].items()
        ]
        data["artist_genres"][dt] = [{"artist_id": a, "genre": g} for a in artist_pop[dt] for g in genres[a]]
        data["tracks"][dt] = [
            {
                "track_id": t, "name": f"Track {t}", "album_id": f"al{t[1:]}", "duration_ms": 200_000, "explicit": False,
                "popularity": track_pop[dt][t], "isrc": None, "disc_number": 1, "track_number": 1,
            }
            for t in track_artists
        ]
        data["track_artists"][dt] = [
            {"track_id": t, "artist_id": a, "position": i} for t, arts in track_artists.items() for i, a in enumerate(arts)
        ]
        data["playlists"][dt] = [
            {"playlist_id": p, "name": f"Playlist {p}", "owner_id": "u", "public": True, "collaborative": False,
             "followers": 3, "snapshot_id": f"{p}-{dt}", "total_items": len(its)}
            for p, its in items[dt].items()
        ]
        data["playlist_items"][dt] = [
            {"playlist_id": p, "position": i, "item_type": ty, "item_id": iid, "added_at": None, "added_by_id": "u"}
            for p, its in items[dt].items() for i, (ty, iid) in enumerate(its)
        ]
        data["albums"][dt] = []
        data["album_artists"][dt] = []
        data["plays"][dt] = [
            {"played_at": _dt.datetime.fromisoformat(f"{dt}T{at}+00:00"), "track_id": track,
             "context_type": ctx.split(":")[1] if ctx else None, "context_uri": ctx}
            for at, track, ctx in PLAYS[dt]
        ]
    return data


# (time of day UTC, track, context uri) per day: D1 is a Friday, D2 a Saturday, D3 a Sunday.
PLAYS = {
    D1: [("08:15:00.100", "t0", "spotify:playlist:p0"), ("08:19:30.200", "t1", "spotify:playlist:p0"),
         ("18:05:00.000", "t0", None), ("23:59:59.999", "t8", "spotify:album:al8")],
    D2: [("10:00:00.000", "t0", "spotify:album:al0"), ("10:04:00.000", "t5", "spotify:album:al0"),
         ("22:30:00.000", "t5", None), ("22:34:00.000", "t2", "spotify:user:u:collection")],
    D3: [("00:00:00.000", "t9", None), ("07:00:00.000", "t6", "spotify:artist:a4"),
         ("07:04:00.000", "t0", "spotify:artist:a4"), ("19:00:00.000", "t7", "spotify:user:u:collection"),
         ("19:05:00.000", None, "spotify:user:u:collection"), ("19:09:00.000", "t4", "spotify:playlist:p1"),
         ("19:12:00.000", "t1", None)],
}


def write_dataset(lake: Lake, data: dict, tables=None) -> None:
    for table, by_day in data.items():
        if tables is not None and table not in tables:
            continue
        for dt, rows in by_day.items():
            if rows or table not in ("albums", "album_artists"):
                write_partition(lake, table, dt, rows)


@pytest.fixture(scope="module")
def dataset():
    return build_dataset()


@pytest.fixture
def local_lake(tmp_path, dataset):
    lake = Lake(str(tmp_path / "lake"))
    write_dataset(lake, dataset)
    return lake


@pytest.fixture
def duck(tmp_path, local_lake):
    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    engine = DuckDBEngine(local_lake, str(tmp_path / "db" / "spotify.duckdb"), threads=2)
    engine.refresh_tables()
    return engine


@pytest.fixture
def glue_db(aws_env):
    """A unique Glue database name (the moto server is shared by the session)."""
    return f"spotify_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def moto_api(aws_env):
    """POST helper for moto's control API (canned Athena results, state transitions)."""
    import json
    import urllib.request

    def post(path: str, payload: dict) -> None:
        req = urllib.request.Request(
            f"{aws_env}{path}", data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status in (200, 201), resp.status

    yield post
    post("/moto-api/state-manager/unset-transition", {"model_name": "athena::execution"})
