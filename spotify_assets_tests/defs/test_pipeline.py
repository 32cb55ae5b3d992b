"""The whole graph against the emulator: raw → transformed → checks → catalog → analytics, offline."""


import dagster as dg

from spotify_assets.defs.analytics.assets import analytics_tables
from spotify_assets.defs.catalog.assets import catalog_tables
from spotify_assets.defs.insights.weekly_movers import weekly_movers
from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.parquet import read_table_partitions
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.tables import TABLE_SOURCES, TABLES
from spotify_assets.warehouse.resources import WarehouseResource
from spotify_assets_tests.conftest import TEST_DAY
from spotify_assets_tests.emulation import BAD_TRACK, land_bad_track, land_cut_short_file, spotify_for

DAY = TEST_DAY.isoformat()
RUN_CONFIG = {"ops": {"raw_spotify": {"config": {"allow_past_partition": True}}}}


def _defs(emulator, tmp_path) -> dg.Definitions:
    lake_root = str(tmp_path / "lake")
    return dg.Definitions(
        assets=[raw_spotify, transformed_tables, catalog_tables, analytics_tables, weekly_movers],
        jobs=[dg.define_asset_job("everything", selection=dg.AssetSelection.all(), partitions_def=daily_partitions)],
        resources={
            "lake": LakeResource(root_uri=lake_root),
            "lake_io_manager": LakeIOManager(lake=LakeResource(root_uri=lake_root)),
            "spotify": spotify_for(emulator),
            "warehouse": WarehouseResource(
                env="local", lake=LakeResource(root_uri=lake_root), duckdb_path=str(tmp_path / "w.duckdb")
            ),
        },
    )


def _run(defs, **kwargs):
    return defs.resolve_job_def("everything").execute_in_process(
        partition_key=DAY, run_config=RUN_CONFIG, raise_on_error=False, **kwargs
    )


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_whole_graph_materializes_and_analytics_are_queryable(emulator, tmp_path):
    defs = _defs(emulator, tmp_path)
    result = _run(defs)
    assert result.success
    done = _materialized(result)
    assert set(TABLES) <= done
    assert {f"catalog_{t}" for t in TABLES} <= done
    assert {"daily_top_tracks", "artist_trend", "genre_share", "playlist_churn"} <= done
    # the first published day has no baseline in its window: weekly_movers is stored, empty, and says why
    movers = next(iter(result.asset_materializations_for_node("weekly_movers")))
    assert movers.metadata["dagster/row_count"].value == 0
    assert movers.metadata["baseline_dt"].value.startswith("none")
    failed_checks = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert failed_checks == []
    publication = {m.asset_key.path[-1]: m.metadata["publication"].value
                   for m in result.asset_materializations_for_node("transformed_tables")}
    assert publication == dict.fromkeys(TABLES, "published")

    lake = Lake(str(tmp_path / "lake"))
    tracks = read_table_partitions(lake, "tracks", [DAY])
    assert tracks.num_rows > 0
    warehouse = WarehouseResource(
        env="local", lake=LakeResource(root_uri=str(tmp_path / "lake")), duckdb_path=str(tmp_path / "w.duckdb")
    )
    engine = warehouse.query_engine()
    try:
        top = engine.query(f"SELECT track_id, popularity FROM daily_top_tracks WHERE dt = '{DAY}' ORDER BY track_rank")
        counted = engine.query(f"SELECT count(*) AS n FROM tracks WHERE dt = '{DAY}'")
    finally:
        engine.close()
    assert counted.table["n"][0].as_py() == tracks.num_rows
    expected_top = tracks.sort_by([("popularity", "descending")])["popularity"][0].as_py()
    assert top.table["popularity"][0].as_py() == expected_top


def _published_objects(lake_root) -> dict[str, bytes]:
    lake = Lake(str(lake_root))
    return {f.path: lake.read_bytes(f.path) for z in ("transformed", "quarantine", "analytics")
            for f in lake.list_files(z, include_hidden=True)}


