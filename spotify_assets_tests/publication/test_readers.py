"""Readers see only complete, published versions: DuckDB views queried in a loop while a day is re-published
again and again (two alternating versions) and while the writing process is killed; and files left in a
partition folder by a crashed writer change no query, locally and on S3 (httpfs)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from spotify_assets.lake.publication import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets.wap import transform_day
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets_tests.emulation import copy_raw

pytestmark = pytest.mark.slow  # end to end: subprocesses, several runs (pytest -m slow)

TABLES_READ = ("tracks", "albums", "album_artists", "artists", "playlist_items")
COUNTS = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in TABLES_READ)

WRITER = textwrap.dedent(
    """
    import os, shutil, sys
    from spotify_assets.lake.publication import remove_superseded
    from spotify_assets.lake.storage import Lake
    from spotify_assets.tables import TABLES
    from spotify_assets.wap import transform_day
    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    root, partition, items_backup, progress, db = sys.argv[1:6]
    engine = DuckDBEngine(Lake(root), db)
    items = os.path.join(root, "raw", "playlist_items")
    for i in range(10_000):  # until killed
        if i % 2:
            shutil.rmtree(items, ignore_errors=True)  # version B: without the item pages after the first
        elif not os.path.exists(items):
            shutil.copytree(items_backup, items)  # version A: the whole raw zone
        outcome = transform_day(Lake(root), partition, f"writer-{i}")
        assert outcome.held_back is None, outcome.held_back
        engine.refresh_tables()  # what the catalog step does: views switch to the new versions ...
        for table in TABLES:  # ... and the versions before the replaced ones go
            remove_superseded(Lake(root), "transformed", table, partition)
        with open(progress, "w") as f:
            f.write(str(i + 1))
    """
)


def _counts(engine: DuckDBEngine) -> tuple:
    return tuple(engine.query(COUNTS).table.to_pylist()[0].values())


def _version_counts(raw_root: str, partition: str, tmp_path, name: str, *, without_items: bool) -> tuple:
    lake = copy_raw(raw_root, str(tmp_path / name), without=("playlist_items",) if without_items else ())
    assert transform_day(lake, partition, "v").held_back is None
    engine = DuckDBEngine(lake, str(tmp_path / f"{name}.duckdb"))
    engine.refresh_tables()
    return _counts(engine)


def test_readers_see_only_complete_versions_during_rewrites_and_a_kill(crawled_raw, tmp_path):
    raw_root, partition = crawled_raw
    version_a = _version_counts(raw_root, partition, tmp_path, "a", without_items=False)
    version_b = _version_counts(raw_root, partition, tmp_path, "b", without_items=True)
    assert all(a != b for a, b in zip(version_a[:1] + version_a[-1:], version_b[:1] + version_b[-1:], strict=True))

    root = str(tmp_path / "lake")
    copy_raw(raw_root, root)
    assert transform_day(Lake(root), partition, "first").held_back is None
    engine = DuckDBEngine(Lake(root), str(tmp_path / "reader.duckdb"))
    engine.refresh_tables()
    progress = tmp_path / "progress"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, root, partition, os.path.join(raw_root, "raw", "playlist_items"), str(progress),
         engine.db_path],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    seen, errors, queries = set(), [], 0
    try:
        deadline = time.monotonic() + 240
        def rewrites() -> int:
            return int(progress.read_text() or 0) if progress.exists() else 0

        while rewrites() < 6:  # read while the day is re-published six times
            assert writer.poll() is None, writer.stdout.read().decode()
            assert time.monotonic() < deadline, "the writer is too slow"
            try:
                seen.add(_counts(engine))
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                errors.append(repr(exc))
            queries += 1
        os.killpg(writer.pid, signal.SIGKILL)  # somewhere in its seventh run
        writer.wait(timeout=30)
        for _ in range(30):  # and after the kill
            try:
                seen.add(_counts(engine))
            except Exception as exc:  # noqa: BLE001
                errors.append(repr(exc))
            queries += 1
    finally:
        if writer.poll() is None:
            os.killpg(writer.pid, signal.SIGKILL)
            writer.wait()
        writer.stdout.close()
    assert errors == [], f"{len(errors)} of {queries} queries failed: {errors[:3]}"
    # each table's count is one of the two complete versions (tables are published one by one)
    for i, table in enumerate(TABLES_READ):
        assert {counts[i] for counts in seen} <= {version_a[i], version_b[i]}, table
    assert queries > 20


def test_files_left_in_a_partition_folder_change_no_query(crawled_raw, tmp_path, local_or_s3_lake):
    raw_root, partition = crawled_raw
    lake = copy_raw(raw_root, local_or_s3_lake)
    assert transform_day(lake, partition, "first").held_back is None
    engine = DuckDBEngine(lake, str(tmp_path / "reader.duckdb"))
    engine.refresh_tables()
    before = _counts(engine)
    artists = f"transformed/artists/dt={partition}"
    published = lake.read_bytes(published_file(lake, "transformed", "artists", partition))
    # what writers left behind after a crash: temporary files of an earlier layout, a version whose publish
    # was killed before the manifest switched to it
    lake.write_bytes(f"{artists}/_tmp-0123abcd-part-00000.parquet", published[: len(published) // 2])
    lake.write_bytes(f"{artists}/_tmp-4567cdef-part-00000.parquet", published)
    lake.write_bytes(f"{artists}/v-0000000000000000/part-00000.parquet", published)
    lake.write_bytes(f"transformed/tracks/dt={partition}/.part-00000.parquet.swp", b"editor junk")
    assert _counts(engine) == before
    engine.refresh_tables()
    assert _counts(engine) == before
