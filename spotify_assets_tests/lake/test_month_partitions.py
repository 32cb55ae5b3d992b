"""Publication of tables partitioned by month and of tables published whole (the listening history), with the
same guarantees as the daily tables: content-named versions, one manifest switch each, the staging of a
multi-partition run, superseded versions removed once replaced; Glue registers only the months that changed."""

from __future__ import annotations

import uuid

import pyarrow as pa
import pytest

from spotify_assets.history.wap import months_of, new_staging, publish_table, read_history, stage_table
from spotify_assets.lake.paths import parse_partition_folder, partition_folder
from spotify_assets.lake.publication.manifests import current_version, published_partitions
from spotify_assets.lake.publication.publish import publish
from spotify_assets.lake.publication.staging import Staging, staged_runs
from spotify_assets.lake.publication.superseded import remove_superseded
from spotify_assets.lake.storage import Lake
from spotify_assets.tables.history import LISTENS
from spotify_assets.warehouse.glue import GlueCatalog


def listens(*days: str) -> pa.Table:
    import datetime as dt

    rows = [{"listen_id": f"l{i}", "listened_at": dt.datetime.fromisoformat(f"{d}T12:00:00+00:00"), "dt": d,
             "kind": "track", "source": "plays"} for i, d in enumerate(days)]
    return pa.Table.from_pylist(rows, schema=LISTENS.schema)


def test_partition_folders_by_the_shape_of_the_value():
    assert partition_folder("2026-11-24") == "dt=2026-11-24"
    assert partition_folder("2014-07") == "month=2014-07"
    for bad in ("2014-13", "2014-7", "20140701", "2014-07-32"):
        with pytest.raises(ValueError):
            partition_folder(bad)
    assert parse_partition_folder("month=2014-07") == "2014-07" and parse_partition_folder("dt=2014-07-01") == "2014-07-01"
    assert parse_partition_folder("month=junk") is None and parse_partition_folder("v-0123") is None


def test_a_multi_partition_run_stages_months_and_publishes_each_with_its_own_manifest(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    table = listens("2014-07-01", "2014-07-31", "2020-05-05")
    assert months_of(table) == [("2014-07", 0, 2), ("2020-05", 2, 1)]
    staging = new_staging(lake, "run-1.listens")
    assert staging.root == "_staging/runs/run-1.listens"
    staged = stage_table(staging, LISTENS, table, [{"reason": "x"}])
    assert sorted(staged.months) == ["2014-07", "2020-05"] and staged.rows == 3
    assert staged.months["2014-07"].path == "_staging/runs/run-1.listens/transformed/listens/month=2014-07/part-00000.parquet"
    assert [r.partition for r in staged_runs(lake)] == [None]
    published = publish_table(staged, with_quarantine=True)
    assert [(p.zone, p.version.partition, p.action) for p in published] == [
        ("transformed", "2014-07", "created"), ("transformed", "2020-05", "created"), ("quarantine", None, "created")]
    assert published_partitions(lake, "transformed", "listens", key="month") == ["2014-07", "2020-05"]
    whole = current_version(lake, "quarantine", "listens", None)
    assert whole.file.startswith("quarantine/listens/v-") and lake.exists("quarantine/listens/_published.json")
    assert read_history(lake, LISTENS).num_rows == 3

    # the same rows again: nothing changes; a month that lost its rows is published empty
    again = new_staging(lake, "run-2.listens")
    staged = stage_table(again, LISTENS, listens("2014-07-01", "2014-07-31"))
    assert staged.emptied == ["2020-05"]
    actions = {p.version.partition: p.action for p in publish_table(staged, with_quarantine=False)}
    assert actions == {"2014-07": "unchanged", "2020-05": "replaced"}
    assert current_version(lake, "transformed", "listens", "2020-05").file is None
    assert read_history(lake, LISTENS)["dt"].to_pylist() == ["2014-07-01", "2014-07-31"]


def test_superseded_versions_of_months_and_whole_tables_are_removed_after_the_next_switch(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    versions = []
    for run, payload in enumerate((b"v1", b"v2", b"v3")):
        staging = Staging(lake, None, f"run-{run}")
        lake.write_bytes(staging.file("quarantine", "streams", None), payload)
        lake.write_bytes(staging.file("transformed", "streams", "2014-07"), payload)
        publish(staging, [("quarantine", "streams", None), ("transformed", "streams", "2014-07")])
        staging.discard()
        versions.append(current_version(lake, "quarantine", "streams", None).file)
    removed = remove_superseded(lake, "quarantine", "streams", None)
    assert removed == [versions[0].rsplit("/", 1)[0]]  # v1 goes; v2 (just replaced) and v3 (current) stay
    assert [f.path for f in lake.list_files("quarantine/streams", include_hidden=True)] == [
        "quarantine/streams/_published.json", *sorted(versions[1:])]
    assert len(remove_superseded(lake, "transformed", "streams", "2014-07")) == 1
    assert published_partitions(lake, "quarantine", "streams") == []  # a whole table has no partitions


def test_glue_touches_only_the_months_whose_version_changed(aws_env, s3_bucket):
    lake = Lake(f"s3://{s3_bucket}/lake")
    glue = GlueCatalog(database=f"spotify_{uuid.uuid4().hex[:8]}", lake_uri=lake.uri(), endpoint_url=aws_env,
                       region="us-east-1")
    glue.ensure_database()
    glue.ensure_table(LISTENS)
    months = [f"20{y:02d}-{m:02d}" for y in range(14, 24) for m in range(1, 13)]  # ten years: 120 months

    def publish_months(days: list[str], run: str):
        staged = stage_table(new_staging(lake, run), LISTENS, listens(*days))
        publish_table(staged, with_quarantine=False)
        staged.staging.discard()

    publish_months([f"{m}-15" for m in months], "run-1")
    assert glue.sync_partitions(LISTENS, months) == {"created": 120, "updated": 0, "unchanged": 0, "not published": 0}
    assert glue.list_partitions("listens") == months
    publish_months([f"{m}-15" for m in months] + ["2019-06-16"], "run-2")
    assert glue.sync_partitions(LISTENS, months + ["2030-01"]) == {
        "created": 0, "updated": 1, "unchanged": 119, "not published": 1}
    location = glue.get_partition("listens", "2019-06")["StorageDescriptor"]["Location"]
    assert location == lake.uri(current_version(lake, "transformed", "listens", "2019-06").folder) + "/"
