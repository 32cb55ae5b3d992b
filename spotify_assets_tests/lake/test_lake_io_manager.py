"""The lake IO manager, locally and on S3 (moto): a user's asset merged into the project's Definitions loads
published tables as pandas or Arrow — one day, a window, days missing (fail or skip), chosen columns — and
never anything but the published version; Python assets' own days are stored and published under insights/."""

from __future__ import annotations

import collections

import dagster as dg
import pandas as pd
import pyarrow as pa
import pytest

from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.lake.parquet import read_table_partitions
from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets_tests.lake.conftest import D, day

seen: dict[str, object] = {}


@dg.asset(partitions_def=daily_partitions)
def playlist_reach(tracks: pd.DataFrame, playlist_items: pa.Table) -> dg.MaterializeResult:
    """A user's asset, as a new user writes it: parameters named after the tables, nothing else."""
    seen["tracks"], seen["playlist_items"] = tracks, playlist_items
    appearing = set(playlist_items.column("item_id").to_pylist())
    return dg.MaterializeResult(metadata={"tracks_in_playlists": int(tracks["track_id"].isin(appearing).sum())})


@dg.asset(
    partitions_def=daily_partitions,
    ins={
        "tracks": dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-6, end_offset=0),
            metadata={"allow_missing_partitions": True, "columns": ["track_id", "popularity"]},
        )
    },
)
def week_of_tracks(tracks: pa.Table) -> None:
    seen["week"] = tracks


@dg.asset(
    partitions_def=daily_partitions,
    ins={"tracks": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-6, end_offset=0))},
)
def strict_week_of_tracks(tracks: pd.DataFrame) -> None:
    seen["strict"] = tracks


@pytest.fixture
def project_defs(lake_uri, tmp_path, monkeypatch):
    """The project's own Definitions (spotify_assets.definitions.build_definitions) over the test lake."""
    monkeypatch.setenv("SPOTIFY_LAKE_URI", lake_uri)
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
    monkeypatch.delenv("SPOTIFY_TRANSFORM_COMPUTE", raising=False)
    from spotify_assets.definitions import build_definitions

    seen.clear()
    return build_definitions()


def _materialize(defs: dg.Definitions, key: str, partition: str = D):
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        partition_key=partition, asset_selection=[dg.AssetKey(key)], raise_on_error=False, instance=dg.DagsterInstance.ephemeral()
    )


def test_user_asset_merged_into_the_project_loads_pandas_and_arrow(project_defs, lake_uri):
    merged = dg.Definitions.merge(project_defs, dg.Definitions(assets=[playlist_reach]))
    result = _materialize(merged, "playlist_reach")
    assert result.success

    lake = Lake(lake_uri)
    tracks, items = seen["tracks"], seen["playlist_items"]
    assert isinstance(tracks, pd.DataFrame) and isinstance(items, pa.Table)
    published_tracks = read_table_partitions(lake, "tracks", [D]).drop_columns(["dt"])
    published_items = read_table_partitions(lake, "playlist_items", [D]).drop_columns(["dt"])
    # exactly the published day, no dt column for a single day, Arrow-backed pandas dtypes
    assert items.equals(published_items)
    assert list(tracks.columns) == published_tracks.column_names
    assert pa.Table.from_pandas(tracks, preserve_index=False).cast(published_tracks.schema).equals(published_tracks)
    assert isinstance(tracks["popularity"].dtype, pd.ArrowDtype)
    reach = result.asset_materializations_for_node("playlist_reach")[0].metadata["tracks_in_playlists"].value
    assert 0 < reach <= len(tracks)
    # the loaded-input event says which published version was read
    loaded = [e for e in result.all_events if e.event_type_value == "LOADED_INPUT"]
    versions = {
        e.event_specific_data.input_name: e.event_specific_data.metadata["versions"].value for e in loaded
    }
    tracks_file = published_file(lake, "transformed", "tracks", D)
    assert versions["tracks"] == {D: tracks_file.split("/v-")[1].split("/")[0]}


