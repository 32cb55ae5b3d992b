"""The listening data end to end against the emulator, in both quota modes: raw_plays and the crawl's user data
→ the four listening tables (checks pass) → catalog → the listening analytics; raw_plays on its own."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import dagster as dg
import pytest

from spotify_assets.defs.analytics.assets import analytics_tables
from spotify_assets.defs.catalog.assets import catalog_tables
from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.defs.raw.spotify_plays import raw_plays
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.parquet import read_table_partitions
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.tables import LISTENING_TABLES
from spotify_assets.warehouse.resources import WarehouseResource
from spotify_assets_tests.emulation import running_emulator, spotify_for

NOW = dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)
DAY = NOW.date().isoformat()


@pytest.fixture(params=["extended", "development"])
def server(request):
    with running_emulator(mode=request.param, now=NOW) as s:
        yield s


def test_listening_tables_and_analytics_through_the_whole_graph(server, tmp_path):
    lake_resource = LakeResource(root_uri=str(tmp_path / "lake"))
    warehouse = WarehouseResource(env="local", lake=lake_resource, duckdb_path=str(tmp_path / "w.duckdb"))
    defs = dg.Definitions(
        assets=[raw_spotify, raw_plays, transformed_tables, catalog_tables, analytics_tables],
        jobs=[dg.define_asset_job("everything", selection=dg.AssetSelection.all(), partitions_def=daily_partitions)],
        resources={"lake": lake_resource, "lake_io_manager": LakeIOManager(lake=lake_resource),
                   "spotify": spotify_for(server), "warehouse": warehouse},
    )
    result = defs.resolve_job_def("everything").execute_in_process(
        partition_key=DAY, raise_on_error=False,
        run_config={"ops": {"raw_spotify": {"config": {"allow_past_partition": True}}}})
    assert result.success
    assert [e for e in result.get_asset_check_evaluations() if not e.passed] == []

    # raw_plays: the first run takes the 50 plays Spotify remembers, each in the folder of its day
    plays_events = [e.materialization for e in result.get_asset_materialization_events()
                    if e.materialization.asset_key == dg.AssetKey("raw_plays")]
    landed = {m.partition: m.metadata["dagster/row_count"].value for m in plays_events}
    assert landed == {"2026-11-22": 18, "2026-11-23": 18, DAY: 14}

    rows = {m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
            for m in result.asset_materializations_for_node("transformed_tables")}
    # exact, from the deterministic history: 14 plays by 13:05, the top 50 tracks of each range, the 15 artists
    # of the tiny catalog in each range, 124 saved tracks
    assert {t: rows[t] for t in LISTENING_TABLES} == {"plays": 14, "top_tracks": 150, "top_artists": 45,
                                                      "saved_tracks": 124}
    lake = Lake(str(tmp_path / "lake"))
    plays = read_table_partitions(lake, "plays", [DAY])
    model = [p for p in server.app.listening.plays_on(NOW.date().toordinal())
             if p.at_ms <= NOW.timestamp() * 1000]
    assert [int(t.timestamp() * 1000) for t in plays["played_at"].to_pylist()] == [p.at_ms for p in model]
    assert plays["track_id"].to_pylist() == [server.music.id("track", p.track) for p in model]
    # the listening tracks are in the day's catalog tables, with their albums and artists (the checks say so too)
    tracks = set(read_table_partitions(lake, "tracks", [DAY])["track_id"].to_pylist())
    saved = read_table_partitions(lake, "saved_tracks", [DAY])
    assert set(plays["track_id"].to_pylist()) | set(saved["track_id"].to_pylist()) <= tracks
    popularity = read_table_partitions(lake, "tracks", [DAY])["popularity"]
    assert (popularity.null_count == len(popularity)) == (server.config.mode == "development")

    engine = warehouse.query_engine()
    try:
        by_hour = engine.query(f"SELECT hour, plays FROM listening_by_hour WHERE dt = '{DAY}' AND weekday = 2 "
                               "ORDER BY hour").to_pylist()
        top = engine.query(f"SELECT artist_rank, artist_id, plays FROM top_artists_by_plays WHERE dt = '{DAY}' "
                           "AND window_days = 7 ORDER BY artist_rank").to_pylist()
        discoveries = engine.query(f"SELECT count(*) AS n FROM discoveries WHERE dt = '{DAY}'").to_pylist()
    finally:
        engine.close()
    hours = Counter(dt.datetime.fromtimestamp(p.at_ms / 1000, dt.UTC).hour for p in model)
    assert {(r["hour"], r["plays"]) for r in by_hour} == set(hours.items())  # 2026-11-24 is a Tuesday
    credited = Counter(a for p in model for a in server.music.track(p.track, 0)["artists"])
    assert top[0]["plays"] == max(credited.values()) and len(top) == min(20, len(credited))
    # only this day's plays are published (the plays landed in the two days before were never transformed)
    assert discoveries == [{"n": len({p.track for p in model})}]


def test_raw_plays_reports_every_day_it_landed_in_and_skips_without_a_user_token(tmp_path):
    lake = LakeResource(root_uri=str(tmp_path / "lake"))
    with running_emulator(now=dt.datetime(2026, 11, 21, 23, 3, tzinfo=dt.UTC)) as server:
        first = dg.materialize([raw_plays], partition_key="2026-11-21", resources={"lake": lake, "spotify": spotify_for(server)})
        server.set_now(dt.datetime(2026, 11, 22, 12, 30, tzinfo=dt.UTC))
        second = dg.materialize([raw_plays], partition_key="2026-11-22", resources={"lake": lake, "spotify": spotify_for(server)})
        without_user = dg.materialize([raw_plays], partition_key="2026-11-22",
                                      resources={"lake": lake, "spotify": spotify_for(server, refresh_token=None)})

    def reported(result):
        return {e.materialization.partition: {k: v.value for k, v in e.materialization.metadata.items()}
                for e in result.get_asset_materialization_events()}

    # Friday's last 14 plays and Saturday's 36 up to 23:03 (a run for the 21st reports the 20th too)
    assert {d: m["dagster/row_count"] for d, m in reported(first).items()} == {"2026-11-20": 14, "2026-11-21": 36}
    # just after midnight's run: Saturday's last two plays and Sunday's first two, each day reported
    after_midnight = reported(second)
    assert {d: m["dagster/row_count"] for d, m in after_midnight.items()} == {"2026-11-21": 2, "2026-11-22": 2}
    assert after_midnight["2026-11-22"]["plays/fetched"] == 4 and after_midnight["2026-11-22"]["plays/status"] == "ok"
    assert after_midnight["2026-11-21"]["path"].endswith(".jsonl.gz")
    skipped = reported(without_user)["2026-11-22"]
    assert skipped["dagster/row_count"] == 0 and "No user token" in skipped["plays/status"]
    files = [f.path.split("/")[2] for f in Lake(str(tmp_path / "lake")).list_files("raw/plays")]
    assert files == ["dt=2026-11-20", "dt=2026-11-21", "dt=2026-11-21", "dt=2026-11-22"]  # one file per run and day
