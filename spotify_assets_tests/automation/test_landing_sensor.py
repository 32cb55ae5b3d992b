"""raw_landing_sensor on a local lake and on S3 (moto): raw files of other tools become materializations of
the raw assets, once per change; our own crawl's files and anything that is not a raw file are ignored."""

from __future__ import annotations

import gzip
import os
import time

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from spotify_assets.defs.raw import landing_sensor
from spotify_assets.defs.raw.landing_sensor import (
    RawObject,
    RawSensorCursor,
    detect_landings,
    raw_landing_sensor,
)
from spotify_assets.lake.resource import LakeResource

SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists")


@pytest.fixture(scope="module")
def repo():
    from spotify_assets.definitions import defs

    with dg.instance_for_test():
        return defs.get_repository_def()


def tick(repo, instance, lake_uri: str, cursor: str | None, **lake_kwargs):
    """One tick; returns ``{(raw asset, partition): files}`` reported, the next cursor and the skip reason."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        repository_def=repo,
        resources={
            "lake": LakeResource(root_uri=lake_uri, **lake_kwargs),
            "s3": S3Resource(endpoint_url=lake_kwargs.get("endpoint_url")),
        },
    )
    data = repo.get_sensor_def(landing_sensor.RAW_SENSOR_NAME).evaluate_tick(context)
    assert not data.run_requests  # it reports, the automation conditions decide what runs
    reported = {
        (e.asset_key.to_user_string(), e.partition): e.metadata["files"].value for e in data.asset_events
    }
    return reported, data.cursor, data.skip_message


def _age(root: str, rel: str, seconds_ago: float) -> None:
    t = time.time() - seconds_ago
    os.utime(os.path.join(root, rel), (t, t))


def test_local_lake_reports_each_landing_once(local_lake, land_raw, repo):
    for source in SOURCES:
        _age(local_lake, land_raw(local_lake, source, "2026-11-20"), 50)
    _age(local_lake, land_raw(local_lake, "tracks", "2026-11-21"), 40)
    # Not reported: our own crawl's file, raw_plays' file, a temporary upload, a stray file, an unknown source, a subfolder,
    # a partition before the start.
    land_raw(local_lake, "albums", "2026-11-21", name="spotify_assets")
    land_raw(local_lake, "plays", "2026-11-21", name="plays-20261121T000100000Z-20261121T004500000Z")
    land_raw(local_lake, "tracks", "2026-11-21", name="_tmp-abc-extract")
    with open(os.path.join(local_lake, "raw/tracks/dt=2026-11-21/README.txt"), "w") as f:
        f.write("not data")
    land_raw(local_lake, "podcasts", "2026-11-21")
    land_raw(local_lake, "tracks", "2026-11-21", name="sub/dir/x")
    land_raw(local_lake, "tracks", "2025-06-01")

    with dg.instance_for_test() as instance:
        reported, cursor, _ = tick(repo, instance, local_lake, None)
        assert reported == {
            **{(f"raw_{s}", "2026-11-20"): [f"raw/{s}/dt=2026-11-20/extract.jsonl.gz"] for s in SOURCES},
            ("raw_tracks", "2026-11-21"): ["raw/tracks/dt=2026-11-21/extract.jsonl.gz"],
        }

        # No change: nothing reported.
        reported, cursor2, skip = tick(repo, instance, local_lake, cursor)
        assert reported == {} and skip

        # A file landed by another tool in a new partition: reported, alone.
        land_raw(local_lake, "tracks", "2026-11-22", name="backfill-lambda-0001", lines=3)
        reported, cursor3, _ = tick(repo, instance, local_lake, cursor2)
        assert reported == {("raw_tracks", "2026-11-22"): ["raw/tracks/dt=2026-11-22/backfill-lambda-0001.jsonl.gz"]}

        # The cursor carries the memory (a daemon restart with a fresh instance reports nothing again).
        with dg.instance_for_test() as fresh:
            assert tick(repo, fresh, local_lake, cursor3)[0] == {}

        # Plays landed by another tool are reported like any source (only raw_plays' own names are skipped).
        land_raw(local_lake, "plays", "2026-11-22", name="listening-export")
        reported, cursor3, _ = tick(repo, instance, local_lake, cursor3)
        assert list(reported) == [("raw_plays", "2026-11-22")]

        # Rewriting a file of an already-seen partition is a new landing.
        land_raw(local_lake, "albums", "2026-11-20", lines=2)
        reported, _, _ = tick(repo, instance, local_lake, cursor3)
        assert list(reported) == [("raw_albums", "2026-11-20")]


def test_reported_landings_are_materializations_of_the_raw_assets(local_lake, land_raw):
    land_raw(local_lake, "artists", "2026-11-20", name="other-tool")
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(
            instance=instance, resources={"lake": LakeResource(root_uri=local_lake), "s3": S3Resource()}
        )
        result = raw_landing_sensor(context)
        (event,) = result.asset_events
        assert isinstance(event, dg.AssetMaterialization)
        assert event.asset_key == dg.AssetKey("raw_artists") and event.partition == "2026-11-20"


def test_cursor_json_round_trip():
    cursor = RawSensorCursor(1764000000.123456, {"raw/a|1|1764000000.123456": 1764000000.123456})
    assert RawSensorCursor.from_json(cursor.to_json()) == cursor
    assert RawSensorCursor.from_json("not json") == RawSensorCursor()


def test_same_second_and_late_files_are_not_missed():
    base = 1_764_000_000.0
    first = [RawObject("raw/tracks/dt=2026-11-20/a.jsonl.gz", base, "e1")]
    landed, cursor, _ = detect_landings(first, RawSensorCursor(), 300)
    assert list(landed) == [("tracks", "2026-11-20")]
    # Same mtime (S3 has 1 s resolution), another key; and a late file stamped before the high-water mark.
    second = first + [
        RawObject("raw/tracks/dt=2026-11-20/b.jsonl.gz", base, "e2"),
        RawObject("raw/albums/dt=2026-11-19/late.jsonl.gz", base - 100, "e3"),
    ]
    landed, cursor, _ = detect_landings(second, cursor, 300)
    assert {k: [o.key for o in objs] for k, objs in landed.items()} == {
        ("tracks", "2026-11-20"): ["raw/tracks/dt=2026-11-20/b.jsonl.gz"],
        ("albums", "2026-11-19"): ["raw/albums/dt=2026-11-19/late.jsonl.gz"],
    }
    assert detect_landings(second, cursor, 300)[0] == {}


def _put(s3, bucket: str, key: str, body: bytes = b"{}\n") -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(body))


def test_s3_lake_reports_each_landing_once(s3, s3_bucket, aws_env, repo):
    uri = f"s3://{s3_bucket}/lake"
    _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/extract.jsonl.gz")
    _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/spotify_assets.jsonl.gz")  # our crawl
    _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/_tmp-123-extract.jsonl.gz")  # in-flight write
    _put(s3, s3_bucket, "lake/transformed/tracks/dt=2026-11-21/part-00000.parquet")  # not raw
    _put(s3, s3_bucket, "other-lake/raw/tracks/dt=2026-11-23/extract.jsonl.gz")  # another prefix
    with dg.instance_for_test() as instance:
        reported, cursor, _ = tick(repo, instance, uri, None, endpoint_url=aws_env)
        assert reported == {("raw_tracks", "2026-11-21"): ["raw/tracks/dt=2026-11-21/extract.jsonl.gz"]}
        reported, cursor, skip = tick(repo, instance, uri, cursor, endpoint_url=aws_env)
        assert reported == {} and skip
        # Overwriting an object (new ETag) is a new landing, within the same second maybe.
        _put(s3, s3_bucket, "lake/raw/tracks/dt=2026-11-21/extract.jsonl.gz", b'{"changed": true}\n')
        reported, _, _ = tick(repo, instance, uri, cursor, endpoint_url=aws_env)
        assert list(reported) == [("raw_tracks", "2026-11-21")]
