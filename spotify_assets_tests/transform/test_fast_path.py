"""The Arrow fast path (spotify_assets.transform.fast) gives exactly the Python path's output.

Every transform test already compares the two extractions (see the autouse fixture in conftest.py);
these tests add realistic partitions — crawled from the emulator in both quota modes, and the
benchmark's generator — and compare the written Parquet files byte for byte.
"""

from __future__ import annotations

import gzip
import importlib.util
import os

import orjson
import pytest

from spotify_assets.lake.storage import Lake
from spotify_assets.transform import pipeline
from spotify_assets.transform.pipeline import transform_partition
from spotify_assets_tests.emulation import crawl_into_lake

from .conftest import PARTITION, env, item, page, playlist, sid, track

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run_both(lake: Lake, partition: str) -> dict:
    """Transform with and without the fast path; returns the fast path's stats after comparing."""
    results = {}
    for fast in (False, True):
        r = transform_partition(lake, partition, fast=fast)
        files = {t: lake.read_bytes(w.path) if hasattr(w, "path") else None for t, w in r.written.items()}
        quarantine = {t: (lake.read_bytes(p) if p else None) for t, p in r.quarantine_written.items()}
        results[fast] = (r, files, quarantine)
    (rs, fs, qs), (rf, ff, qf) = results[False], results[True]
    for t in rs.tables:
        assert rf.tables[t].equals(rs.tables[t], check_metadata=True), t
    assert fs == ff  # Parquet files byte for byte
    assert qs == qf
    assert rf.quarantine == rs.quarantine
    assert rf.accounting == rs.accounting
    stats: dict = {}
    pipeline.extract_tasks(lake, pipeline.plan_tasks(lake, partition), 50_000, fast=True, stats=stats)
    return stats


@pytest.mark.parametrize("mode", ["extended", "development"])
def test_emulator_partition_same_output(tmp_path, mode):
    from spotify_assets_tests.conftest import TEST_DAY

    root = str(tmp_path / "lake")
    partition = crawl_into_lake(root, TEST_DAY, seed=7, mode=mode)
    lake = Lake(root)
    stats = _run_both(lake, partition)
    if mode == "extended":  # development mode's single-object album/artist bodies are not on the fast path
        assert stats.get("fast_lines", 0) > 0, stats


def test_benchmark_partition_same_output(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_transform", f"{ROOT}/benchmarks/bench_transform.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    root = str(tmp_path / "lake")
    bench.generate(root, 3000)
    stats = _run_both(Lake(root), bench.PARTITION)
    assert stats.get("slow_lines", 0) == 0 and stats["fast_lines"] > 0, stats


def test_quirky_lines_between_clean_ones(lake, raw, monkeypatch):
    """Clean and quirky lines in one file, tiny chunks: each quirk falls back alone, early dedupe state
    is shared across the two paths (a duplicate track, first seen on the fast path, then the slow one)."""
    from spotify_assets.transform.fast import reader as fast

    monkeypatch.setattr(fast, "CHUNK_BYTES", 256)
    pl = sid("plq")
    clean = env(f"/v1/playlists/{pl}/tracks?offset=0", page([item(track("t1")), item(track("t2"))]))
    lines = [
        clean,
        env(f"/v1/playlists/{pl}/tracks?offset=2", page([item(track("t1", duration_ms=1.5))], offset=2)),
        env(f"/v1/playlists/{pl}/tracks?offset=3", page([None, item(track("t3"))], offset=3),
            fetched_at="2026-11-24T07:00:00Z"),
        env(f"/v1/playlists/{pl}/tracks?offset=5", page([item(track("t3"), added_at="1970-01-01T00:00:00Z")],
                                                       offset=5), fetched_at="2026-11-24T08:00:00Z"),
        b'{"request": "x", "status": NaN, "body": {}}',
        env(f"/v1/playlists/{pl}/tracks?offset=6", page([item(track("t2", name="later"))], offset=6),
            fetched_at="2026-11-24T08:00:00Z"),
        env(f"/v1/playlists/{pl}/tracks?offset=7", {"error": {"status": 500, "message": "x"}}),
        env(f"/v1/playlists/{pl}/tracks?offset=8", None, status=404),
    ]
    raw.write("playlist_items", lines)
    raw.write("playlists", [env(f"/v1/playlists/{sid('p2')}", playlist("p2", [item(track("t1"))]))])
    r = transform_partition(lake, PARTITION)  # the conftest fixture compares the three extractions
    assert r.row_counts["tracks"] == 3


def test_corrupt_gzip_same_lines_used(lake, raw):
    pl = sid("plc")
    lines = [orjson.dumps(env(f"/v1/playlists/{pl}/tracks?offset={i}", page([item(track(f"t{i}"))], offset=i)))
             for i in range(2000)]
    data = gzip.compress(b"\n".join(lines) + b"\n")
    path = f"raw/playlist_items/dt={PARTITION}/broken.jsonl.gz"
    lake.write_bytes(path, data[: len(data) * 2 // 3])
    r = transform_partition(lake, PARTITION)
    assert r.quarantined == 1


def test_batch_bodies_with_null_id_and_single_bodies(lake, raw):
    """``{"id": null, "albums": [...]}`` is a broken single body for the Python path (quarantined): the
    fast path must not read it as a batch; single (development mode) bodies fall back too."""
    from .conftest import full_album, full_artist

    raw.write("albums", [env("/v1/albums?ids=x", {"id": None, "albums": [full_album("a1")]}),
                         env("/v1/albums?ids=y", {"albums": [full_album("a2"), full_album("a1")]}),
                         env(f"/v1/albums/{sid('a3')}", full_album("a3"))])
    raw.write("artists", [env("/v1/artists?ids=x", {"id": None, "artists": [full_artist("r1")]}),
                          env("/v1/artists?ids=y", {"artists": [full_artist("r2", genres=("rock", "pop"))]})])
    r = transform_partition(lake, PARTITION)  # the conftest fixture compares the three extractions
    assert r.row_counts["albums"] == 3
    assert {q["reason"] for q in r.quarantine["albums"]} == {"missing album id"}


def test_clean_chunk_with_several_fetch_times(lake, raw):
    """A clean file whose lines were fetched at different times: one fast chunk, the sorted early-dedupe
    branch (the latest copy wins, ties go to the first one seen)."""
    pl = sid("plt")
    times = ["2026-11-24T06:00:00Z", "2026-11-24T05:00:00Z", "2026-11-24T07:00:00Z", "2026-11-24T07:00:00Z", None]
    lines = [env(f"/v1/playlists/{pl}/tracks?offset={i}",
                 page([item(track("t1", name=f"v{i}", artists=("ar1", f"ar{i + 2}"))), item(track(f"u{i}"))],
                      offset=2 * i), fetched_at=ts)
             for i, ts in enumerate(times)]
    raw.write("playlist_items", lines)
    stats: dict = {}
    pipeline.extract_tasks(lake, pipeline.plan_tasks(lake, PARTITION), 50_000, fast=True, stats=stats)
    assert stats == {"fast_lines": 5}
    r = transform_partition(lake, PARTITION)  # the conftest fixture compares the three extractions
    names = dict(zip(r.tables["tracks"]["track_id"].to_pylist(), r.tables["tracks"]["name"].to_pylist(), strict=True))
    assert names[sid("t1")] == "v2"
