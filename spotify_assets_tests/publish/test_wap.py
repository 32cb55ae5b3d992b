"""Write–audit–publish of the transformed tables, on a local lake and on S3 (moto): a day whose audit fails
changes nothing a consumer reads — the published objects, what Glue points at, what DuckDB returns."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os

import boto3
import pytest

from spotify_assets.lake.parquet import read_table_file
from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.lake.publication.staging import HELD_BACK_NOTE, Staging, clean_staging, staged_runs
from spotify_assets.lake.quarantine import read_quarantine
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.tables import TABLE_SOURCES, TABLES
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.glue import GlueCatalog
from spotify_assets_tests.emulation import BAD_TRACK, copy_raw, land_bad_track, land_cut_short_file


def _published(lake: Lake) -> dict[str, bytes]:
    """Every object of the published zones, manifests included."""
    return {
        f.path: lake.read_bytes(f.path)
        for z in ("transformed", "quarantine")
        for f in lake.list_files(z, include_hidden=True)
    }


def _query(engine: DuckDBEngine) -> dict[str, list]:
    return {t: engine.query(f"SELECT * FROM {t} ORDER BY ALL").to_pylist() for t in ("tracks", "albums", "playlist_items")}


@pytest.fixture
def lake(local_or_s3_lake):
    return local_or_s3_lake


@pytest.fixture
def two_days(lake, crawled_raw):
    """Yesterday and today published from the crawled raw zone."""
    src_root, partition = crawled_raw
    today = partition
    yesterday = (dt.date.fromisoformat(today) - dt.timedelta(days=1)).isoformat()
    for day in (yesterday, today):
        copy_raw(src_root, lake, day=day)
        assert transform_day(lake, day, f"good-{day}").held_back is None
    return yesterday, today


def test_failed_audit_changes_nothing_a_consumer_reads(lake, two_days, tmp_path):
    yesterday, today = two_days
    engine = DuckDBEngine(lake, str(tmp_path / "spotify.duckdb"))
    engine.refresh_tables()
    glue = None
    if not lake.is_local:
        endpoint = os.environ["AWS_ENDPOINT_URL"]
        glue = GlueCatalog(database=f"wap_{tmp_path.name[-8:].lower().replace('-', '_')}", lake_uri=lake.uri(),
                           endpoint_url=endpoint, region="us-east-1")
        glue.ensure_database()
        for spec in TABLES.values():
            glue.ensure_table(spec)
            glue.register_partitions(spec, [yesterday, today])
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        bucket, prefix = lake.base.split("/", 1)
        etags = {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/transformed/")["Contents"]}
        locations = {t: glue.get_partition(t, today)["StorageDescriptor"]["Location"] for t in TABLES}
    before, rows_before = _published(lake), _query(engine)
    assert any(r["dt"] == today for r in rows_before["tracks"]) and any(r["dt"] == yesterday for r in rows_before["tracks"])

    injected = land_cut_short_file(lake, today)
    outcome = transform_day(lake, today, "bad-run")

    assert outcome.held_back and "tracks.raw_data_loss_within_limit" in outcome.held_back
    held = {(o.table, o.check) for o in outcome.checks if not o.passed and o.blocking}
    assert held == {(t, "raw_data_loss_within_limit") for t, sources in TABLE_SOURCES.items() if "tracks" in sources}
    assert _published(lake) == before, "a held-back day must leave every published object byte for byte"
    assert _query(engine) == rows_before, "DuckDB must return exactly what it returned before"
    if glue is not None:
        assert {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/transformed/")["Contents"]} == etags
        assert {t: glue.get_partition(t, today)["StorageDescriptor"]["Location"] for t in TABLES} == locations
    # the staged version stays inspectable, with a note saying why it was held back
    staging = Staging(lake, today, "bad-run")
    staged_tracks = read_table_file(lake, staging.file("transformed", "tracks"))
    assert staged_tracks.num_rows == read_table_file(lake, published_file(lake, "transformed", "tracks", today)).num_rows
    note = json.loads(lake.read_bytes(f"{staging.root}/{HELD_BACK_NOTE}"))
    assert "tracks.raw_data_loss_within_limit" in note["failed_checks"] and "cut-short.jsonl.gz" in note["reason"]
    assert [r.run_id for r in staged_runs(lake)] == ["bad-run"] and staged_runs(lake)[0].held_back

    # the bad file removed, the next run publishes the same bytes as before and keeps the held-back folder
    lake.delete(injected)
    assert transform_day(lake, today, "good-again").held_back is None
    assert _published(lake) == before
    assert [r.run_id for r in staged_runs(lake)] == ["bad-run"]
    assert clean_staging(lake, today, retention_s=0.0) == [staging.root]  # after the retention it goes


def test_one_odd_record_is_quarantined_and_the_day_published(lake, two_days, tmp_path):
    _, today = two_days
    land_bad_track(lake, today)  # popularity 150
    outcome = transform_day(lake, today, "odd-record-run")
    assert outcome.held_back is None
    assert not [o for o in outcome.checks if not o.passed and o.blocking]
    (q,) = read_quarantine(lake, "tracks", today)
    assert (q["record"]["id"], q["reason"]) == (BAD_TRACK, "popularity 150 is outside [0, 100]")
    assert q["raw_file"] == f"raw/tracks/dt={today}/injected.jsonl.gz" and q["raw_line"] == 1
    engine = DuckDBEngine(lake, str(tmp_path / "spotify.duckdb"))
    engine.refresh_tables()
    assert BAD_TRACK not in {r["track_id"] for r in engine.query("SELECT track_id FROM tracks").to_pylist()}
    assert engine.query(f"SELECT count(*) AS n FROM tracks WHERE dt = '{today}'").to_pylist()[0]["n"] > 0


@pytest.mark.parametrize("broken_lines,held_back", [(5, False), (50, True)])
def test_a_few_quarantined_records_warn_a_share_beyond_the_limit_holds_the_day(lake, two_days, broken_lines, held_back):
    _, today = two_days
    broken = [b'{"request": "/v1/tracks/x", "sta'] * broken_lines
    lake.write_bytes(f"raw/tracks/dt={today}/broken.jsonl.gz", gzip.compress(b"\n".join(broken) + b"\n"))
    outcome = transform_day(lake, today, "quarantine-run")
    failed = {(o.table, o.check): o for o in outcome.checks if not o.passed}
    assert ("tracks", "quarantine_share_low") in failed  # above SPOTIFY_CHECK_QUARANTINE_MAX_SHARE: a warning
    if held_back:  # 50 of ~320 records: the day is wrong
        assert [k for k, o in failed.items() if o.blocking] == [("tracks", "quarantine_share_within_limit")]
        assert outcome.held_back and "more than 5% of the table's records are quarantined" in outcome.held_back
    else:  # 5 records: warned, published
        assert outcome.held_back is None and not [o for o in failed.values() if o.blocking]
        assert len(read_quarantine(lake, "tracks", today)) == broken_lines


def test_empty_day_is_held_back_unless_accepted(lake, two_days):
    yesterday, today = two_days
    tomorrow = (dt.date.fromisoformat(today) + dt.timedelta(days=1)).isoformat()
    outcome = transform_day(lake, tomorrow, "empty-run")  # no raw files at all for that day
    assert outcome.held_back and "not_empty" in outcome.held_back
    assert published_file(lake, "transformed", "tracks", tomorrow) is None
    accepted = transform_day(lake, tomorrow, "accepted-run", accept_empty=True)
    assert accepted.held_back is None
    assert read_table_file(lake, published_file(lake, "transformed", "tracks", tomorrow)).num_rows == 0


def test_a_first_day_without_any_row_is_held_back(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    outcome = transform_day(lake, "2026-11-24", "first")
    assert outcome.held_back and "the whole day is empty" in outcome.held_back


def test_cleanup_of_abandoned_and_expired_staging(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    day, other_day = "2026-11-24", "2026-11-23"
    for run in ("killed", "running", "mine"):
        lake.write_bytes(Staging(lake, day, run).file("transformed", "tracks"), b"x")
    Staging(lake, other_day, "old-failure").hold_back("blocking checks failed: …")
    Staging(lake, other_day, "other-killed").reset()
    lake.write_bytes(Staging(lake, other_day, "other-killed").file("transformed", "tracks"), b"x")
    now = max(r.newest_mtime for r in staged_runs(lake))

    # another run of the day may be in progress: recent folders stay
    assert clean_staging(lake, day, keep_run="mine", abandoned_after_s=3600, retention_s=86400, now=now) == []
    # none in progress: every unmarked folder of the day goes, but not this run's own, nor other days'
    removed = clean_staging(lake, day, keep_run="mine", abandoned_after_s=0, retention_s=86400, now=now)
    assert sorted(removed) == [Staging(lake, day, r).root for r in ("killed", "running")]
    left = {(r.partition, r.run_id) for r in staged_runs(lake)}
    assert left == {(day, "mine"), (other_day, "old-failure"), (other_day, "other-killed")}
    # held-back folders of any day go once the retention is over
    assert clean_staging(lake, day, keep_run="mine", retention_s=10, now=now + 11) == [
        Staging(lake, other_day, "old-failure").root
    ]


def test_files_not_read_are_a_warning_on_the_tables_they_feed(lake, two_days):
    _, today = two_days
    lake.write_bytes(f"raw/albums/dt={today}/sub/dir/x.jsonl.gz", gzip.compress(b"{}\n"))
    lake.write_bytes(f"raw/albums/dt={today}/x.json.gz", gzip.compress(b"{}\n"))
    lake.write_bytes(f"raw/albums/dt={today}/_tmp-being-written.jsonl.gz", b"")  # temporary: ignored silently
    outcome = transform_day(lake, today, "unread-run")
    assert outcome.held_back is None
    warned = {o.table: o for o in outcome.checks if o.check == "raw_files_all_read" and not o.passed}
    assert set(warned) == {t for t, sources in TABLE_SOURCES.items() if "albums" in sources}
    assert warned["albums"].metadata["unread_files"] == 2 and "subdirectory" in warned["albums"].metadata["examples"]
