"""Parquet and quarantine files on the lake: published idempotently and atomically, readable back; local
and S3 (moto)."""

from __future__ import annotations

import gzip
import os

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spotify_assets import tables as S
from spotify_assets.lake.parquet import (
    read_table_partitions,
    read_table_partitions_pandas,
    write_table_file,
)
from spotify_assets.lake.publication.layout import day_manifest_path, manifest_path
from spotify_assets.lake.publication.manifests import current_version, published_file
from spotify_assets.lake.publication.staging import STAGING_ROOT
from spotify_assets.lake.publication.superseded import remove_superseded
from spotify_assets.lake.quarantine import read_quarantine, write_quarantine_file
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day

from .conftest import PARTITION, RawWriter, env, full_album, full_artist, item, page, playlist, sid, track


def _fill(raw: RawWriter, bad=True):
    p1 = sid("pl1")
    raw.write("playlists", [env(f"/v1/playlists/{p1}", playlist("pl1", [item(track("t1")), item(track("t2"))], total=3))])
    raw.write("playlist_items", [env(f"/v1/playlists/{p1}/tracks?offset=2", page([item(track("t3"))], offset=2))])
    raw.write("albums", [env("/v1/albums?ids=", {"albums": [full_album("al1"), None]})])
    raw.write("artists", [env("/v1/artists?ids=", {"artists": [full_artist("ar1", genres=["pop", "indie"])]})])
    if bad:
        raw.write("tracks", [b'{"request": "/v1/tracks/x", "sta'])


def publish(lake: Lake, partition: str = PARTITION, run_id: str = "run-1"):
    """The day through stage → audit → publish; these fixtures pass every blocking check."""
    outcome = transform_day(lake, partition, run_id)
    assert outcome.held_back is None
    return outcome.result


def _snapshot(lake: Lake) -> dict[str, bytes]:
    files = lake.list_files("transformed", include_hidden=True) + lake.list_files("quarantine", include_hidden=True)
    return {f.path: lake.read_bytes(f.path) for f in files}


def test_published_files_idempotent_and_described(lake, raw):
    _fill(raw)
    r1 = publish(lake, run_id="run-1")
    first = _snapshot(lake)
    r2 = publish(lake, run_id="run-2")
    assert _snapshot(lake) == first  # re-publishing the same data changes no byte, not even a manifest
    assert r1.accounting == r2.accounting
    published = {t: published_file(lake, "transformed", t, PARTITION) for t in S.TABLES}
    quarantined = published_file(lake, "quarantine", "tracks", PARTITION)
    manifests = {manifest_path(z, t, PARTITION) for z in ("transformed", "quarantine") for t in S.TABLES}
    assert set(first) == set(published.values()) | {quarantined} | manifests | {day_manifest_path(PARTITION)}
    assert all(f"/dt={PARTITION}/v-" in p for p in [*published.values(), quarantined])
    assert published_file(lake, "quarantine", "albums", PARTITION) is None  # published as "nothing quarantined"
    assert lake.list_files(STAGING_ROOT, include_hidden=True) == []  # published: nothing left staged
    pf = pq.ParquetFile(lake.full_path(published["tracks"]))
    assert pf.metadata.row_group(0).column(0).compression == "ZSTD"
    f = pf.schema_arrow.field("duration_ms")
    assert f.type == pa.int64() and f.metadata[b"description"] == b"Track length in milliseconds."
    assert pf.schema_arrow.field("track_id").nullable is False
    assert r1.written["tracks"].rows == 3 and r1.written["tracks"].bytes == os.path.getsize(
        lake.full_path(published["tracks"]))  # what was staged is what is published


def test_crash_mid_write_keeps_previous_file(lake):
    spec = S.TABLES["tracks"]
    rel = "somewhere/tracks.parquet"
    old = pa.table({"track_id": [sid("a")], "name": ["old"]})
    write_table_file(lake, rel, spec, old)
    before = lake.read_bytes(rel)

    def batches():
        yield pa.record_batch({"track_id": [sid("b")], "name": ["new"]})
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        write_table_file(lake, rel, spec, batches())

    import spotify_assets.lake.parquet as P

    class Boom(Exception):
        pass

    real = P.pq.ParquetWriter

    class Exploding(real):
        def write_table(self, *a, **k):
            super().write_table(*a, **k)
            raise Boom()

    P.pq.ParquetWriter = Exploding
    try:
        with pytest.raises(Boom):
            write_table_file(lake, rel, spec, pa.table({"track_id": [sid("c")], "name": ["newer"]}))
    finally:
        P.pq.ParquetWriter = real
    assert lake.read_bytes(rel) == before
    assert os.listdir(os.path.dirname(lake.full_path(rel))) == ["tracks.parquet"]
    assert lake.list_files(STAGING_ROOT, include_hidden=True) == []  # the temporary objects were removed
    assert pq.read_table(lake.full_path(rel))["name"].to_pylist() == ["old"]


