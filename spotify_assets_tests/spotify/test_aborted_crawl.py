"""Bad configuration fails the crawl before any request, at once, naming the setting, and is never retried;
the message of an aborted crawl says what really happened to the records it had fetched."""

from __future__ import annotations

import dagster as dg

from spotify_assets.defs.raw.spotify_crawl import raw_spotify
from spotify_assets.lake.resource import LakeResource
from spotify_assets_tests.conftest import TEST_DAY
from spotify_assets_tests.emulation import spotify_for


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
