"""A transform killed mid-way (SIGKILL), then re-run, leaves exactly the files of an uninterrupted run.

The transform runs in a subprocess that pauses at a chosen point — between two tables, or in the middle
of writing a Parquet file — and tells the test, which SIGKILLs it there. The partition is then transformed
again (as a Dagster retry or the next sensor run would) and every visible file of the transformed and
quarantine zones is compared byte for byte with a clean run on the same raw files.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from spotify_assets.lake.storage import Lake
from spotify_assets.transform.pipeline import transform_partition

CHILD = textwrap.dedent(
    """
    import os, sys, threading, time
    import pyarrow.parquet as pq
    import spotify_assets.transform.pipeline as pipeline
    from spotify_assets.lake.storage import Lake

    root, partition, mode, ready = sys.argv[1:5]
    real_write = pipeline.write_table_partition
    real_pq_write = pq.ParquetWriter.write_table
    lock = threading.Lock()
    state = {"tables": 0, "writes": 0}

    def pause():
        open(ready, "w").write(str(os.getpid()))
        time.sleep(600)

    # Tables may be written by several threads: count under a lock, pause at the 4th table / 4th write.
    def write_table_partition(*args, **kwargs):
        with lock:
            state["tables"] += 1
            n = state["tables"]
        if mode == "between_tables" and n == 4:
            pause()  # three tables replaced, the others not yet
        return real_write(*args, **kwargs)

    def write_table(self, *args, **kwargs):
        real_pq_write(self, *args, **kwargs)
        with lock:
            state["writes"] += 1
            n = state["writes"]
        if mode == "inside_a_file" and n == 4:
            pause()  # this table's temporary file is written but not closed nor moved

    pipeline.write_table_partition = write_table_partition
    pq.ParquetWriter.write_table = write_table
    pipeline.transform_partition(Lake(root), partition, write=True)
    print("finished without pausing", flush=True)
    """
)


def _visible_files(root: str) -> dict[str, bytes]:
    lake = Lake(root)
    files = {}
    for zone in ("transformed", "quarantine"):
        for f in lake.list_files(zone):
            files[f.path] = lake.read_bytes(f.path)
    return files


def _lake_with_raw(src_root: str, dest: str) -> str:
    shutil.copytree(os.path.join(src_root, "raw"), os.path.join(dest, "raw"))
    return dest


@pytest.mark.parametrize("mode", ["between_tables", "inside_a_file"])
def test_killed_transform_then_rerun_equals_clean_run(tmp_path, crawled_raw, mode):
    raw_root, partition = crawled_raw
    clean = _lake_with_raw(raw_root, str(tmp_path / "clean"))
    transform_partition(Lake(clean), partition, write=True)
    expected = _visible_files(clean)
    assert any(p.startswith("transformed/tracks/") for p in expected)

    killed = _lake_with_raw(raw_root, str(tmp_path / "killed"))
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, killed, partition, mode, str(ready)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            if proc.poll() is not None:
                pytest.fail(
                    f"transform subprocess ended before the kill point:\n{proc.stdout.read().decode()}"
                )
            assert time.monotonic() < deadline, "transform subprocess never reached the kill point"
            time.sleep(0.05)
        time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()

    interrupted = _visible_files(killed)
    assert interrupted != expected, "the kill should have left the partition incomplete"
    if mode == "inside_a_file":
        leftovers = [
            os.path.join(d, n) for d, _, names in os.walk(killed) for n in names if n.startswith("_tmp-")
        ]
        assert leftovers, "expected the half-written temporary file of the killed write"
        # Readers never see it: visible files are only complete Parquet files.
        assert not any("_tmp-" in p for p in interrupted)

    transform_partition(Lake(killed), partition, write=True)  # the retry
    again = _visible_files(killed)
    assert sorted(again) == sorted(expected)
    different = [p for p in expected if again[p] != expected[p]]
    assert not different, f"files differ from the clean run after the re-run: {different}"
