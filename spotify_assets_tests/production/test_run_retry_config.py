"""The retry wiring of the production jobs, without a daemon: tags, the permanent-failure hook, and the
run tags Dagster reads to decide on a retry (the daemon tests exercise the same wiring end to end)."""

from __future__ import annotations

import dagster as dg
import pytest
from dagster._core.errors import DagsterAssetCheckFailedError

from spotify_assets.defs.automation.retries import (
    NO_RETRY_REASON_TAG,
    RETRY_ON_STEP_FAILURE_TAG,
    RUN_RETRY_TAGS,
    permanent_failure_hook,
    permanent_failure_reason,
)
from spotify_assets.deploy.run_launcher import MonitoredRunLauncher

RETRIES = {"run_retries": {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}}


@pytest.mark.parametrize("job", ["daily_job", "transform_job"])
def test_production_jobs_opt_in_to_run_retries_with_the_hook(job):
    from spotify_assets.definitions import defs

    job_def = defs.resolve_job_def(job)
    assert {k: job_def.run_tags[k] for k in RUN_RETRY_TAGS} == RUN_RETRY_TAGS
    # the hook sits on every asset, so it also acts in runs the automation sensor or the UI launch
    assets = [a for a in defs.resolve_asset_graph().assets_defs if a.keys & job_def.asset_layer.executable_asset_keys]
    assert assets and all(permanent_failure_hook in a.hook_defs for a in assets)


def test_which_failures_are_permanent():
    assert permanent_failure_reason(dg.Failure("bad credentials", allow_retries=False)).endswith("bad credentials")
    assert permanent_failure_reason(DagsterAssetCheckFailedError("1 blocking asset check failed")) == \
        "a blocking asset check failed"
    assert permanent_failure_reason(dg.Failure("maybe later")) is None  # retriable by default
    assert permanent_failure_reason(ConnectionError("reset by peer")) is None
    assert permanent_failure_reason(None) is None


def test_a_past_partition_is_not_retried(tmp_path, monkeypatch):
    """The real daily_job: raw_spotify refuses a past day; the run is tagged so no retry follows. (Its
    raw_plays step still lands plays: into a lake of the test's own, not ./data/lake of the checkout.)"""
    monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
    from spotify_assets.definitions import build_definitions

    defs = build_definitions()

    with dg.instance_for_test(overrides=RETRIES) as instance:
        result = defs.resolve_job_def("daily_job").execute_in_process(
            partition_key="2026-01-05", instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success
    assert run.tags[RETRY_ON_STEP_FAILURE_TAG] == "false"
    assert "only answers for today" in run.tags[NO_RETRY_REASON_TAG]
    assert run.tags["dagster/will_retry"] == "false"


def test_a_transient_failure_is_marked_for_retry():
    @dg.asset
    def wobbly():
        raise ConnectionError("injected: connection reset by peer")

    job = dg.define_asset_job("wobbly_job", [wobbly], tags=RUN_RETRY_TAGS, hooks={permanent_failure_hook})
    defs = dg.Definitions(assets=[wobbly], jobs=[job])
    with dg.instance_for_test(overrides=RETRIES) as instance:
        result = defs.resolve_job_def("wobbly_job").execute_in_process(instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
    assert not result.success
    assert NO_RETRY_REASON_TAG not in run.tags
    assert run.tags["dagster/will_retry"] == "true"


LAUNCHER = {"run_launcher": {"module": "spotify_assets.deploy.run_launcher", "class": "MonitoredRunLauncher"}}


def test_launcher_leaves_runs_it_cannot_check_alone():
    """A run that has not reported its process yet is never failed for that."""
    from dagster._core.launcher import WorkerStatus

    with dg.instance_for_test(overrides=LAUNCHER) as instance:
        run = instance.create_run_for_job(dg.GraphDefinition("noop").to_job(), run_id=None)
        launcher = instance.run_launcher
        assert isinstance(launcher, MonitoredRunLauncher) and launcher.supports_check_run_worker_health
        assert launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_launcher_checks_the_process_of_a_run_executed_outside_a_code_server():
    """``make demo``, ``dagster job execute``, a script: the run's executor reports its pid; the launcher looks
    that process up (the instance keeps its runs in SQLite: every process using it is on this machine)."""
    import os
    import subprocess
    import sys
    import time

    from dagster._core.launcher import WorkerStatus

    from spotify_assets.deploy.run_launcher import process_state, run_process

    @dg.asset
    def quick():
        return 1

    with dg.instance_for_test(overrides=LAUNCHER) as instance:
        result = dg.materialize([quick], instance=instance)
        run = instance.get_run_by_id(result.run_id)
        pid, reported_at = run_process(instance, run.run_id)
        assert pid == os.getpid()  # the in-process executor: this process
        assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert process_state(gone.pid, time.time()) == "gone"
    assert process_state(os.getpid(), time.time()) == "running"
    # a process that started after the run reported its pid is another process with the same pid
    assert process_state(os.getpid(), time.time() - 3600 * 24 * 365) == "gone (the pid is another process now)"


def test_launcher_reports_a_lost_code_server_as_a_failed_worker():
    import json

    from dagster._core.launcher import WorkerStatus
    from dagster._core.storage.tags import GRPC_INFO_TAG

    from .stack import free_port

    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(
            dg.GraphDefinition("noop").to_job(),
            tags={GRPC_INFO_TAG: json.dumps({"host": "127.0.0.1", "port": free_port()})},
        )
        launcher = MonitoredRunLauncher()
        launcher.attempts, launcher.retry_wait_s, launcher.timeout_s = 2, 0.1, 2
        health = launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED and "unreachable" in health.msg


def test_the_no_retry_reason_never_carries_a_credential(monkeypatch):
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", secret)

    @dg.asset
    def leaky():
        raise dg.Failure(description=f"token request failed for client_secret={secret}", allow_retries=False)

    job = dg.define_asset_job("leaky_job", [leaky], tags=RUN_RETRY_TAGS, hooks={permanent_failure_hook})
    defs = dg.Definitions(assets=[leaky], jobs=[job])
    with dg.instance_for_test(overrides=RETRIES) as instance:
        result = defs.resolve_job_def("leaky_job").execute_in_process(instance=instance, raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
    assert run.tags["dagster/will_retry"] == "false"
    assert "token request failed" in run.tags[NO_RETRY_REASON_TAG] and secret not in run.tags[NO_RETRY_REASON_TAG]
