"""Readers see only complete, published versions: DuckDB views queried in a loop while a day is re-published
again and again (two alternating versions) and while the writing process is killed; readers of the DuckDB
file in other processes (short connections in a loop, one connection held open) and the catalog step never
block each other; and files left in a partition folder by a crashed writer change no query, locally and on
S3 (httpfs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets_tests.emulation import copy_raw

pytestmark = pytest.mark.slow  # end to end: subprocesses, several runs (pytest -m slow)

TABLES_READ = ("tracks", "albums", "album_artists", "artists", "playlist_items")
COUNTS = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t}) AS {t}" for t in TABLES_READ)

WRITER = textwrap.dedent(
    """
    import os, shutil, sys
    from spotify_assets.lake.publication.superseded import remove_superseded
    from spotify_assets.lake.storage import Lake
    from spotify_assets.tables import TABLES
    from spotify_assets.publish.wap import transform_day
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


CATALOG_WRITER = textwrap.dedent(
    """
    import json, os, shutil, sys
    import dagster as dg
    from spotify_assets.defs.catalog.assets import catalog_tables
    from spotify_assets.lake.resource import LakeResource
    from spotify_assets.lake.storage import Lake
    from spotify_assets.publish.wap import transform_day
    from spotify_assets.warehouse.resources import WarehouseResource

    root, partition, items_backup, progress, db, rounds = sys.argv[1:7]
    warehouse = WarehouseResource(env="local", lake=LakeResource(root_uri=root), duckdb_path=db)
    items = os.path.join(root, "raw", "playlist_items")
    failed = []
    with dg.instance_for_test() as instance:
        for i in range(int(rounds)):
            if i % 2 == 0:
                shutil.rmtree(items, ignore_errors=True)  # version B: without the item pages after the first
            else:
                shutil.copytree(items_backup, items)  # version A: the whole raw zone
            assert transform_day(Lake(root), partition, f"writer-{i}").held_back is None
            result = dg.materialize([catalog_tables], partition_key=partition, instance=instance,
                                    resources={"warehouse": warehouse}, raise_on_error=False)
            if not result.success:
                failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
                failed.append(failure.step_failure_data.error.to_string()[-300:])
            with open(progress + ".tmp", "w") as f:
                f.write(json.dumps({"rounds": i + 1, "catalog_failures": failed}))
            os.replace(progress + ".tmp", progress)
    """
)

DUCKDB_READER = textwrap.dedent(
    """
    import json, os, sys, time
    import duckdb

    db, query, stop, out, mode, progress = sys.argv[1:7]
    ok, failed, errors, seen = 0, 0, [], set()

    def rounds():
        try:
            return json.loads(open(progress).read())["rounds"]
        except (OSError, ValueError):
            return 0

    held = None
    while not os.path.exists(stop):
        try:
            if mode == "held":  # one connection for the whole second half, queried again and again
                if held is None:
                    if rounds() < 2:
                        time.sleep(0.05)
                        continue
                    held = duckdb.connect(db, read_only=True)
                    open(out + ".holding", "w").close()
                seen.add(tuple(held.execute(query).fetchone()))
                time.sleep(0.2)
            else:  # what a notebook or a BI tool does: open read-only, query, close
                con = duckdb.connect(db, read_only=True)
                try:
                    seen.add(tuple(con.execute(query).fetchone()))
                finally:
                    con.close()
            ok += 1
        except Exception as exc:  # every failure is a finding
            failed += 1
            if len(errors) < 5:
                errors.append(repr(exc)[:300])
            time.sleep(0.01)
    if held is not None:
        held.close()
    json.dump({"ok": ok, "failed": failed, "errors": errors, "seen": sorted(seen)}, open(out, "w"))
    """
)


def test_duckdb_readers_and_the_catalog_step_never_block_each_other(crawled_raw, tmp_path):
    """Two processes open the catalog file read-only, query and close it in a loop; a third holds one
    connection open through the second half; meanwhile the day is re-published four times, each time through
    the real catalog step. No query may fail, and every catalog step must succeed (before: 'Could not set
    lock' for readers during a refresh, and a refresh failing after 30 s behind the held connection)."""
    raw_root, partition = crawled_raw
    version_b = _version_counts(raw_root, partition, tmp_path, "b", without_items=True)
    root = str(tmp_path / "lake")
    copy_raw(raw_root, root)
    assert transform_day(Lake(root), partition, "first").held_back is None
    engine = DuckDBEngine(Lake(root), str(tmp_path / "catalog" / "spotify.duckdb"))
    engine.refresh_tables()
    version_a = _counts(engine)
    assert version_a != version_b
    progress, stop = tmp_path / "progress", tmp_path / "stop"
    readers = {name: tmp_path / f"{name}.json" for name in ("short-1", "short-2", "held")}
    procs = {
        name: subprocess.Popen([sys.executable, "-c", DUCKDB_READER, engine.db_path, COUNTS, str(stop), str(out),
                                "held" if name == "held" else "short", str(progress)], start_new_session=True)
        for name, out in readers.items()
    }
    writer = subprocess.Popen(
        [sys.executable, "-c", CATALOG_WRITER, root, partition, os.path.join(raw_root, "raw", "playlist_items"),
         str(progress), engine.db_path, "4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        output = writer.communicate(timeout=600)[0].decode()
        assert writer.returncode == 0, output[-3000:]
        stop.touch()
        for proc in procs.values():
            assert proc.wait(timeout=60) == 0
    finally:
        stop.touch()
        for proc in [writer, *procs.values()]:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    done = json.loads(progress.read_text())
    results = {name: json.loads(out.read_text()) for name, out in readers.items()}
    figures = {name: f"{r['failed']} of {r['ok'] + r['failed']} queries failed" for name, r in results.items()}
    print(f"\nreaders during {done['rounds']} re-publications: {figures}; "
          f"catalog steps failed: {len(done['catalog_failures'])} of {done['rounds']}")
    assert done == {"rounds": 4, "catalog_failures": []}, done["catalog_failures"]
    for name, result in results.items():
        assert result["failed"] == 0, (name, result["errors"])
        assert result["ok"] >= (10 if name == "held" else 50), (name, result)
    assert (tmp_path / "held.json.holding").exists()
    # every answer was one of the two whole versions; a connection opened now sees the last one (A)
    assert _counts(engine) == version_a
    for result in results.values():
        assert {tuple(s) for s in result["seen"]} <= {version_a, version_b}


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
