"""A lake with several published days, built once per module from the crawled raw day.

Days (``TEST_DAY`` = D): D and D-1 full, D-6 without the playlist item pages (fewer appearances, so the
day's movers are the tracks of the later pages), D-3 never published. Days after the first transform are
published copies of it (a day folder holds its manifest and version, both relative to the folder)."""

from __future__ import annotations

import datetime as dt
import os
import shutil

import boto3
import pytest

from spotify_assets.lake.storage import Lake
from spotify_assets.tables import TABLES
from spotify_assets.wap import transform_day
from spotify_assets_tests.conftest import TEST_DAY

D = TEST_DAY.isoformat()


def day(offset: int) -> str:
    return (TEST_DAY + dt.timedelta(days=offset)).isoformat()


def _copy_published_day(root: str, src: str, dst: str) -> None:
    for zone in ("transformed", "quarantine"):
        for table in TABLES:
            shutil.copytree(os.path.join(root, zone, table, f"dt={src}"), os.path.join(root, zone, table, f"dt={dst}"))


@pytest.fixture(scope="module")
def published_lake(crawled_raw, tmp_path_factory) -> str:
    raw_root, partition = crawled_raw
    root = str(tmp_path_factory.mktemp("published") / "lake")
    shutil.copytree(os.path.join(raw_root, "raw"), os.path.join(root, "raw"))
    assert transform_day(Lake(root), partition, "full").held_back is None
    _copy_published_day(root, D, day(-1))
    # D-6: the same crawl without the item pages after each playlist's first
    reduced = str(tmp_path_factory.mktemp("reduced") / "lake")
    shutil.copytree(os.path.join(raw_root, "raw"), os.path.join(reduced, "raw"))
    shutil.rmtree(os.path.join(reduced, "raw", "playlist_items"))
    assert transform_day(Lake(reduced), partition, "reduced").held_back is None
    for zone in ("transformed", "quarantine"):
        for table in TABLES:
            shutil.copytree(os.path.join(reduced, zone, table, f"dt={D}"), os.path.join(root, zone, table, f"dt={day(-6)}"))
    return root


def upload_tree(root: str, bucket: str, prefix: str) -> None:
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            s3.upload_file(path, bucket, f"{prefix}/{os.path.relpath(path, root).replace(os.sep, '/')}")


@pytest.fixture(params=["local", "s3"])
def lake_uri(request, published_lake, tmp_path) -> str:
    """The published lake, as a local directory (a fresh copy) or on the moto S3 server."""
    if request.param == "local":
        root = str(tmp_path / "lake")
        shutil.copytree(published_lake, root)
        return root
    bucket = request.getfixturevalue("s3_bucket")
    upload_tree(published_lake, bucket, "lake")
    return f"s3://{bucket}/lake"
