"""raw_landing_sensor on a local lake and on S3 (moto): one run per changed partition, no duplicates."""

from __future__ import annotations

import gzip
import os
import time
import uuid

import boto3
import dagster as dg
import pytest

from spotify_assets import automation
from spotify_assets.lake.resource import LakeResource

SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists")


@pytest.fixture
def sensor(stub_defs):
    defs = stub_defs(automation.build_automation())
    with dg.instance_for_test():
        repo = defs.get_repository_def()
    return repo.get_sensor_def(automation.RAW_SENSOR_NAME), repo


def tick(sensor, instance, lake_uri: str, cursor: str | None, **lake_kwargs):
    sensor_def, repo = sensor
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=repo,
        resources={"lake": LakeResource(root_uri=lake_uri, **lake_kwargs)},
    )
    data = sensor_def.evaluate_tick(context)
    return data.run_requests or [], data.cursor, data.skip_message


def _age(root: str, rel: str, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(os.path.join(root, rel), (t, t))


def test_local_lake_one_run_per_changed_partition(local_lake, land_raw, sensor):
    write_raw_file = land_raw
    for source in SOURCES:
        _age(local_lake, write_raw_file(local_lake, source, "2026-11-20"), 50)
    for source in ("tracks", "albums"):
        _age(local_lake, write_raw_file(local_lake, source, "2026-11-21"), 40)
    # Not raw files: a temporary upload, a stray file, an unknown source, a partition before the start.
    os.makedirs(os.path.join(local_lake, "raw/tracks/dt=2026-11-21"), exist_ok=True)
    with open(os.path.join(local_lake, "raw/tracks/dt=2026-11-21/_tmp-abc-extract.jsonl.gz"), "wb") as f:
        f.write(gzip.compress(b"{}\n"))
    with open(os.path.join(local_lake, "raw/tracks/dt=2026-11-21/README.txt"), "w") as f:
        f.write("not data")
    write_raw_file(local_lake, "podcasts", "2026-11-21")
    write_raw_file(local_lake, "tracks", "2025-06-01")

    with dg.instance_for_test() as instance:
        requests, cursor, _ = tick(sensor, instance, local_lake, None)
        assert sorted(r.partition_key for r in requests) == ["2026-11-20", "2026-11-21"]
        assert len({r.run_key for r in requests}) == 2
        assert all(r.run_key.startswith(r.partition_key + ":") for r in requests)
        first_keys = {r.partition_key: r.run_key for r in requests}

        # No change: no run.
        requests, cursor2, skip = tick(sensor, instance, local_lake, cursor)
        assert requests == [] and skip

        # A file landed by another tool (another name) in a new partition: one request for it.
        write_raw_file(local_lake, "tracks", "2026-11-22", name="backfill-lambda-0001", lines=3)
        requests, cursor3, _ = tick(sensor, instance, local_lake, cursor2)
        assert [r.partition_key for r in requests] == ["2026-11-22"]

        # Cursor round trip: a fresh instance (daemon restarted, run keys forgotten) with the saved cursor.
        with dg.instance_for_test() as fresh:
            requests, cursor4, _ = tick(sensor, fresh, local_lake, cursor3)
            assert requests == []

        # Rewriting a file of an already-seen partition is a new change with a new run key.
        write_raw_file(local_lake, "albums", "2026-11-21", lines=2)
        requests, _, _ = tick(sensor, instance, local_lake, cursor4)
        assert [r.partition_key for r in requests] == ["2026-11-21"]
        assert requests[0].run_key != first_keys["2026-11-21"]


def test_cursor_json_round_trip():
    cursor = automation.RawSensorCursor(
        1764000000.123456, {"raw/a|1|1764000000.123456": 1764000000.123456}, {"2026-11-20": "k"}
    )
    again = automation.RawSensorCursor.from_json(cursor.to_json())
    assert again == cursor
    assert automation.RawSensorCursor.from_json("not json") == automation.RawSensorCursor()


def test_same_second_and_late_files_are_not_missed():
    base = 1_764_000_000.0
    first = [automation.RawObject("raw/tracks/dt=2026-11-20/a.jsonl.gz", base, "e1")]
    changed, cursor, _ = automation.detect_changes(first, automation.RawSensorCursor(), 300)
    assert list(changed) == ["2026-11-20"]
    # Same mtime (S3 has 1 s resolution), another key; and a late file stamped before the high-water mark.
    second = first + [
        automation.RawObject("raw/tracks/dt=2026-11-20/b.jsonl.gz", base, "e2"),
        automation.RawObject("raw/albums/dt=2026-11-19/late.jsonl.gz", base - 100, "e3"),
    ]
    changed, cursor, _ = automation.detect_changes(second, cursor, 300)
    assert {p: [o.key for o in objs] for p, objs in changed.items()} == {
        "2026-11-20": ["raw/tracks/dt=2026-11-20/b.jsonl.gz"],
        "2026-11-19": ["raw/albums/dt=2026-11-19/late.jsonl.gz"],
    }
    changed, _, _ = automation.detect_changes(second, cursor, 300)
    assert changed == {}


def test_partition_with_run_in_progress_is_deferred_then_requested(local_lake, land_raw, sensor):
    write_raw_file = land_raw
    write_raw_file(local_lake, "tracks", "2026-11-20")
    with dg.instance_for_test() as instance:
        run = dg.DagsterRun(
            job_name=automation.DAILY_JOB_NAME,
            run_id=str(uuid.uuid4()),
            tags={"dagster/partition": "2026-11-20"},
            status=dg.DagsterRunStatus.STARTED,
        )
        instance.add_run(run)
        requests, cursor, skip = tick(sensor, instance, local_lake, None)
        assert requests == [] and "in progress" in skip
        assert "2026-11-20" in automation.RawSensorCursor.from_json(cursor).pending
        instance.delete_run(run.run_id)
        requests, cursor, _ = tick(sensor, instance, local_lake, cursor)
        assert [r.partition_key for r in requests] == ["2026-11-20"]
        assert automation.RawSensorCursor.from_json(cursor).pending == {}


def test_partition_already_transformed_by_the_run_that_landed_it_is_skipped(local_lake, land_raw, sensor):
    write_raw_file = land_raw
    _age(local_lake, write_raw_file(local_lake, "tracks", "2026-11-20"), 30)
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization("tracks", partition="2026-11-20"))
        requests, _, skip = tick(sensor, instance, local_lake, None)
        assert requests == [] and "already transformed" in skip


