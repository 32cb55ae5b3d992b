"""Bad configuration fails before any request, at once, naming the setting, and is never retried; messages
say what really happened to the records of an aborted crawl; seed ids are checked whole."""

from __future__ import annotations

import dagster as dg
import pytest

from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.lake.preflight import LakeUnreachableError, check_lake
from spotify_assets.lake.resource import LakeResource
from spotify_assets.lake.storage import Lake
from spotify_assets.settings import ConfigurationError
from spotify_assets.spotify.ids import is_spotify_id, validate_ids
from spotify_assets.warehouse.glue import GlueCatalog
from spotify_assets.warehouse.preflight import check_glue_database
from spotify_assets.warehouse.resources import build_warehouse_resource
from spotify_assets_tests.conftest import TEST_DAY
from spotify_assets_tests.emulation import spotify_for

GOOD_ID = "4iV5W9uYEdYUVa79Axb7Rh"


# -- seed ids ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [GOOD_ID + "\n", GOOD_ID[:-1] + "\n", " " + GOOD_ID, GOOD_ID + "x", ""])
def test_ids_are_matched_whole(bad):
    assert not is_spotify_id(bad)
    with pytest.raises(ValueError, match="Invalid Spotify playlist id"):
        validate_ids("playlist", [GOOD_ID, bad])


def test_valid_ids_pass():
    assert validate_ids("track", [GOOD_ID, GOOD_ID]) == [GOOD_ID]


# -- the lake ------------------------------------------------------------------------------------------


def test_a_lake_uri_that_is_a_file(tmp_path):
    (tmp_path / "lake").write_text("not a directory")
    with pytest.raises(ConfigurationError) as e:
        check_lake(Lake(str(tmp_path / "lake")))
    assert str(e.value) == f"SPOTIFY_LAKE_URI={str(tmp_path / 'lake')!r}: {tmp_path / 'lake'} is a file, not a directory"
    with pytest.raises(ConfigurationError, match=r"is a file, not a directory \(the lake would be below it"):
        check_lake(Lake(str(tmp_path / "lake" / "below")))


def test_a_missing_local_lake_is_created_and_a_usable_one_passes(tmp_path):
    root = tmp_path / "new" / "lake"
    check_lake(Lake(str(root)))
    assert root.is_dir() and list(root.iterdir()) == []  # the write probe is gone


def test_an_unwritable_local_lake(tmp_path):
    with pytest.raises(ConfigurationError, match=r"SPOTIFY_LAKE_URI='/proc/spotify-lake': cannot write in /proc/spotify-lake"):
        check_lake(Lake("/proc/spotify-lake"))


def test_s3_bucket_must_exist(s3_bucket, aws_env):
    check_lake(Lake(f"s3://{s3_bucket}/lake", endpoint_url=aws_env))
    with pytest.raises(ConfigurationError) as e:
        check_lake(Lake("s3://no-such-bucket-for-spotify-assets/lake", endpoint_url=aws_env))
    assert str(e.value) == ("SPOTIFY_LAKE_URI='s3://no-such-bucket-for-spotify-assets/lake': the S3 bucket "
                            "'no-such-bucket-for-spotify-assets' does not exist (region us-east-1)")


def test_an_unreachable_s3_endpoint_is_retryable_not_a_configuration_error(aws_env):
    with pytest.raises(LakeUnreachableError, match=r"SPOTIFY_LAKE_URI='s3://bucket/lake': the S3 bucket 'bucket' "
                                                   r"cannot be reached"):
        check_lake(Lake("s3://bucket/lake", endpoint_url="http://127.0.0.1:9"))


# -- the Glue database name ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "My_DB", "spotify-prod", "db'; drop", 'x"', "a" * 256, "spotify\n"])
def test_glue_database_names_are_checked(bad, monkeypatch, aws_env):
    with pytest.raises(ConfigurationError, match=r"^SPOTIFY_GLUE_DATABASE: .* is not a valid Glue database name"):
        check_glue_database(bad)
    if bad:  # (an empty variable means "not set": the default name)
        monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", bad)
        with pytest.raises(ConfigurationError, match="SPOTIFY_GLUE_DATABASE"):
            build_warehouse_resource("aws", LakeResource(root_uri="s3://bucket/lake"))
    with pytest.raises(ValueError, match="not a valid Glue database name"):
        GlueCatalog(database=bad, lake_uri="s3://bucket/lake", client=object())


def test_glue_database_name_only_matters_on_aws(monkeypatch):
    monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", "Not-Used-Locally")
    assert build_warehouse_resource("local", LakeResource(root_uri="/tmp/lake")).env == "local"
    assert check_glue_database("spotify_prod_2") == "spotify_prod_2"


# -- the raw asset -------------------------------------------------------------------------------------


def _run(emulator, root_uri: str, instance, **spotify_kw):
    """``raw_spotify`` in a job with the project's run hooks (they decide about run retries)."""
    from spotify_assets.defs.automation.retries import RUN_HOOKS
    from spotify_assets.defs.partitions import daily_partitions

    job = dg.define_asset_job("raw_only", selection="group:raw", partitions_def=daily_partitions, hooks=RUN_HOOKS)
    defs = dg.Definitions(
        assets=[raw_spotify], jobs=[job],
        resources={"lake": LakeResource(root_uri=root_uri), "spotify": spotify_for(emulator, **spotify_kw)},
    )
    return defs.resolve_job_def("raw_only").execute_in_process(
        partition_key=TEST_DAY.isoformat(), instance=instance,
        run_config={"ops": {"raw_spotify": {"config": {"allow_past_partition": True}}}},
        raise_on_error=False,
    )


def test_bad_lake_fails_the_crawl_before_any_request_and_is_never_retried(emulator, tmp_path):
    (tmp_path / "lake").write_text("a file")
    emulator.reset_stats()
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(emulator, str(tmp_path / "lake"), instance)
        assert not result.success
        (failure,) = result.get_step_failure_events()
        assert failure.step_failure_data.error.message.startswith(
            f"dagster._core.definitions.events.Failure: SPOTIFY_LAKE_URI={str(tmp_path / 'lake')!r}: ")
        events = [e.event_type_value for e in result.all_events]
        assert "STEP_UP_FOR_RETRY" not in events and "STEP_RESTARTED" not in events  # no step retry
        run = instance.get_run_by_id(result.run_id)
        assert run.tags["dagster/retry_on_asset_or_op_failure"] == "false"  # and no run retry
    assert emulator.stats()["total_requests"] == 0


def test_retry_after_above_the_ceiling_says_the_records_were_discarded(emulator, tmp_path, proxy_factory):
    proxy = proxy_factory(emulator.accounts_url)
    proxy.inject("429:3600", count=1, match="/v1/albums")
    with dg.DagsterInstance.ephemeral() as instance:
        result = _run(emulator, str(tmp_path), instance, api_url=proxy.api_url, retry_after_ceiling_s=60)
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.message
    assert "Retry-After 3600" in message and "were kept" not in message
    assert "records fetched before this point were discarded and the raw zone is unchanged" in message
    assert int(message.split("The ", 1)[1].split(" records", 1)[0]) > 0
    assert not (tmp_path / "raw").exists()
