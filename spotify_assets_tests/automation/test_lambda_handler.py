"""The Lambda handler on a moto S3 server: a synthetic S3 event for a raw object transforms its partition."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse

import boto3
import pyarrow.parquet as pq
import pytest

from spotify_assets import lambda_handler
from spotify_assets.lake.publication import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets.tables import TABLES
from spotify_assets.transform.pipeline import transform_partition


def s3_event(bucket: str, *keys: str, encode: bool = True) -> dict:
    """An S3 ObjectCreated notification as Lambda receives it (keys URL-encoded, spaces as '+')."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                    "object": {"key": urllib.parse.quote_plus(k, safe="/") if encode else k, "size": 1},
                },
            }
            for k in keys
        ]
    }


@pytest.fixture
def s3(aws_env):
    return boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")


def _upload_raw(s3, bucket: str, local_root: str, prefix: str, rename: dict | None = None) -> list[str]:
    keys = []
    for dirpath, _, files in os.walk(os.path.join(local_root, "raw")):
        for name in files:
            rel = os.path.relpath(os.path.join(dirpath, name), local_root).replace(os.sep, "/")
            key = f"{prefix}/{(rename or {}).get(rel, rel)}"
            s3.upload_file(os.path.join(dirpath, name), bucket, key)
            keys.append(key)
    return sorted(keys)


def test_s3_event_transforms_the_partition(s3, s3_bucket, crawled_raw):
    local_root, partition = crawled_raw
    # One file arrives under a name another tool would use, with a space and '=' (URL-encoded in events).
    other = f"raw/artists/dt={partition}/other tool=1.jsonl.gz"
    (artists_file,) = os.listdir(os.path.join(local_root, f"raw/artists/dt={partition}"))
    (tracks_file,) = os.listdir(os.path.join(local_root, f"raw/tracks/dt={partition}"))
    keys = _upload_raw(
        s3, s3_bucket, local_root, "team/lake", {f"raw/artists/dt={partition}/{artists_file}": other}
    )
    assert f"team/lake/{other}" in keys

    event = s3_event(
        s3_bucket,
        f"team/lake/{other}",
        f"team/lake/raw/tracks/dt={partition}/{tracks_file}",
        f"team/lake/raw/tracks/dt={partition}/_tmp-123-extract.jsonl.gz",
        f"team/lake/transformed/tracks/dt={partition}/part-00000.parquet",
    )
    summary = lambda_handler.handler(event, None)

    assert summary["status"] == "ok"
    assert len(summary["processed"]) == 1  # one transform for the partition, however many files
    done = summary["processed"][0]
    assert done["lake"] == f"s3://{s3_bucket}/team/lake"
    assert done["partition"] == partition
    assert done["raw_files"] == 8  # one per source of the daily crawl
    assert done["raw_stable"] is True
    reasons = sorted(i["reason"] for i in summary["ignored"])
    assert reasons == ["not under raw/<source>/dt=YYYY-MM-DD/", "temporary or hidden file"]

    # Same tables as the transform run locally on the same raw files.
    expected = transform_partition(Lake(local_root), partition)
    assert done["rows"] == expected.row_counts
    assert done["rows"]["tracks"] > 0 and done["rows"]["playlists"] > 0
    assert done["published"] is True
    lake = Lake(f"s3://{s3_bucket}/team/lake")
    for table in TABLES:
        rel = published_file(lake, "transformed", table, partition)
        assert done["versions"][table] == lake.uri(rel)
        with lake.open_random_access(rel) as f:
            got = pq.read_table(f)
        assert got.num_rows == expected.row_counts[table]
        assert got.select(expected.tables[table].column_names).equals(expected.tables[table]), table

    # Re-delivery of the same event (Lambda retries, at-least-once S3 notifications) changes nothing.
    again = lambda_handler.handler(event, None)
    assert again["processed"][0]["rows"] == done["rows"]


def test_bucket_root_lake_and_sqs_wrapped_event(s3, s3_bucket, crawled_raw):
    import json

    local_root, partition = crawled_raw
    _upload_raw(s3, s3_bucket, local_root, "")
    (name,) = os.listdir(os.path.join(local_root, f"raw/playlists/dt={partition}"))
    inner = s3_event(s3_bucket, f"raw/playlists/dt={partition}/{name}")
    summary = lambda_handler.handler(
        {"Records": [{"eventSource": "aws:sqs", "body": json.dumps(inner)}]}, None
    )
    assert summary["status"] == "ok"
    assert summary["processed"][0]["lake"] == f"s3://{s3_bucket}"


def test_a_day_holding_only_plays_is_left_to_the_daily_run(s3, s3_bucket):
    import gzip

    key = "lake/raw/plays/dt=2026-11-25/plays-20261125T000100000Z-20261125T000100000Z.jsonl.gz"
    s3.put_object(Bucket=s3_bucket, Key=key, Body=gzip.compress(b'{"request": "/v1/me/player/recently-played"}\n'))
    summary = lambda_handler.handler(s3_event(s3_bucket, key), None)
    (done,) = summary["processed"]
    assert done["published"] is False and "only plays landed" in done["skipped"]
    assert Lake(f"s3://{s3_bucket}/lake").list_files("transformed") == []
    assert Lake(f"s3://{s3_bucket}/lake").list_files("_staging", include_hidden=True) == []


def test_the_handler_knows_every_raw_source():
    from spotify_assets.lake.paths import RAW_SOURCES

    assert lambda_handler.RAW_SOURCES == RAW_SOURCES


def test_non_raw_keys_are_ignored_with_a_message():
    event = s3_event(
        "bucket",
        "lake/transformed/tracks/dt=2026-11-20/part-00000.parquet",
        "lake/raw/README.md",
        "lake/raw/podcasts/dt=2026-11-20/x.jsonl.gz",
        "lake/raw/tracks/dt=2026-13-40/x.jsonl.gz",
    )
    summary = lambda_handler.handler(event, None)
    assert summary["status"] == "ignored"
    assert "nothing to do" in summary["message"]
    assert [i["reason"] for i in summary["ignored"]] == [
        "not under raw/<source>/dt=YYYY-MM-DD/",
        "not under raw/<source>/dt=YYYY-MM-DD/",
        "unknown raw source 'podcasts'",
        "invalid partition '2026-13-40'",
    ]
    assert lambda_handler.handler({"Event": "s3:TestEvent"}, None)["status"] == "ignored"


def test_handler_module_does_not_import_dagster():
    code = (
        "import sys, spotify_assets.lambda_handler as h; import spotify_assets.transform.pipeline; "
        "print('dagster' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