def test_window_fails_on_a_missing_day_unless_the_input_skips_them(project_defs, lake_uri):
    merged = dg.Definitions.merge(project_defs, dg.Definitions(assets=[week_of_tracks, strict_week_of_tracks]))

    strict = _materialize(merged, "strict_week_of_tracks")
    assert not strict.success
    failure = next(e for e in strict.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.step_failure_data.error.to_string())
    for missing in (day(-5), day(-4), day(-3), day(-2)):
        assert missing in message
    assert day(-1) not in message.split("no published version for")[1].split("(")[0]
    assert '"allow_missing_partitions": True' in message
    assert "strict" not in seen

    result = _materialize(merged, "week_of_tracks")
    assert result.success
    week = seen["week"]
    assert isinstance(week, pa.Table)
    assert week.column_names == ["track_id", "popularity", "dt"]
    assert sorted(set(week["dt"].to_pylist())) == [day(-6), day(-1), D]
    lake = Lake(lake_uri)
    expected = read_table_partitions(lake, "tracks", [day(-6), day(-1), D]).select(["track_id", "popularity", "dt"])
    assert week.equals(expected)


def test_only_the_published_version_is_read(project_defs, lake_uri):
    """A held-back run's staged files, a version being published and stray files change nothing loaded."""
    lake = Lake(lake_uri)
    published = lake.read_bytes(published_file(lake, "transformed", "tracks", D))
    smaller = read_table_partitions(lake, "tracks", [day(-6)])
    import pyarrow.parquet as pq

    folder = f"transformed/tracks/dt={D}"
    with lake.atomic_writer(f"_staging/dt={D}/held-run/{folder}/part-00000.parquet") as out:
        pq.write_table(smaller, out)
    lake.write_bytes(f"{folder}/v-0000000000000000/part-00000.parquet", lake.read_bytes(published_file(lake, "transformed", "tracks", day(-6))))
    lake.write_bytes(f"{folder}/part-00000.parquet", b"stray")
    merged = dg.Definitions.merge(project_defs, dg.Definitions(assets=[playlist_reach]))
    assert _materialize(merged, "playlist_reach").success
    loaded = pa.Table.from_pandas(seen["tracks"], preserve_index=False)
    assert loaded.num_rows == pq.read_table(pa.BufferReader(published)).num_rows != smaller.num_rows