def test_new_version_replaces_old_and_catalog_step_removes_older_ones(lake, raw):
    _fill(raw, bad=False)
    publish(lake, run_id="run-1")
    v1 = current_version(lake, "transformed", "tracks", PARTITION)
    raw.write("tracks", [env("/v1/tracks?ids=", {"tracks": [track("t9")]})])
    publish(lake, run_id="run-2")
    v2 = current_version(lake, "transformed", "tracks", PARTITION)
    assert v2.file != v1.file and v2.previous == v1.file
    assert read_table_partitions(lake, "tracks")["track_id"].to_pylist() == [sid(t) for t in ("t1", "t2", "t3", "t9")]
    folder = f"transformed/tracks/dt={PARTITION}"
    lake.write_bytes(f"{folder}/old-layout-leftover.parquet", b"junk")
    lake.write_bytes(f"{folder}/_tmp-0123abcd-part-00000.parquet", b"half a file")
    assert remove_superseded(lake, "transformed", "tracks", PARTITION) == [
        f"{folder}/_tmp-0123abcd-part-00000.parquet", f"{folder}/old-layout-leftover.parquet"
    ]
    assert lake.exists(v1.file)  # the version just replaced stays for queries planned before the switch
    raw.write("tracks", [env("/v1/tracks?ids=", {"tracks": [track("t8")]})])
    publish(lake, run_id="run-3")
    assert remove_superseded(lake, "transformed", "tracks", PARTITION) == [v1.folder]
    assert [f.path for f in lake.list_files(folder, include_hidden=True)] == sorted(
        [f"{folder}/_published.json", v2.file, current_version(lake, "transformed", "tracks", PARTITION).file]
    )


def test_legacy_in_place_file_is_read_until_replaced(lake, raw):
    legacy = f"transformed/tracks/dt={PARTITION}/part-00000.parquet"
    write_table_file(lake, legacy, S.TABLES["tracks"], pa.table({"track_id": [sid("old")]}))
    assert read_table_partitions(lake, "tracks")["track_id"].to_pylist() == [sid("old")]
    _fill(raw, bad=False)
    publish(lake)
    assert current_version(lake, "transformed", "tracks", PARTITION).previous == legacy
    assert sid("old") not in read_table_partitions(lake, "tracks")["track_id"].to_pylist()


def test_missing_columns_filled_and_rows_sorted(lake):
    res = write_table_file(lake, "t/tracks.parquet", S.TABLES["tracks"], pa.table({"track_id": [sid("b"), sid("a")]}))
    assert res.rows == 2
    t = pq.read_table(lake.full_path(res.path))
    assert t["track_id"].to_pylist() == [sid("a"), sid("b")]  # sorted by key
    assert t.schema.field("popularity").type == pa.int64() and t["popularity"].null_count == 2


def test_key_nulls_rejected(lake):
    with pytest.raises(ValueError):
        write_table_file(lake, "t/tracks.parquet", S.TABLES["tracks"], pa.table({"track_id": [None, sid("a")]}))


def test_read_a_range_of_partitions(lake):
    for i, day in enumerate(["2026-11-22", "2026-11-23", "2026-11-24"]):
        raw = RawWriter(lake, day)
        raw.write("tracks", [env("/v1/tracks?ids=", {"tracks": [track(f"t{j}") for j in range(i + 1)]})])
        publish(lake, day)
    t = read_table_partitions(lake, "tracks", ["2026-11-23", "2026-11-24"])
    assert sorted(t["dt"].to_pylist()) == ["2026-11-23"] * 2 + ["2026-11-24"] * 3
    assert read_table_partitions(lake, "tracks").num_rows == 6
    assert read_table_partitions(lake, "tracks", ["2026-01-01"]).num_rows == 0
    df = read_table_partitions_pandas(lake, "tracks", ["2026-11-22"])
    assert list(df["dt"]) == ["2026-11-22"] and df["track_id"].iloc[0] == sid("t0")


def test_quarantine_replaced_and_deleted_when_empty(lake, raw):
    _fill(raw)
    publish(lake)
    q = read_quarantine(lake, "tracks", PARTITION)
    assert len(q) == 1 and set(q[0]) == {"table", "reason", "raw_file", "raw_line", "request", "record"}
    # fix the raw zone (replace the bad file) and re-run: the quarantine file disappears
    for f in lake.list_files(f"raw/tracks/dt={PARTITION}"):
        lake.delete(f.path)
    publish(lake, run_id="run-2")
    assert published_file(lake, "quarantine", "tracks", PARTITION) is None
    assert read_quarantine(lake, "tracks", PARTITION) == []
    path = write_quarantine_file(lake, "q/albums.jsonl.gz", [{"table": "albums", "reason": "x", "record": "é"}])
    assert orjson.loads(gzip.decompress(lake.read_bytes(path))) == {"table": "albums", "reason": "x", "record": "é"}


@pytest.fixture(scope="module")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    old = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    import boto3

    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket="lake-bucket")
    yield url
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_s3_lake_via_moto(moto_endpoint, tmp_path):
    lake = Lake("s3://lake-bucket/lake", endpoint_url=moto_endpoint)
    _fill(RawWriter(lake))
    r = publish(lake)
    first = _snapshot(lake)
    assert r.tables["tracks"].num_rows == 3 and len(r.quarantine["tracks"]) == 1
    publish(lake, run_id="run-2")
    assert _snapshot(lake) == first
    back = read_table_partitions(lake, "playlist_items", [PARTITION])
    assert back["position"].to_pylist() == [0, 1, 2] and set(back["dt"].to_pylist()) == {PARTITION}
    assert read_quarantine(lake, "tracks", PARTITION)[0]["reason"].startswith("invalid JSON")
    # local and S3 give the same bytes
    local = Lake(str(tmp_path / "l"))
    _fill(RawWriter(local))
    publish(local)
    # (quarantine records name their raw file, whose generated name differs between the two lakes, and so
    # do the day versions, which cover the quarantine files: the tables' objects and versions are compared)
    def tables(snapshot: dict[str, bytes]) -> dict[str, bytes]:
        return {p: b if "/v-" in p else orjson.dumps({k: v for k, v in orjson.loads(b).items() if k != "day_version"})
                for p, b in snapshot.items() if p.startswith("transformed/") and not p.startswith("transformed/_days/")}

    assert tables(_snapshot(lake)) == tables(_snapshot(local))