def _downstream(defs):
    """The transformed, catalog and analytics groups of the day (the raw zone stays as it is)."""
    selection = dg.AssetSelection.groups("transformed", "catalog", "analytics")
    job = dg.define_asset_job("downstream", selection=selection, partitions_def=daily_partitions)
    defs2 = dg.Definitions(
        assets=[raw_spotify, transformed_tables, catalog_tables, analytics_tables, weekly_movers],
        jobs=[job], resources=defs.resources,
    )
    return defs2.resolve_job_def("downstream").execute_in_process(partition_key=DAY, raise_on_error=False)


def test_failed_blocking_check_holds_the_day_back(emulator, tmp_path):
    defs = _defs(emulator, tmp_path)
    assert _run(defs).success  # a clean day first
    engine = defs.resources["warehouse"].query_engine()
    query = f"SELECT track_id, popularity FROM tracks WHERE dt = '{DAY}' ORDER BY track_id"
    rows_before, published_before = engine.query(query).to_pylist(), _published_objects(tmp_path / "lake")

    cut = land_cut_short_file(str(tmp_path / "lake"), DAY)  # raw data lost, how much nobody can know
    result = _downstream(defs)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "was not published" in failure.step_failure_data.error.message
    failed = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations() if not e.passed}
    fed = {t for t, sources in TABLE_SOURCES.items() if "tracks" in sources}
    assert set(failed) == {(t, c) for t in fed for c in ("raw_data_loss_within_limit", "raw_data_intact")}
    assert {(k, e.severity) for k, e in failed.items() if k[1] == "raw_data_loss_within_limit"} == {
        ((t, "raw_data_loss_within_limit"), dg.AssetCheckSeverity.ERROR) for t in fed}
    assert {e.severity for k, e in failed.items() if k[1] == "raw_data_intact"} == {dg.AssetCheckSeverity.WARN}
    staged = failed[("tracks", "raw_data_loss_within_limit")].metadata["staged_path"].value
    assert "/_staging/" in staged and Lake(str(tmp_path / "lake")).fs.get_file_info(staged).size > 0
    tracks = next(m for m in result.asset_materializations_for_node("transformed_tables") if m.asset_key.path == ["tracks"])
    assert tracks.metadata["publication"].value == "held back"
    assert "raw_data_loss_within_limit" in tracks.metadata["held_back_reason"].value
    # the loss, file by file, on the asset's page
    (lost,) = tracks.metadata["raw_data_lost"].value
    assert (lost["file"], lost["loss_measured"]) == (cut, False) and "truncated" in lost["reason"]
    done = _materialized(result)
    assert "catalog_tracks" not in done and "daily_top_tracks" not in done  # nothing downstream ran
    # and nothing a consumer reads changed: the lake's published objects, DuckDB's answer
    assert _published_objects(tmp_path / "lake") == published_before
    assert engine.query(query).to_pylist() == rows_before


def test_one_odd_record_is_quarantined_and_the_rest_of_the_day_flows_downstream(emulator, tmp_path):
    defs = _defs(emulator, tmp_path)
    assert _run(defs).success
    land_bad_track(str(tmp_path / "lake"), DAY)  # a track look-up with popularity 150
    result = _downstream(defs)

    assert result.success
    assert [e for e in result.get_asset_check_evaluations() if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR] == []
    tracks = next(m for m in result.asset_materializations_for_node("transformed_tables") if m.asset_key.path == ["tracks"])
    assert tracks.metadata["publication"].value == "published"
    assert tracks.metadata["quarantined"].value == 1
    assert tracks.metadata["raw_data_lost"].value == []
    done = _materialized(result)
    assert "catalog_tracks" in done and "daily_top_tracks" in done  # the day went on downstream
    engine = defs.resources["warehouse"].query_engine()
    assert BAD_TRACK not in {r["track_id"] for r in engine.query(f"SELECT track_id FROM tracks WHERE dt = '{DAY}'").to_pylist()}
