"""A day is one version across its tables. A run is killed (SIGKILL) while publishing a day, between the
switch of ``tracks`` and that of ``albums``; every reader that follows the lake then sees the day whole, at
one version: the DuckDB views and the Glue partitions (through the real catalog step), the lake IO manager,
and the audit of the next day comparing with it. Before, a reader following the tables' manifests saw the new
tracks beside the old albums: tracks whose album is missing, a broken reference the audit blocks."""

from __future__ import annotations

import datetime as dt
import textwrap

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from spotify_assets.defs.catalog.assets import catalog_tables
from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.parquet import read_table_partitions
from spotify_assets.lake.publication.manifests import current_version
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.tables import TABLES
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.glue import GlueCatalog
from spotify_assets.warehouse.resources import WarehouseResource
from spotify_assets_tests.emulation import copy_raw, crawl_into_lake
from spotify_assets_tests.processes import kill_at_point

pytestmark = pytest.mark.slow  # a killed subprocess, the catalog step, a second day

READ = ("playlist_items", "tracks", "albums", "artists")

KILLED_PUBLISH = textwrap.dedent(
    """
    import os, sys, time
    from spotify_assets.lake.storage import Lake
    from spotify_assets.publish.wap import transform_day

    root, partition, ready = sys.argv[1:4]
    real_write_bytes = Lake.write_bytes

    def write_bytes(self, rel, data):
        if rel == f"transformed/albums/dt={partition}/_published.json":  # tracks' manifest is written by now
            open(ready, "w").write(str(os.getpid()))
            time.sleep(600)
        return real_write_bytes(self, rel, data)

    Lake.write_bytes = write_bytes
    transform_day(Lake(root), partition, "killed-run")
    print("finished without pausing", flush=True)
    """
)


def _kill_while_publishing(lake: Lake, partition: str, tmp_path) -> None:
    ready = tmp_path / "ready"
    kill_at_point(KILLED_PUBLISH, [lake.root_uri, partition, str(ready)], ready, "publishing")


@pytest.fixture(scope="module")
def earlier_raw(tmp_path_factory, crawled_raw) -> str:
    """The raw zone of the same day as another crawl saw it (another catalog): its tracks have other albums."""
    root = str(tmp_path_factory.mktemp("earlier") / "lake")
    crawl_into_lake(root, dt.date.fromisoformat(crawled_raw[1]), mode="extended", seed=7)
    return root


def _clean_version(raw_root: str, partition: str, root: str) -> dict:
    """Each read table's version name and row count, published by an uninterrupted run on a lake of its own
    (version names are content hashes: the same on any lake)."""
    lake = copy_raw(raw_root, root)
    assert transform_day(lake, partition, "clean").held_back is None
    return {t: (current_version(lake, "transformed", t, partition).version,
                read_table_partitions(lake, t, [partition]).num_rows) for t in READ}


@dg.asset(partitions_def=daily_partitions, ins={t: dg.AssetIn() for t in READ})
def day_reader(playlist_items: pa.Table, tracks: pa.Table, albums: pa.Table, artists: pa.Table):
    """What a user's Python asset sees of a day: its tables through the lake IO manager."""
    with_album = tracks.filter(pc.is_valid(tracks["album_id"]))
    orphans = with_album.filter(pc.invert(pc.is_in(with_album["album_id"], albums["album_id"]))).num_rows
    loaded = {"playlist_items": playlist_items, "tracks": tracks, "albums": albums, "artists": artists}
    return dg.MaterializeResult(metadata={"orphan_tracks": orphans, **{t: v.num_rows for t, v in loaded.items()}})


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> Lake:
    if request.param == "local":
        return Lake(str(tmp_path / "lake"))
    return Lake(f"s3://{request.getfixturevalue('s3_bucket')}/lake")