def test_weekly_movers_are_computed_stored_and_loadable(project_defs, lake_uri):
    """The project's Python asset: appearances on D against D-6 (the earliest published day of the
    window), stored as a published version under insights/, and loadable by a downstream asset."""
    result = _materialize(project_defs, "weekly_movers")
    assert result.success
    meta = result.asset_materializations_for_node("weekly_movers")[0].metadata
    assert meta["baseline_dt"].value == day(-6)
    assert meta["publication"].value == "published" and meta["publish_action"].value == "created"
    assert [c.name for c in meta["dagster/column_schema"].schema.columns][:3] == ["mover_rank", "track_id", "name"]
    assert "| mover_rank |" in meta["preview"].value

    lake = Lake(lake_uri)
    stored = read_table_partitions(lake, "weekly_movers", [D], zone="insights").drop_columns(["dt"])
    assert meta["dagster/row_count"].value == stored.num_rows > 0

    # the same figures counted independently, with Counters over the published items
    def appearances(d: str) -> collections.Counter:
        items = read_table_partitions(lake, "playlist_items", [d]).to_pylist()
        return collections.Counter(r["item_id"] for r in items if r["item_type"] == "track")

    now, before = appearances(D), appearances(day(-6))
    rises = sorted(((now[t] - before[t], now[t], t) for t in now if now[t] > before[t]), key=lambda r: (-r[0], -r[1], r[2]))
    rows = stored.to_pylist()
    assert [(r["change"], r["appearances"], r["track_id"]) for r in rows] == rises[:50]
    assert [r["mover_rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["baseline_appearances"] == before[r["track_id"]] for r in rows)
    names = dict(zip(*read_table_partitions(lake, "tracks", [D]).select(["track_id", "name"]).to_pydict().values(), strict=True))
    assert all(r["name"] == names[r["track_id"]] for r in rows)

    # re-running the day publishes nothing new; a downstream asset loads the stored table
    again = _materialize(project_defs, "weekly_movers")
    assert again.asset_materializations_for_node("weekly_movers")[0].metadata["publish_action"].value == "unchanged"

    @dg.asset(partitions_def=daily_partitions)
    def top_mover(weekly_movers: pd.DataFrame) -> None:
        seen["movers"] = weekly_movers

    merged = dg.Definitions.merge(project_defs, dg.Definitions(assets=[top_mover]))
    assert _materialize(merged, "top_mover").success
    assert seen["movers"]["track_id"].tolist() == stored["track_id"].to_pylist()


def test_the_io_manager_refuses_what_it_cannot_do(project_defs):
    @dg.asset(partitions_def=daily_partitions)
    def as_dict(tracks: dict) -> None:
        pass

    merged = dg.Definitions.merge(project_defs, dg.Definitions(assets=[as_dict]))
    result = _materialize(merged, "as_dict")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "pd.DataFrame or a pa.Table" in failure.step_failure_data.error.to_string()


def test_analytics_tables_load_the_same_way(project_defs, lake_uri, tmp_path):
    """An analytics result (published by its SQL step) is an input like any table."""
    from spotify_assets.sql.analytics import materialize_analytics
    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    lake = Lake(lake_uri)
    engine = DuckDBEngine(lake, str(tmp_path / "analytics.duckdb"))
    engine.refresh_tables()
    done = materialize_analytics(engine, "daily_top_tracks", D, lake=lake, run_id="analytics-run")
    assert done.row_count > 0

    @dg.asset(partitions_def=daily_partitions)
    def top_names(daily_top_tracks: pa.Table) -> None:
        seen["top"] = daily_top_tracks

    merged = dg.Definitions.merge(project_defs, dg.Definitions(assets=[top_names]))
    assert _materialize(merged, "top_names").success
    expected = read_table_partitions(lake, "daily_top_tracks", [D], zone="analytics").drop_columns(["dt"])
    assert seen["top"].equals(expected) and seen["top"].num_rows == done.row_count


def test_the_readme_snippet_works(project_defs, lake_uri, monkeypatch):
    """README "Extending": the user's asset (pandas tracks, an Arrow week of playlist_items) merged into
    the project's definitions, its values checked on a local and an S3 lake (only the import of the project's
    definitions is redirected to the test lake; spotify_assets_tests/readme runs the file as a user does)."""
    import types

    from spotify_assets_tests.readme import readme

    snippet = readme.first_block_after("## Extending", "python")
    line = "from spotify_assets import definitions as project\n"
    assert line in snippet
    namespace = {"__name__": "my_assets", "_project": types.SimpleNamespace(defs=project_defs)}
    code = compile(snippet.replace(line, "project = _project\n"), "README.md", "exec", dont_inherit=True)
    exec(code, namespace)  # noqa: S102 - the README's own text
    result = _materialize(namespace["defs"], "explicit_share")
    assert result.success
    meta = result.asset_materializations_for_node("explicit_share")[0].metadata
    lake = Lake(lake_uri)
    tracks = read_table_partitions(lake, "tracks", [D])
    items = read_table_partitions(lake, "playlist_items", [day(-6), day(-1), D])
    explicit = [v for v in tracks["explicit"].to_pylist() if v is not None]
    assert meta["explicit_share"].value == pytest.approx(sum(explicit) / len(explicit))
    assert meta["positions_this_week"].value == items.num_rows
    assert meta["days_in_week"].value == 3
