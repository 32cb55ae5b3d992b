"""Wrong settings fail every step that touches the lake or the warehouse at once, naming the setting, without
a retry; a damaged manifest of one day, or a folder that is not ``dt=YYYY-MM-DD``, stops no other day and is
reported."""

from __future__ import annotations

import datetime as dt
import shutil

import dagster as dg
import pytest

from spotify_assets.defs.analytics.assets import analytics_tables
from spotify_assets.defs.automation.retries import NO_RETRY_REASON_TAG
from spotify_assets.defs.catalog.assets import catalog_tables
from spotify_assets.defs.insights.weekly_movers import weekly_movers
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.parquet import read_published
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.resources import WarehouseResource
from spotify_assets_tests.emulation import TEST_DAY, copy_raw

DAY = TEST_DAY.isoformat()
RETRIES = {"run_retries": {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}}


def _days(n: int) -> list[str]:
    return [(TEST_DAY - dt.timedelta(days=n - 1 - i)).isoformat() for i in range(n)]


def _step_failure(result) -> str:
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    return failure.step_failure_data.error.message


# -- settings ------------------------------------------------------------------------------------------


def test_transform_job_with_a_lake_uri_that_is_a_file_fails_at_once_naming_it(tmp_path, monkeypatch):
    """The whole code location, as `dagster dev` loads it: transform_job fails in its first step with the
    setting named, and the run is not retried (before: a bare NotADirectoryError and dagster/will_retry=true)."""
    (tmp_path / "lake").write_text("not a directory")
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "local")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "w.duckdb"))
    from spotify_assets.definitions import build_definitions

    with dg.instance_for_test(overrides=RETRIES) as instance:
        result = build_definitions().resolve_job_def("transform_job").execute_in_process(
            partition_key=DAY, instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success
    message = _step_failure(result)
    assert f"SPOTIFY_LAKE_URI={str(tmp_path / 'lake')!r}: {tmp_path / 'lake'} is a file, not a directory" in message
    assert run.tags["dagster/will_retry"] == "false"
    assert "SPOTIFY_LAKE_URI" in run.tags[NO_RETRY_REASON_TAG]


def _resources(lake_root: str, duckdb_path: str) -> dict:
    lake = LakeResource(root_uri=lake_root)
    return {
        "lake": lake,
        "lake_io_manager": LakeIOManager(lake=lake),
        "warehouse": WarehouseResource(env="local", lake=lake, duckdb_path=duckdb_path),
    }


STEPS = [(asset, "SPOTIFY_LAKE_URI") for asset in (transformed_tables, catalog_tables, analytics_tables, weekly_movers)]
STEPS += [(asset, "SPOTIFY_DUCKDB_PATH") for asset in (catalog_tables, analytics_tables)]  # the warehouse's steps


@pytest.mark.parametrize(("asset", "setting"), STEPS, ids=[f"{a.node_def.name}-{s}" for a, s in STEPS])
def test_every_step_on_the_lake_or_warehouse_checks_its_settings_first(tmp_path, asset, setting):
    (tmp_path / "a-file").write_text("not a directory")
    (tmp_path / "a-folder").mkdir()
    lake_root = str(tmp_path / ("a-file" if setting == "SPOTIFY_LAKE_URI" else "lake"))
    duckdb_path = str(tmp_path / ("a-folder" if setting == "SPOTIFY_DUCKDB_PATH" else "w.duckdb"))
    with dg.instance_for_test(overrides=RETRIES) as instance:
        parents = [transformed_tables] if asset is weekly_movers else []  # its inputs, loaded through the lake
        result = dg.materialize([asset, *parents], selection=[asset], partition_key=DAY, instance=instance,
                                resources=_resources(lake_root, duckdb_path), raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success
    message = _step_failure(result)
    if setting == "SPOTIFY_LAKE_URI":
        assert f"SPOTIFY_LAKE_URI={lake_root!r}: {lake_root} is a file, not a directory" in message
    else:
        assert f"SPOTIFY_DUCKDB_PATH={duckdb_path!r}: {duckdb_path} is a directory" in message
    assert setting in run.tags[NO_RETRY_REASON_TAG]  # the failure hook saw a permanent failure


def test_the_raw_landing_sensor_names_a_wrong_lake_setting(tmp_path):
    from dagster_aws.s3 import S3Resource

    from spotify_assets.defs.raw.landing_sensor import raw_landing_sensor

    (tmp_path / "lake").write_text("not a directory")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources={
            "lake": LakeResource(root_uri=str(tmp_path / "lake")), "s3": S3Resource()})
        with pytest.raises(dg.Failure, match="SPOTIFY_LAKE_URI=.* is a file, not a directory"):
            raw_landing_sensor(context)


def test_the_duckdb_path_must_not_name_another_kind_of_file(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    warehouse = WarehouseResource(env="local", lake=LakeResource(root_uri=str(tmp_path / "lake")),
                                  duckdb_path=str(tmp_path / "notes.csv"))
    with pytest.raises(dg.Failure, match="is not a DuckDB database; it would be replaced") as failure:
        warehouse.ready()
    assert failure.value.allow_retries is False
    assert (tmp_path / "notes.csv").read_text() == "a,b\n1,2\n"


# -- damaged lakes -------------------------------------------------------------------------------------


@pytest.fixture
def three_days(crawled_raw, tmp_path) -> tuple[Lake, list[str]]:
    """A lake with the crawled raw zone landed on three days, the first two published."""
    src_root, _ = crawled_raw
    lake = Lake(str(tmp_path / "lake"))
    days = _days(3)
    for day in days:
        copy_raw(src_root, lake, day=day)
    for day in days[:2]:
        assert transform_day(lake, day, f"first-{day}").held_back is None
    return lake, days


def _damage_manifests(lake: Lake, day: str) -> list[str]:
    """Empty every manifest of ``day`` (a cut-off upload, a full disk): the tables' and the day's."""
    damaged = [f.path for z in ("transformed", "quarantine") for f in lake.list_files(z, include_hidden=True)
               if f.path.endswith(f"/dt={day}/_published.json")]
    for path in damaged:
        lake.write_bytes(path, b"")
    return damaged


def test_a_damaged_manifest_of_one_day_stops_no_other_day(three_days, tmp_path):
    lake, (first, second, third) = three_days
    assert _damage_manifests(lake, second)

    # the next day's transform compares with the latest readable day (before: a bare JSONDecodeError)
    outcome = transform_day(lake, third, "third")
    assert outcome.held_back is None, outcome.held_back
    drift = {(o.table, o.check): o.metadata for o in outcome.checks}[("tracks", "stable_against_previous_partition")]
    assert drift["previous_partition"] == first

    # the views leave the damaged day out and say which manifest is damaged
    engine = DuckDBEngine(lake, str(tmp_path / "w.duckdb"))
    problems = engine.refresh_tables()
    days = [r["dt"] for r in engine.query("SELECT DISTINCT dt FROM tracks ORDER BY dt").to_pylist()]
    assert days == [first, third]
    assert any(lake.uri(f"transformed/_days/dt={second}/_published.json") in p and "empty file" in p
               for p in problems), problems

    # reading the damaged day itself names the manifest
    from spotify_assets.lake.publication.manifests import CorruptManifestError

    with pytest.raises(CorruptManifestError, match=rf"{lake.uri('transformed/_days')}/dt={second}/_published.json"):
        read_published(lake, "transformed", "tracks", [second])

    # publishing the day again repairs it
    assert transform_day(lake, second, "repair").held_back is None
    engine.refresh_tables()
    assert [r["dt"] for r in engine.query("SELECT DISTINCT dt FROM tracks ORDER BY dt").to_pylist()] == \
        [first, second, third]


def test_folders_that_are_not_days_are_ignored_and_reported(three_days, tmp_path):
    lake, (first, second, _) = three_days
    engine = DuckDBEngine(lake, str(tmp_path / "w.duckdb"))
    engine.refresh_tables()
    before = engine.query("SELECT dt, count(*) AS n FROM tracks GROUP BY dt ORDER BY dt").to_pylist()
    root = lake.base
    shutil.copytree(f"{root}/transformed/tracks/dt={first}", f"{root}/transformed/tracks/dt=2026-99-99")
    shutil.copytree(f"{root}/transformed/albums/dt={first}", f"{root}/transformed/albums/dt=latest")
    shutil.copytree(f"{root}/raw/playlists/dt={first}", f"{root}/raw/playlists/dt=2026-13-01")

    problems = engine.refresh_tables()  # before: ValueError, partition '2026-99-99' is not a date
    assert engine.query("SELECT dt, count(*) AS n FROM tracks GROUP BY dt ORDER BY dt").to_pylist() == before
    assert "transformed/tracks/dt=2026-99-99/ is not a dt=YYYY-MM-DD folder: ignored" in problems
    assert "transformed/albums/dt=latest/ is not a dt=YYYY-MM-DD folder: ignored" in problems
    assert lake.list_partitions("raw/playlists") == [first, second, _days(3)[2]]

    # the catalog step reports them in its metadata and its log, and succeeds
    with dg.instance_for_test() as instance:
        result = dg.materialize([catalog_tables], partition_key=second, instance=instance,
                                resources=_resources(root, str(tmp_path / "w.duckdb")))
    assert result.success
    metadata = next(iter(result.asset_materializations_for_node("catalog_tables"))).metadata
    assert "transformed/tracks/dt=2026-99-99/ is not a dt=YYYY-MM-DD folder: ignored" in metadata["skipped"].value