def test_a_kill_between_two_tables_leaves_every_reader_a_whole_day(crawled_raw, earlier_raw, lake, tmp_path):
    raw_root, day = crawled_raw
    old = _clean_version(earlier_raw, day, str(tmp_path / "old"))
    new = _clean_version(raw_root, day, str(tmp_path / "new"))
    assert all(old[t] != new[t] for t in READ), "the versions must differ"
    whole = ({t: rows for t, (_, rows) in old.items()}, {t: rows for t, (_, rows) in new.items()})

    copy_raw(earlier_raw, lake)
    assert transform_day(lake, day, "old").held_back is None  # the day at its old version ...
    lake.delete_dir("raw")
    copy_raw(raw_root, lake)  # ... then the day is crawled again, and the new version's publication is killed
    _kill_while_publishing(lake, day, tmp_path)

    # the lake IO manager (what a Python asset loads)
    lake_resource = LakeResource(root_uri=lake.root_uri)
    with dg.instance_for_test() as instance:
        loaded = dg.materialize([day_reader, transformed_tables], selection=[day_reader], partition_key=day,
                                instance=instance, resources={"lake_io_manager": LakeIOManager(lake=lake_resource),
                                                              "lake": lake_resource})
    metadata = {k: v.value for k, v in next(iter(loaded.asset_materializations_for_node("day_reader"))).metadata.items()}
    assert metadata["orphan_tracks"] == 0
    assert {t: metadata[t] for t in READ} in whole

    # the catalog, through the real catalog step: DuckDB views locally, Glue partitions on S3
    if lake.is_local:
        warehouse = WarehouseResource(env="local", lake=lake_resource, duckdb_path=str(tmp_path / "w.duckdb"))
    else:
        warehouse = WarehouseResource(env="aws", lake=lake_resource, glue_database="day_version_test")
    with dg.instance_for_test() as instance:
        assert dg.materialize([catalog_tables], partition_key=day, instance=instance,
                              resources={"warehouse": warehouse}).success
    if lake.is_local:
        engine = DuckDBEngine(lake, str(tmp_path / "w.duckdb"))
        counts = {t: engine.query(f"SELECT count(*) FROM {t} WHERE dt = '{day}'").scalar() for t in READ}
        orphans = engine.query(
            f"SELECT count(*) FROM tracks t WHERE t.dt = '{day}' AND t.album_id IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM albums a WHERE a.dt = t.dt AND a.album_id = t.album_id)").scalar()
        assert orphans == 0
        assert counts in whole
    else:
        glue = GlueCatalog(database="day_version_test", lake_uri=lake.root_uri)
        partitions = {t: glue.get_partition(t, day) for t in READ}
        versions = {t: p["StorageDescriptor"]["Location"].rstrip("/").rsplit("/v-", 1)[1] for t, p in partitions.items()}
        assert versions in ({t: v for t, (v, _) in old.items()}, {t: v for t, (v, _) in new.items()})
        assert len({p["Parameters"]["spotify_day_version"] for p in partitions.values()}) == 1

    # the audit of the next day compares with one whole version of this one
    next_day = (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()
    copy_raw(raw_root, lake, day=next_day)
    outcome = transform_day(lake, next_day, "next")
    drift = {o.table: o.metadata for o in outcome.checks if o.check == "stable_against_previous_partition"}
    assert {t: drift[t]["previous_rows"] for t in READ} in whole
    assert all(drift[t]["previous_partition"] == day for t in READ)


def test_the_day_manifest_names_every_table_of_the_day(crawled_raw, tmp_path):
    raw_root, day = crawled_raw
    lake = copy_raw(raw_root, str(tmp_path / "lake"))
    assert transform_day(lake, day, "run").held_back is None
    from spotify_assets.lake.publication.manifests import Manifests

    manifests = Manifests(lake)
    version = manifests.day(day)
    assert sorted(version.tables) == sorted([f"transformed/{t}" for t in TABLES] + [f"quarantine/{t}" for t in TABLES])
    for t in TABLES:  # each table's own manifest says which day version it belongs to
        assert manifests.table_manifest("transformed", t, day).day_version == version.version
