"""A write–audit–publish run killed (SIGKILL) at any point, then re-run.

The day is first published from an older raw zone (the "old" version); then the full raw zone is landed
and the day is staged, audited and published again in a subprocess that pauses at a chosen point and
tells the test, which SIGKILLs it there:

* while staging: between two tables, or in the middle of writing a Parquet file;
* after the audit, before publishing anything;
* while publishing: every version object in place, the day manifest not yet written (the switch);
* after the switch, between two tables' own manifests (albums rewritten to match, artists not yet).

What consumers read must then be the old version or the new one, the whole day at one version (never a
partial or temporary file, never one table new and another old), and a re-run must converge on exactly what
an uninterrupted run publishes.
"""

from __future__ import annotations

import os
import shutil
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_assets.lake.publication.manifests import Manifests, published_file
from spotify_assets.lake.publication.staging import STAGING_ROOT, staged_runs
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.tables import TABLES
from spotify_assets_tests.emulation import copy_raw
from spotify_assets_tests.processes import kill_at_point

pytestmark = pytest.mark.slow  # end to end: subprocesses, several runs (pytest -m slow)

CHILD = textwrap.dedent(
    """
    import os, sys, threading, time
    import pyarrow.parquet as pq
    import spotify_assets.transform.pipeline as pipeline
    import spotify_assets.publish.wap as wap
    from spotify_assets.lake.storage import Lake

    root, partition, mode, ready = sys.argv[1:5]
    lock = threading.Lock()
    counts = {}

    def pause():
        open(ready, "w").write(str(os.getpid()))
        time.sleep(600)

    def nth(kind):  # tables may be written by several threads: count under a lock
        with lock:
            counts[kind] = counts.get(kind, 0) + 1
            return counts[kind]

    real_write_file = pipeline.write_table_file
    def write_table_file(*args, **kwargs):
        if mode == "staging_between_tables" and nth("tables") == 4:
            pause()  # three tables staged, the others not yet
        return real_write_file(*args, **kwargs)

    real_pq_write = pq.ParquetWriter.write_table
    def write_table(self, *args, **kwargs):
        real_pq_write(self, *args, **kwargs)
        if mode == "staging_inside_a_file" and nth("writes") == 4:
            pause()  # this file's temporary object is written but neither closed nor moved

    real_publish_day = wap.publish_day
    def publish_day(staging):
        if mode == "after_audit":
            pause()  # audited, nothing published
        return real_publish_day(staging)

    real_write_bytes = Lake.write_bytes
    def write_bytes(self, rel, data):
        if mode == "before_day_switch" and rel.startswith("transformed/_days/"):
            pause()  # every version in place, the day manifest not written
        if mode == "mid_publish" and rel.startswith("transformed/artists/") and rel.endswith("_published.json"):
            pause()  # the day switched; the tables' own manifests up to albums rewritten, artists' not yet
        return real_write_bytes(self, rel, data)

    pipeline.write_table_file = write_table_file
    pq.ParquetWriter.write_table = write_table
    wap.publish_day = publish_day
    Lake.write_bytes = write_bytes
    outcome = wap.transform_day(Lake(root), partition, "killed-run")
    print("finished without pausing", outcome.held_back, flush=True)
    """
)

MODES = ["staging_between_tables", "staging_inside_a_file", "after_audit", "before_day_switch", "mid_publish"]


def _published(root: str) -> dict[str, bytes | None]:
    """What consumers read: the published object of every table and quarantine of the day (None: none)."""
    lake = Lake(root)
    day = next(iter(lake.list_partitions("raw/playlists")))
    found = {}
    for zone in ("transformed", "quarantine"):
        for table in TABLES:
            rel = published_file(lake, zone, table, day)
            found[f"{zone}/{table}"] = lake.read_bytes(rel) if rel else None
    return found


def _kill_at(tmp_path, root: str, partition: str, mode: str) -> None:
    ready = tmp_path / f"ready-{mode}"
    kill_at_point(CHILD, [root, partition, mode, str(ready)], ready, "transform", timeout=120, grace=0.1)


@pytest.fixture(scope="module")
def versions(crawled_raw, tmp_path_factory):
    """The old version (published without the full album and artist objects: the albums, artists and top_artists
    sources) and the new one (the whole raw zone)."""
    raw_root, partition = crawled_raw
    base = tmp_path_factory.mktemp("versions")
    old_root, new_root = str(base / "old"), str(base / "new")
    copy_raw(raw_root, old_root, without=("albums", "artists", "top_artists"))
    assert transform_day(Lake(old_root), partition, "old").held_back is None
    copy_raw(raw_root, new_root)
    assert transform_day(Lake(new_root), partition, "new").held_back is None
    old, new = _published(old_root), _published(new_root)
    assert all(old[f"transformed/{t}"] != new[f"transformed/{t}"] for t in ("albums", "artists")), "versions must differ"
    return old_root, old, new


@pytest.mark.parametrize("mode", MODES)
def test_killed_run_leaves_old_or_new_version_and_rerun_converges(tmp_path, crawled_raw, versions, mode):
    raw_root, partition = crawled_raw
    old_root, old, new = versions
    killed = str(tmp_path / "killed")
    shutil.copytree(old_root, killed)  # the old version published ...
    shutil.rmtree(os.path.join(killed, "raw"))
    copy_raw(raw_root, killed)  # ... and the whole raw zone landed since

    _kill_at(tmp_path, killed, partition, mode)

    visible = _published(killed)
    for name, data in visible.items():
        assert data in (old[name], new[name]), f"{name} is neither the old nor the new version"
        if data and name.startswith("transformed/"):
            pq.read_table(pa.BufferReader(data))  # a complete Parquet file
    replaced = sorted(p for p in visible if visible[p] != old[p])
    if mode == "mid_publish":  # the day switched as a whole, though the artists' own manifest was not rewritten
        assert visible == new, [p for p in new if visible[p] != new[p]]
        manifests = Manifests(Lake(killed))
        day = manifests.day(partition).version
        # a tool reading one table's own manifest sees that it lags behind the day, and can wait
        assert manifests.table_manifest("transformed", "albums", partition).day_version == day
        assert manifests.table_manifest("transformed", "artists", partition).day_version != day
    else:
        assert replaced == [], f"nothing may be published before the kill point, but {replaced} changed"
    assert staged_runs(Lake(killed), partition)[0].run_id == "killed-run"  # invisible leftovers

    outcome = transform_day(Lake(killed), partition, "the-rerun")  # what a retry or the next run does
    assert outcome.held_back is None
    again = _published(killed)
    assert [p for p in new if again[p] != new[p]] == [], "the re-run must publish exactly the clean run's bytes"
    assert staged_runs(Lake(killed), partition) == [], "the re-run removes what the killed run left staged"
    leftovers = [f.path for f in Lake(killed).list_files(STAGING_ROOT, include_hidden=True)]
    assert all(p.startswith(f"{STAGING_ROOT}/_tmp/") for p in leftovers), leftovers
