"""A lake with several published days, built once per module from the crawled raw day.

Days (``TEST_DAY`` = D): D and D-1 full, D-6 without the playlist item pages (fewer appearances, so the
day's movers are the tracks of the later pages), D-3 never published. Days after the first transform are
published copies of it (a day folder holds its manifest and version, both relative to the folder)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.tables import TABLES
from spotify_assets_tests.conftest import TEST_DAY
from spotify_assets_tests.emulation import copy_raw

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
    copy_raw(raw_root, root)
    assert transform_day(Lake(root), partition, "full").held_back is None
    _copy_published_day(root, D, day(-1))
    # D-6: the same crawl without the item pages after each playlist's first
    reduced = str(tmp_path_factory.mktemp("reduced") / "lake")
    copy_raw(raw_root, reduced, without=("playlist_items",))
    assert transform_day(Lake(reduced), partition, "reduced").held_back is None
    for zone in ("transformed", "quarantine"):
        for table in TABLES:
            shutil.copytree(os.path.join(reduced, zone, table, f"dt={D}"), os.path.join(root, zone, table, f"dt={day(-6)}"))
    return root


@pytest.fixture
def lake_uri(published_lake, local_or_s3_lake) -> str:
    """The published lake, copied whole (manifests included) to a local directory or to the moto S3 server."""
    for path in Path(published_lake).rglob("*"):
        if path.is_file():
            local_or_s3_lake.write_bytes(path.relative_to(published_lake).as_posix(), path.read_bytes())
    return local_or_s3_lake.root_uri
