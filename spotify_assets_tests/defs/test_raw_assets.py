"""The raw extraction asset against the emulator: lands every source of the daily crawl, locally and on S3 (moto)."""

from __future__ import annotations

import gzip

import dagster as dg
import orjson
import pytest

from spotify_assets.defs.raw.spotify_crawl import ExtractConfig, raw_spotify
from spotify_assets.lake.paths import CRAWL_SOURCES
from spotify_assets.lake.raw import iter_raw_envelopes
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets_tests.conftest import TEST_DAY
from spotify_assets_tests.emulation import spotify_for

DAY = TEST_DAY.isoformat()


def _materialize(emulator, root_uri: str, config: dict | None = None, endpoint_url=None, raise_on_error=True):
    return dg.materialize(
        [raw_spotify],
        partition_key=DAY,
        resources={"lake": LakeResource(root_uri=root_uri, endpoint_url=endpoint_url), "spotify": spotify_for(emulator)},
        run_config={"ops": {"raw_spotify": {"config": {"allow_past_partition": True, **(config or {})}}}},
        raise_on_error=raise_on_error,
    )


def _materializations(result) -> dict[str, dict]:
    out = {}
    for event in result.get_asset_materialization_events():
        m = event.materialization
        out[m.asset_key.to_user_string()] = {k: v.value for k, v in m.metadata.items()}
    return out


def test_raw_assets_land_every_source_in_the_design_layout(emulator, tmp_path):
    result = _materialize(emulator, str(tmp_path))
    assert result.success
    metadata = _materializations(result)
    assert set(metadata) == {f"raw_{s}" for s in CRAWL_SOURCES}
    lake = Lake(str(tmp_path))
    for source in CRAWL_SOURCES:
        path = tmp_path / "raw" / source / f"dt={DAY}" / "spotify_assets.jsonl.gz"
        assert path.exists(), path
        lines = gzip.decompress(path.read_bytes()).splitlines()
        assert len(lines) == metadata[f"raw_{source}"]["dagster/row_count"]
        for line in lines:
            envelope = orjson.loads(line)
            assert set(envelope) >= {"request", "status", "fetched_at", "body"}
            assert envelope["request"].startswith("/v1/")
            assert envelope["fetched_at"].endswith("Z")
    assert sum(1 for _ in iter_raw_envelopes(lake, "playlists", DAY)) > 0
    assert metadata["raw_playlists"]["crawl/total_requests"] == metadata["raw_playlists"]["crawl/minimum_requests"]


def test_rerunning_a_partition_replaces_instead_of_duplicating(emulator, tmp_path):
    first = _materializations(_materialize(emulator, str(tmp_path)))
    second = _materializations(_materialize(emulator, str(tmp_path)))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "raw").rglob("*") if p.is_file())
    assert files == sorted(f"raw/{s}/dt={DAY}/spotify_assets.jsonl.gz" for s in CRAWL_SOURCES)
    for source in CRAWL_SOURCES:
        key = f"raw_{source}"
        on_disk = len(gzip.decompress((tmp_path / f"raw/{source}/dt={DAY}/spotify_assets.jsonl.gz").read_bytes()).splitlines())
        assert on_disk == second[key]["dagster/row_count"]
        # the playlists' snapshot ids did not change: the second run carries pages over and lands the same records
        assert second[key]["dagster/row_count"] == first[key]["dagster/row_count"]


def test_raw_assets_write_to_s3(emulator, s3_bucket, aws_env):
    result = _materialize(emulator, f"s3://{s3_bucket}/lake", endpoint_url=aws_env)
    assert result.success
    lake = Lake(f"s3://{s3_bucket}/lake", endpoint_url=aws_env)
    keys = [f.path for f in lake.list_files("raw")]
    assert keys == sorted(f"raw/{s}/dt={DAY}/spotify_assets.jsonl.gz" for s in CRAWL_SOURCES)
    assert sum(1 for _ in iter_raw_envelopes(lake, "albums", DAY)) > 0


def test_past_partition_is_refused_with_a_clear_message(emulator, tmp_path):
    result = dg.materialize(
        [raw_spotify],
        partition_key="2026-01-05",
        resources={"lake": LakeResource(root_uri=str(tmp_path)), "spotify": spotify_for(emulator)},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "only answers for today" in failure.message
    assert "allow_past_partition" in failure.message
    assert not (tmp_path / "raw").exists()


def test_invalid_seed_ids_are_rejected_before_any_request(emulator, tmp_path):
    emulator.reset_stats()
    result = _materialize(
        emulator, str(tmp_path), config={"playlist_ids": ["../../etc/passwd"], "include_my_playlists": False},
        raise_on_error=False,
    )
    assert not result.success
    message = result.get_step_failure_events()[0].step_failure_data.error.message
    assert "../../etc/passwd" in message
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("field", ["playlist_ids", "artist_ids", "track_ids"])
def test_extract_config_defaults_work_on_the_emulator(field):
    assert getattr(ExtractConfig(), field) == []


def test_album_copies_are_carried_unless_the_config_or_environment_says_otherwise(emulator, tmp_path, monkeypatch):
    """Extended mode: yesterday's album batches are carried into today's partition (artists are looked up
    daily); ``full_copy_max_age_days: 0`` looks every album up; a bad environment value fails at once."""
    import datetime as dt

    today = dt.datetime.now(dt.UTC).date()  # copies are aged against fetched_at, the wall clock
    yesterday, day = (today - dt.timedelta(days=1)).isoformat(), today.isoformat()

    def crawl_metadata(partition, config=None, raise_on_error=True):
        result = dg.materialize(
            [raw_spotify], partition_key=partition,
            resources={"lake": LakeResource(root_uri=str(tmp_path)), "spotify": spotify_for(emulator)},
            run_config={"ops": {"raw_spotify": {"config": {"allow_past_partition": True, **(config or {})}}}},
            raise_on_error=raise_on_error,
        )
        return result if not result.success else _materializations(result)["raw_albums"]

    first = crawl_metadata(yesterday)
    carried = crawl_metadata(day)
    assert carried["crawl/albums_carried"] == first["crawl/albums_fetched"] > 0
    assert carried["crawl/albums_fetched"] == carried["crawl/artists_carried"] == 0
    assert carried["crawl/full_copy_max_age_days"] == 7
    assert carried["dagster/row_count"] == first["dagster/row_count"]  # the same batches, carried whole
    fetched = crawl_metadata(day, {"full_copy_max_age_days": 0})
    assert (fetched["crawl/albums_carried"], fetched["crawl/albums_fetched"]) == (0, first["crawl/albums_fetched"])

    monkeypatch.setenv("SPOTIFY_FULL_COPY_MAX_AGE_DAYS", "a week")
    failed = crawl_metadata(day, raise_on_error=False)
    error = failed.get_step_failure_events()[0].step_failure_data
    assert "SPOTIFY_FULL_COPY_MAX_AGE_DAYS='a week'" in error.error.message
    assert not [e for e in failed.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]  # not retried
