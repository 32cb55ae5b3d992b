"""``import_history_job`` end to end through Dagster on a local lake, a DuckDB file and a Dagster instance on
disk: what the run shows, years queryable by day, re-imports that change nothing, listens with the hourly
plays, bad input, a held-back import — and no personal data anywhere the platform wrote."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import shutil
import zipfile
from pathlib import Path

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_assets.commands.import_history import main, run_import
from spotify_assets.lake.publication.manifests import current_version, published_partitions
from spotify_assets.lake.quarantine import read_quarantine_file
from spotify_assets.lake.storage import Lake
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

from .exports import (
    PERSONAL_VALUES,
    T1,
    T2,
    dumps,
    endsong,
    extended,
    publish_plays,
    standard_files,
    write_folder,
    write_zip,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path, monkeypatch):
    """The environment of `make import-history`: a lake, a DuckDB file and a Dagster instance on disk."""
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "local")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.local.yaml", home / "dagster.yaml")  # as the Makefile does
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return tmp_path


def metadata(result, node: str, key: str | None = None) -> dict:
    events = result.asset_materializations_for_node(node)
    event = next(e for e in events if key is None or e.asset_key.to_user_string() == key)
    return {k: v.value for k, v in event.metadata.items()}


def checks(result) -> dict[tuple[str, str], bool]:
    return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}


def ten_years() -> dict[str, bytes]:
    """Streams over ten years, in the older and the current generation (a few a year), with addresses."""
    old = [endsong(f"{y}-0{m}-1{m}T0{m}:00:00Z", 100_000 + y, track=T1, name="Song One", artist="Band A")
           for y in range(2012, 2018) for m in (1, 6)]
    new = [extended(f"{y}-0{m}-2{m}T1{m}:30:00Z", 200_000 + y, track=T2, name="Song Two", artist="Band B")
           for y in range(2018, 2022) for m in (3, 9)]
    return {"MyData/endsong_0.json": dumps(old, "minified"),
            "Spotify Extended Streaming History/Streaming_History_Audio_2018-2021_0.json": dumps(new),
            "MyData/Userdata.json": b"{}"}


def test_make_import_history_runs_through_dagster_and_years_are_queryable_by_day(env, capsys):
    export = write_zip(env / "my_spotify_data.zip", ten_years())
    assert main([export]) == 0
    out = capsys.readouterr().out
    assert "streams: 20 rows in 20 months (2012-01 … 2021-09)" in out
    assert "not read: MyData/Userdata.json" in out
    assert "Personal data removed before landing: 44 values (ip_addr 8, ip_addr_decrypted 12, " \
           "user_agent_decrypted 12, username 12)" in out
    instance = dg.DagsterInstance.get()
    runs = instance.get_runs()
    assert [r.job_name for r in runs] == ["import_history_job"] and runs[0].is_success
    lake = Lake(str(env / "lake"))
    assert len(published_partitions(lake, "transformed", "streams", key="month")) == 20  # 20 months, not 3,650 days
    engine = DuckDBEngine(lake, str(env / "spotify.duckdb"))
    day = engine.query("SELECT month, dt, track_name, ms_played FROM streams WHERE dt = '2013-06-16'").to_pylist()
    assert day == [{"month": "2013-06", "dt": "2013-06-16", "track_name": "Song One", "ms_played": 102_013}]
    by_year = engine.query("SELECT substr(dt, 1, 4) AS y, count(*) AS n FROM listens GROUP BY 1 ORDER BY 1").to_pylist()
    assert [(r["y"], r["n"]) for r in by_year] == [(str(y), 2) for y in range(2012, 2022)]


def test_the_run_shows_its_accounting_and_a_reimport_changes_nothing(env):
    export = write_zip(env / "e.zip", standard_files())
    instance = dg.DagsterInstance.get()
    first = run_import(export, instance=instance)
    assert first.success
    raw = metadata(first, "raw_streaming_history")
    assert (raw["records_in"], raw["records_landed"], raw["privacy/personal_values_removed"]) == (8, 8, 8)
    assert [f["path"].rsplit("/", 1)[-1] for f in raw["files_not_read"]] == [
        "Playlist1.json", "Userdata.json", "ReadMeFirst_ExtendedStreamingHistory.pdf"]
    streams = metadata(first, "streams")
    assert (streams["dagster/row_count"], streams["months"], streams["records_in"], streams["quarantined"]) == (7, 3, 8, 0)
    assert streams["accounting"]["excluded"] == {
        "duplicate: the same stream was read before (same end, ms_played and content)": 1}
    assert (streams["publication"], streams["months_created"]) == ("published", 3)
    assert [c.name for c in streams["dagster/column_schema"].columns][:3] == ["stream_id", "ended_at", "ended_at_precision"]
    assert all(checks(first).values()), checks(first)
    assert ("raw_streaming_history", "no_personal_data_landed") in checks(first)
    lake = Lake(str(env / "lake"))
    versions = {m: current_version(lake, "transformed", "streams", m).file for m in ("2014-07", "2014-08", "2020-05")}

    again = run_import(str(write_folder(env / "extracted", standard_files())), instance=instance)
    assert again.success
    assert metadata(again, "raw_streaming_history")["already_landed"] is True
    assert (metadata(again, "streams")["months_unchanged"], metadata(again, "listens")["months_unchanged"]) == (3, 3)
    assert {m: current_version(lake, "transformed", "streams", m).file for m in versions} == versions
    assert checks(again)[("streams", "no_stream_lost")]


def test_listens_join_the_hourly_plays_and_follow_them(env):
    lake = Lake(str(env / "lake"))
    names = {T1: ("Song One", "Band A"), T2: ("Song Two", "Band B")}
    utc = dt.UTC
    publish_plays(lake, "2026-11-20", [(dt.datetime(2026, 11, 20, 8, 3, 35, 412000, tzinfo=utc), T1),
                                       (dt.datetime(2026, 11, 20, 9, 0, 0, 5000, tzinfo=utc), T2)], names)
    export = write_zip(env / "e.zip", {"Streaming_History_Audio_2026_0.json": dumps([
        extended("2026-11-20T08:03:35Z", 215_000, track=T1, name="Song One", artist="Band A"),
        extended("2026-11-20T08:04:00Z", 1_000, track=T2, name="Song Two", artist="Band B", skipped=True)])})
    instance = dg.DagsterInstance.get()
    result = run_import(export, instance=instance)
    assert result.success
    assert metadata(result, "listens")["matched_by"] == {"end": 1, "start": 0, "minute": 0}
    engine = DuckDBEngine(lake, str(env / "spotify.duckdb"))
    rows = engine.query("SELECT source, track_name, artist_name, ms_played FROM listens ORDER BY listened_at").to_pylist()
    assert [tuple(r.values()) for r in rows] == [("both", "Song One", "Band A", 215_000),
                                                 ("export", "Song Two", "Band B", 1_000),
                                                 ("plays", "Song Two", "Band B", None)]
    # the next day's plays arrive: listens (and its catalog entry) follow without another import
    publish_plays(lake, "2026-11-21", [(dt.datetime(2026, 11, 21, 7, 0, tzinfo=utc), T1)], names)
    from spotify_assets.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    follow = job.get_subset(asset_selection={dg.AssetKey("listens"), dg.AssetKey("catalog_listens")})
    assert follow.execute_in_process(instance=instance).success
    assert engine.query("SELECT count(*) FROM listens WHERE dt = '2026-11-21'").scalar() == 1


def test_bad_input_imports_the_rest_with_exact_accounting(env):
    good = [extended(f"2021-01-0{d}T10:00:00Z", 200_000, track=T1, name="A", artist="B") for d in range(1, 6)]
    data = dumps(good + [extended("2021-01-07T10:00:00Z", -1, track=T1), extended("not a time", 5, track=T1),
                         extended("2021-01-08T10:00:00Z", 5, track=T2, surprise="field")])
    export = write_zip(env / "e.zip", {
        "Streaming_History_Audio_2021_0.json": data,
        "Streaming_History_Audio_2021_1.json": data[: len(data) // 2],  # cut short
        "Streaming_History_Audio_2021_2.json": b"",
    })
    result = run_import(export, instance=dg.DagsterInstance.get())
    assert result.success
    raw = metadata(result, "raw_streaming_history")
    assert raw["unknown_fields_removed"] == {"surprise": 1}
    assert raw["file_notes"] == {"Streaming_History_Audio_2021_2.json": ["empty file (0 bytes): no records"]}
    streams = metadata(result, "streams")
    acc = streams["accounting"]
    assert acc["records_in"] == streams["dagster/row_count"] + acc["quarantined"] + sum(acc["excluded"].values())
    assert (streams["dagster/row_count"], acc["quarantined"]) == (6, 3)
    assert set(acc["quarantine_reasons"]) == {"ms_played is negative", "ts is not an ISO-8601 timestamp",
                                              "truncated JSON array"}
    assert checks(result)[("streams", "quarantine_share_low")] is False  # a warning: published anyway
    lake = Lake(str(env / "lake"))
    quarantined = read_quarantine_file(lake, current_version(lake, "quarantine", "streams", None).file)
    assert sorted(q["reason"].split(":")[0] for q in quarantined) == [
        "ms_played is negative", "truncated JSON array", "ts is not an ISO-8601 timestamp"]


def test_what_is_not_an_export_fails_before_anything_is_written(env):
    not_export = env / "holiday.zip"
    with zipfile.ZipFile(not_export, "w") as zf:
        zf.writestr("beach.jpg", b"\xff\xd8")
    result = run_import(str(not_export), instance=dg.DagsterInstance.get())
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "raw_streaming_history"
    assert "holds no streaming history file" in failure.event_specific_data.error.message
    assert not (env / "lake" / "raw").exists()
    inside = write_zip(env / "lake" / "my_spotify_data.zip", standard_files())
    refused = run_import(inside, instance=dg.DagsterInstance.get())
    assert not refused.success
    assert "lies inside the lake" in next(e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"
                                          ).event_specific_data.error.message


def test_without_an_export_nothing_is_imported_and_nothing_fails(env):
    """"Materialize all" in the UI includes the history: with no export given, the import does nothing."""
    from spotify_assets.definitions import build_definitions

    result = build_definitions().resolve_job_def("import_history_job").execute_in_process(
        instance=dg.DagsterInstance.get(), raise_on_error=False)
    assert result.success
    steps = {e.step_key: e.event_type_value for e in result.all_events
             if e.event_type_value in ("STEP_SUCCESS", "STEP_SKIPPED", "STEP_FAILURE")}
    assert steps == {"raw_streaming_history": "STEP_SUCCESS", "raw_streaming_history_no_personal_data_landed": "STEP_SKIPPED",
                     "streams": "STEP_SKIPPED", "listens": "STEP_SKIPPED", "history_catalog": "STEP_SKIPPED",
                     "listening_report": "STEP_SKIPPED"}
    assert result.asset_materializations_for_node("raw_streaming_history") == []
    assert not (env / "lake").exists()


def test_an_import_that_would_lose_streams_is_held_back(env):
    instance = dg.DagsterInstance.get()
    assert run_import(write_zip(env / "a.zip", standard_files()), instance=instance).success
    lake = Lake(str(env / "lake"))
    before = {f: f.read_bytes() for f in (env / "lake" / "transformed").rglob("*") if f.is_file()}
    for f in lake.list_files("raw/streaming_history"):  # the raw zone lost the first export (by hand)
        lake.delete(f.path)
    result = run_import(write_zip(env / "b.zip", ten_years()), instance=instance)
    assert not result.success
    assert checks(result)[("streams", "no_stream_lost")] is False
    assert metadata(result, "streams")["publication"] == "held back"
    after = {f: f.read_bytes() for f in (env / "lake" / "transformed").rglob("*") if f.is_file()}
    assert after == before  # nothing a consumer reads changed
    assert list((env / "lake" / "_staging" / "runs").rglob("_HELD_BACK.json"))


def test_python_assets_load_the_whole_history_through_the_lake_io_manager(env):
    assert run_import(write_zip(env / "e.zip", ten_years()), instance=dg.DagsterInstance.get()).success

    @dg.asset(deps=[])
    def listening_years(listens: pa.Table) -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": listens.num_rows, "years": len(set(listens["dt"].to_pylist()))})

    from spotify_assets.definitions import build_definitions

    defs = dg.Definitions.merge(build_definitions(), dg.Definitions(assets=[listening_years]))
    job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection={dg.AssetKey("listening_years")})
    result = job.execute_in_process(instance=dg.DagsterInstance.get())
    assert metadata(result, "listening_years")["rows"] == 20


def _text_of(path) -> str:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if path.suffix == ".parquet":
        return json.dumps(pq.read_table(path).to_pylist(), default=str)
    return data.decode("utf-8", "replace")


def test_no_personal_data_reaches_anything_the_platform_writes(env, capsys):
    files = {**ten_years(), "MyData/endsong_1.json": dumps([
        endsong("2020-03-01T10:00:00Z", 100_000, name="Song One", artist="Band A", location=True)], "minified"),
        "Streaming_History_Audio_2022_0.json": dumps([extended("2022-01-01T00:00:00Z", 1, track=T1)])[:-30]}
    os.makedirs(env / "outside")
    assert main([write_zip(env / "outside" / "my_spotify_data.zip", files)]) == 0
    logs = capsys.readouterr()
    written = [p for p in env.rglob("*") if p.is_file() and "outside" not in p.parts]
    assert any(p.suffix == ".parquet" for p in written) and any("dagster_home" in p.parts for p in written)
    assert any(p.name.endswith(".db") for p in written)  # the instance's run, event and schedule storage
    everything = "\n".join(_text_of(p) for p in written) + logs.out + logs.err
    assert "Song One" in everything and "2020-03-01" in everything  # the search does see the data
    for value in PERSONAL_VALUES:
        assert value not in everything, value