def test_a_day_holding_only_plays_waits_for_its_crawl(local_lake, land_raw, sensor):
    """Plays land hourly from midnight; until the day's crawl has landed its transform would be held back
    (empty catalog tables), so the sensor leaves the day to the daily run, which transforms after crawling."""
    write_raw_file = land_raw
    _age(local_lake, write_raw_file(local_lake, "plays", "2026-11-20", name="plays-a"), 50)
    _age(local_lake, write_raw_file(local_lake, "tracks", "2026-11-19"), 50)
    _age(local_lake, write_raw_file(local_lake, "plays", "2026-11-19", name="plays-b"), 50)
    with dg.instance_for_test() as instance:
        requests, cursor, skip = tick(sensor, instance, local_lake, None)
        assert [r.partition_key for r in requests] == ["2026-11-19"]  # the day before midnight: its crawl is there
        # the crawl of 2026-11-20 lands later (the daily run, or another tool): its file is a change like any
        write_raw_file(local_lake, "playlists", "2026-11-20")
        requests, cursor, _ = tick(sensor, instance, local_lake, cursor)
        assert [r.partition_key for r in requests] == ["2026-11-20"]
        # from then on each hourly plays file of the day is a change of a transformable day
        write_raw_file(local_lake, "plays", "2026-11-20", name="plays-c")
        requests, cursor, _ = tick(sensor, instance, local_lake, cursor)
        assert [r.partition_key for r in requests] == ["2026-11-20"]
    with dg.instance_for_test() as instance:
        write_raw_file(local_lake, "plays", "2026-11-21", name="plays-d")
        requests, _, skip = tick(sensor, instance, local_lake, cursor)
        assert requests == [] and "2026-11-21: only plays landed so far" in skip


@pytest.fixture
def s3(aws_env):
    return boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")


def _put(s3, bucket: str, key: str, body: bytes = b"{}\n") -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body))


def test_s3_lake_one_run_per_changed_partition(s3, s3_bucket, aws_env, sensor):
    uri = f"s3://{s3_bucket}/lake"
    for source in SOURCES:
        _put(s3, s3_bucket, f"lake/raw/{source}/dt=2026-11-20/extract.jsonl.gz")
    _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/extract.jsonl.gz")
    _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/_tmp-123-extract.jsonl.gz")  # in-flight atomic write
    _put(s3, s3_bucket, "lake/transformed/tracks/dt=2026-11-21/part-00000.parquet")  # not raw
    _put(s3, s3_bucket, "other-lake/raw/tracks/dt=2026-11-23/extract.jsonl.gz")  # another prefix
    with dg.instance_for_test() as instance:
        requests, cursor, _ = tick(sensor, instance, uri, None, endpoint_url=aws_env)
        assert sorted(r.partition_key for r in requests) == ["2026-11-20", "2026-11-21"]
        assert len({r.run_key for r in requests}) == 2

        requests, cursor, skip = tick(sensor, instance, uri, cursor, endpoint_url=aws_env)
        assert requests == [] and skip

        # Another tool lands a differently named file in a new partition, within the same second maybe.
        _put(s3, s3_bucket, "lake/raw/artists/dt=2026-11-22/lambda-backfill%3D1.jsonl.gz", b'{"x": 1}\n')
        requests, cursor, _ = tick(sensor, instance, uri, cursor, endpoint_url=aws_env)
        assert [r.partition_key for r in requests] == ["2026-11-22"]

        with dg.instance_for_test() as fresh:
            requests, _, _ = tick(sensor, fresh, uri, cursor, endpoint_url=aws_env)
            assert requests == []

        # Overwriting an object (new ETag) of a seen partition is a change.
        _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/extract.jsonl.gz", b'{"changed": true}\n')
        requests, _, _ = tick(sensor, instance, uri, cursor, endpoint_url=aws_env)
        assert [r.partition_key for r in requests] == ["2026-11-21"]
