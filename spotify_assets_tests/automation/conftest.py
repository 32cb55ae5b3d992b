"""Fixtures for the automation tests: definitions with the automation wired onto stand-in assets."""

from __future__ import annotations

import gzip
import json
import os

import pytest


def write_raw_file(root: str, source: str, partition: str, name: str = "extract", lines: int = 1) -> str:
    """Land a raw-zone file in a local lake the way any tool would; returns its relative key."""
    rel = f"raw/{source}/dt={partition}/{name}.jsonl.gz"
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    payload = b"".join(
        json.dumps(
            {
                "request": f"/v1/{source}/{i}",
                "status": 200,
                "fetched_at": f"{partition}T06:00:00Z",
                "body": {"id": str(i)},
            }
        ).encode()
        + b"\n"
        for i in range(lines)
    )
    with open(path, "wb") as f:
        f.write(gzip.compress(payload))
    return rel


@pytest.fixture
def local_lake(tmp_path):
    root = tmp_path / "lake"
    root.mkdir()
    return str(root)


@pytest.fixture
def land_raw():
    """``land_raw(root, source, partition, name="extract", lines=1)`` writes a raw file, returns its key."""
    return write_raw_file


def stub_definitions(auto, lake_uri: str = "./data/lake"):
    """The automation of ``auto`` over stand-in assets (one per group), so jobs resolve without the pipeline."""
    import dagster as dg

    from spotify_assets.lake.resource import LakeResource
    from spotify_assets.partitions import daily_partitions

    def stub(name: str, group: str, deps=()):
        @dg.asset(name=name, group_name=group, partitions_def=daily_partitions, deps=list(deps))
        def _a():
            return None

        return _a

    assets = [
        stub("raw_tracks", "raw"),
        stub("raw_plays", "raw"),
        stub("tracks", "transformed", ["raw_tracks", "raw_plays"]),
        stub("catalog_tracks", "catalog", ["tracks"]),
        stub("daily_top_tracks", "analytics", ["catalog_tracks"]),
    ]
    return dg.Definitions(
        assets=assets, resources={"lake": LakeResource(root_uri=lake_uri)}, **auto.as_kwargs()
    )


@pytest.fixture
def stub_defs():
    return stub_definitions

