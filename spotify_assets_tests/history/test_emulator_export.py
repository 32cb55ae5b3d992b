"""The import measured on the emulator's ground truth: every generation of its export read into exactly its
streams, its personal data nowhere in what the import wrote, a basic and an extended export of one period
kept once, and — through the real daily pipeline in both quota modes — every play the platform landed
matched to its stream in ``listens``: every listen once, none dropped."""

from __future__ import annotations

import datetime as dt
import gzip
from collections import Counter

import dagster as dg
import orjson
import pyarrow as pa
import pytest

from spotify_assets.commands.import_history import run_import
from spotify_assets.defs.catalog.assets import catalog_tables
from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.defs.raw.spotify_plays import raw_plays
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.emulator.export import write_export
from spotify_assets.emulator.export_truth import ExportTruth
from spotify_assets.history.landing import land_export
from spotify_assets.history.streams import EXCLUDED_COVERED_BY_EXTENDED, EXCLUDED_DUPLICATE, build_streams
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.parquet import read_table_partitions
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.resources import WarehouseResource
from spotify_assets_tests.emulation import running_emulator, spotify_for

NOW = dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)
FIRST = dt.date(2026, 5, 1)
SMALL_FILES = 300_000  # several files per generation


def identities(truth: ExportTruth) -> Counter:
    """The truth's streams by what the stream key sees of them (a record without ids: its names)."""
    return Counter(
        (w.end_s, w.ms_played, w.track_id or w.episode_id or w.chapter_id or (w.kind, w.track_name, w.episode_name))
        for w in truth.streams)


def land(tmp_path, name: str, **options) -> tuple[ExportTruth, Lake]:
    truth = write_export(tmp_path / f"{name}.zip", now=NOW, first_day=FIRST, max_file_bytes=SMALL_FILES, **options)
    lake = Lake(str(tmp_path / name / "lake"))
    land_export(lake, str(tmp_path / f"{name}.zip"), log=lambda _: None)
    return truth, lake


