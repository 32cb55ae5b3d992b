"""The daily schedule targets today's partition of daily_job; jobs select the right groups; default status."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from spotify_assets import automation
from spotify_assets.partitions import daily_partitions


@pytest.fixture
def _stub_defs(stub_defs):
    return stub_defs


def test_schedule_requests_todays_partition(_stub_defs):
    auto = automation.build_automation()
    defs = _stub_defs(auto)
    schedule = defs.resolve_schedule_def(automation.SCHEDULE_NAME)
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    tick = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        )
        data = schedule.evaluate_tick(context)
    assert len(data.run_requests) == 1
    request = data.run_requests[0]
    assert request.partition_key == "2026-11-24"
    job = defs.resolve_job_def(automation.DAILY_JOB_NAME)
    # The partition exists in the job's partitions and the request's config is valid for the job.
    assert request.partition_key in daily_partitions.get_partition_keys(
        current_time=dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC)
    )
    assert dg.validate_run_config(job, request.run_config) is not None


def test_schedule_uses_utc_day_whatever_the_timezone(monkeypatch, _stub_defs):
    monkeypatch.setenv("SPOTIFY_SCHEDULE_CRON", "30 23 * * *")
    monkeypatch.setenv("SPOTIFY_SCHEDULE_TIMEZONE", "America/Los_Angeles")
    defs = _stub_defs(automation.build_automation())
    schedule = defs.resolve_schedule_def(automation.SCHEDULE_NAME)
    assert schedule.cron_schedule == "30 23 * * *"
    assert schedule.execution_timezone == "America/Los_Angeles"
    tick = dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8)))  # 07:30 UTC next day
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        )
        data = schedule.evaluate_tick(context)
    assert [r.partition_key for r in data.run_requests] == ["2026-11-25"]


def test_jobs_select_groups_and_retry_tags(_stub_defs):
    auto = automation.build_automation()
    defs = _stub_defs(auto)
    with dg.instance_for_test():
        defs.get_repository_def()
    daily = defs.resolve_job_def(automation.DAILY_JOB_NAME)
    transform = defs.resolve_job_def(automation.TRANSFORM_JOB_NAME)
    daily_keys = {k.to_user_string() for k in daily.asset_layer.executable_asset_keys}
    transform_keys = {k.to_user_string() for k in transform.asset_layer.executable_asset_keys}
    assert daily_keys == {"raw_tracks", "raw_plays", "tracks", "catalog_tracks", "daily_top_tracks"}
    assert transform_keys == {"tracks", "catalog_tracks", "daily_top_tracks"}
    plays = defs.resolve_job_def(automation.PLAYS_JOB_NAME)
    assert {k.to_user_string() for k in plays.asset_layer.executable_asset_keys} == {"raw_plays"}
    for job in (daily, transform, plays):
        assert job.tags["dagster/max_retries"] == "1"
        assert job.tags["dagster/retry_strategy"] == "FROM_FAILURE"
        assert job.partitions_def == daily_partitions


@pytest.mark.parametrize("flag,expected", [(None, "STOPPED"), ("true", "RUNNING"), ("false", "STOPPED")])
def test_default_status_follows_env(monkeypatch, flag, expected):
    if flag is None:
        monkeypatch.delenv("SPOTIFY_AUTOMATION_DEFAULT_ON", raising=False)
    else:
        monkeypatch.setenv("SPOTIFY_AUTOMATION_DEFAULT_ON", flag)
    auto = automation.build_automation()
    assert {s.name: s.default_status.value for s in auto.schedules} == {
        automation.SCHEDULE_NAME: expected,
        automation.PLAYS_SCHEDULE_NAME: expected,
    }
    assert {s.name: s.default_status.value for s in auto.sensors} == {
        automation.RAW_SENSOR_NAME: expected,
        automation.AUTOMATION_SENSOR_NAME: expected,
        automation.FAILURE_SENSOR_NAME: expected,
    }


def _tick(defs, schedule, tick: dt.datetime):
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
        )
        return schedule.evaluate_tick(context).run_requests


def test_plays_schedule_runs_hourly_for_todays_partition(monkeypatch, _stub_defs):
    monkeypatch.delenv("SPOTIFY_PLAYS_SCHEDULE_CRON", raising=False)
    defs = _stub_defs(automation.build_automation())
    with dg.instance_for_test():  # resolving consults the current instance (an earlier test's may be gone)
        schedule = defs.resolve_schedule_def(automation.PLAYS_SCHEDULE_NAME)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("5 * * * *", "UTC")
    assert schedule.job_name == automation.PLAYS_JOB_NAME
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    # the first tick after midnight targets the new day (plays of the day before land in their own folder)
    (request,) = _tick(defs, schedule, dt.datetime(2026, 11, 25, 0, 5, tzinfo=dt.UTC))
    assert (request.partition_key, request.run_key) == ("2026-11-25", "plays-2026-11-25@0005")
    assert request.tags["spotify/trigger"] == "plays_schedule"
    (later,) = _tick(defs, schedule, dt.datetime(2026, 11, 25, 13, 5, tzinfo=dt.UTC))
    assert later.run_key != request.run_key  # one run per tick


def test_plays_schedule_cron_is_configurable(monkeypatch, _stub_defs):
    monkeypatch.setenv("SPOTIFY_PLAYS_SCHEDULE_CRON", "*/20 * * * *")
    defs = _stub_defs(automation.build_automation())
    with dg.instance_for_test():
        assert defs.resolve_schedule_def(automation.PLAYS_SCHEDULE_NAME).cron_schedule == "*/20 * * * *"


def test_real_definitions_wire_the_automation(tmp_path, land_raw):
    """The code location's own Definitions: job selections by group, and one sensor tick on a local lake."""
    from spotify_assets.definitions import defs
    from spotify_assets.lake.resource import LakeResource

    with dg.instance_for_test() as instance:
        repo = defs.get_repository_def()
        graph = repo.asset_graph
        groups = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
        daily = repo.get_job(automation.DAILY_JOB_NAME)
        transform = repo.get_job(automation.TRANSFORM_JOB_NAME)
        daily_groups = {groups[k] for k in daily.asset_layer.executable_asset_keys}
        assert dg.AssetKey("raw_plays") in daily.asset_layer.executable_asset_keys  # the day's plays, then its transform
        assert {s.name for s in repo.schedule_defs} == {automation.SCHEDULE_NAME, automation.PLAYS_SCHEDULE_NAME}
        transform_groups = {groups[k] for k in transform.asset_layer.executable_asset_keys}
        assert daily_groups == {"raw", "transformed", "catalog", "analytics"}
        assert transform_groups == {"transformed", "catalog", "analytics"}
        assert {s.name for s in repo.sensor_defs} == {
            automation.RAW_SENSOR_NAME,
            automation.AUTOMATION_SENSOR_NAME,
            automation.FAILURE_SENSOR_NAME,
        }

        land_raw(str(tmp_path), "tracks", "2026-11-20")
        sensor = repo.get_sensor_def(automation.RAW_SENSOR_NAME)
        context = dg.build_sensor_context(
            instance=instance, repository_def=repo, resources={"lake": LakeResource(root_uri=str(tmp_path))}
        )
        data = sensor.evaluate_tick(context)
        assert [r.partition_key for r in data.run_requests] == ["2026-11-20"]
        assert sensor.job_name == automation.TRANSFORM_JOB_NAME