def everything_written(root) -> bytes:
    return b"".join(gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
                    for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("generation, variant", [("extended", "default"), ("endsong", "default"),
                                                  ("endsong", "location")])
def test_every_generation_of_the_extended_history_gives_exactly_its_streams(tmp_path, generation, variant):
    truth, lake = land(tmp_path, f"{generation}-{variant}", generation=generation, variant=variant)
    build = build_streams(lake)
    assert build.table.equals(build_streams(lake, use_fast_path=False).table)
    ids = identities(truth)
    # the stream key's documented collision: the same content ending in the same second with the same ms
    assert build.table.num_rows == len(ids)
    assert build.accounting["records_in"] == truth.records
    assert build.excluded == {EXCLUDED_DUPLICATE: truth.records - len(ids)} and build.quarantine == []
    rows = build.table.to_pylist()
    assert Counter(r["kind"] for r in rows) == Counter(w.kind for w in truth.streams)
    # music videos are episodes; only the current generation keeps them in a file of their own
    assert sum(r["video"] for r in rows) == (sum(w.video for w in truth.streams) if generation == "extended" else 0)
    assert Counter((int(r["ended_at"].timestamp()), r["ms_played"]) for r in rows) == Counter(
        (w.end_s, w.ms_played) for w in truth.streams) - Counter(
        {(k[0], k[1]): n - 1 for k, n in ids.items() if n > 1})
    assert all(r["platform_family"] is not None for r in rows)
    # personal data: counted as removed, and nowhere in the lake
    manifest = next(iter(lake.list_files("raw/streaming_history", suffix="export.json")))
    removed = orjson.loads(lake.read_bytes(manifest.path))["personal_values_removed"]
    assert {k: v for k, v in removed.items() if k in truth.private_fields} == truth.private_fields
    written = everything_written(tmp_path / f"{generation}-{variant}")
    for value in truth.private_values():
        assert value.encode() not in written, value


@pytest.mark.parametrize("variant", ["default", "combined"])
def test_account_data_and_the_extended_history_of_one_period_keep_the_extended_streams(tmp_path, variant):
    basic, lake = land(tmp_path, "both", generation="account_data", variant=variant)
    only_basic = build_streams(lake)
    assert only_basic.table.num_rows == basic.records and only_basic.excluded == {}
    assert set(only_basic.table["ended_at_precision"].to_pylist()) == {"minute"}
    extended = write_export(tmp_path / "extended.zip", now=NOW, first_day=FIRST, max_file_bytes=SMALL_FILES)
    land_export(lake, str(tmp_path / "extended.zip"), log=lambda _: None)
    build = build_streams(lake)
    # every account-data stream is in the extended history of the same period: all of them covered
    assert build.excluded.get(EXCLUDED_COVERED_BY_EXTENDED) == basic.records
    assert build.table.num_rows == len(identities(extended))
    assert set(build.table["generation"].to_pylist()) == {"extended"}


@pytest.fixture(params=["extended", "development"])
def pipeline_day(request, tmp_path):
    """The real daily pipeline for NOW's day against the emulator in one quota mode: the plays it lands
    (the last 50 the API remembers) published in the lake, with the day's catalog."""
    day = NOW.date().isoformat()
    lake_resource = LakeResource(root_uri=str(tmp_path / "lake"))
    warehouse = WarehouseResource(env="local", lake=lake_resource, duckdb_path=str(tmp_path / "spotify.duckdb"))
    with running_emulator(mode=request.param, now=NOW) as server:
        defs = dg.Definitions(
            assets=[raw_spotify, raw_plays, transformed_tables, catalog_tables],
            jobs=[dg.define_asset_job("day", selection=dg.AssetSelection.all(), partitions_def=daily_partitions)],
            resources={"lake": lake_resource, "lake_io_manager": LakeIOManager(lake=lake_resource),
                       "spotify": spotify_for(server), "warehouse": warehouse},
        )
        result = defs.resolve_job_def("day").execute_in_process(
            partition_key=day, raise_on_error=False,
            run_config={"ops": {"raw_spotify": {"config": {"allow_past_partition": True}}}})
    assert result.success
    return tmp_path


def test_listens_match_every_landed_play_to_its_stream_in_both_quota_modes(pipeline_day, monkeypatch):
    tmp_path = pipeline_day
    lake = Lake(str(tmp_path / "lake"))
    plays = read_table_partitions(lake, "plays")
    assert plays.num_rows == 14  # the day's plays (the others of the API's last 50 fall on days not crawled)
    truth = write_export(tmp_path / "my_spotify_data.zip", now=NOW, first_day=FIRST, scale="tiny",
                         max_file_bytes=SMALL_FILES)
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "local")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
    result = run_import(str(tmp_path / "my_spotify_data.zip"), instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.asset_key.to_user_string() == "listens")
    listens = DuckDBEngine(lake, str(tmp_path / "spotify.duckdb")).query(
        "SELECT source, matched_by, listened_at, played_at, track_id, ms_played FROM listens").to_pylist()
    ids = identities(truth)
    assert len(listens) == len(ids)  # every stream once, and no play on its own: each is in the export
    both = [r for r in listens if r["source"] == "both"]
    assert len(both) == plays.num_rows and {r["matched_by"] for r in both} == {"end"}
    expected = {(w.end_s, w.played_at_ms, w.track_id) for w in truth.streams if w.played_at_ms is not None}
    got = {(int(r["listened_at"].timestamp()), round(r["played_at"].timestamp() * 1000), r["track_id"]) for r in both}
    assert got <= expected  # each play matched to the very stream it is
    assert {r["source"] for r in listens} == {"export", "both"}


def test_a_month_of_hourly_plays_is_matched_play_for_play(tmp_path):
    """The plays hourly captures would have landed over the last 30 days (the truth's API plays), against the
    export: each matched to exactly the stream it is, no play left alone, no stream taken twice."""
    from spotify_assets.history.listens import build_listens

    truth, lake = land(tmp_path, "month", scale="tiny")
    streams = build_streams(lake).table
    since_ms = int((NOW - dt.timedelta(days=30)).timestamp() * 1000)
    api = [w for w in truth.api_plays() if w.played_at_ms >= since_ms]
    plays = pa.table({"played_at": pa.array([w.played_at_ms * 1000 for w in api], pa.int64()).cast(
                          pa.timestamp("us", tz="UTC")),
                      "track_id": pa.array([w.track_id for w in api], pa.string())})
    build = build_listens(streams, plays, {})
    assert len(api) > 300 and build.summary() == {
        "streams": streams.num_rows, "plays": len(api), "matched": len(api),
        "matched_by": {"end": len(api), "start": 0, "minute": 0}, "rows": streams.num_rows,
        "export_only": streams.num_rows - len(api), "plays_only": 0}
    pairs = {(int(r["listened_at"].timestamp()), round(r["played_at"].timestamp() * 1000), r["track_id"])
             for r in build.table.to_pylist() if r["source"] == "both"}
    assert pairs == {(w.end_s, w.played_at_ms, w.track_id) for w in api}
