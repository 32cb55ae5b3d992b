"""The schedules that start the pipeline, and what one tick of the crawl leads to when it really runs.

The measure: one tick of ``daily_crawl_schedule`` leads to exactly one crawl, one transform, one catalog and
one analytics (and insights) materialization of that day — the crawl's run by the schedule, everything below
it by the automation sensor's conditions, evaluated tick after tick as the sensor does, each request run for
real (in process) against the emulator, until nothing more is requested.
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg
import pytest

from spotify_assets.defs import groups
from spotify_assets.defs.automation.alerts import TRIGGER_TAG
from spotify_assets.defs.automation.jobs import PIPELINE
from spotify_assets.defs.automation.retries import RUN_RETRY_TAGS
from spotify_assets.defs.automation.schedules import CRAWL_SCHEDULE_NAME, PLAYS_SCHEDULE_NAME, build_schedules
from spotify_assets.defs.partitions import daily_partitions, today_utc
from spotify_assets.lake.paths import CRAWL_SOURCES
from spotify_assets_tests.emulation import running_emulator


def _schedules() -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in build_schedules()}


def _tick(repo, name: str, when: dt.datetime, instance=None):
    """One tick of the schedule ``name`` of ``repo`` at ``when``."""
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=when, repository_def=repo)
    return repo.get_schedule_def(name).evaluate_tick(context)


def _repo_with_stand_ins():
    with dg.instance_for_test():
        return dg.Definitions(schedules=build_schedules(), assets=_stand_ins()).get_repository_def()


def test_the_schedules_follow_their_settings(monkeypatch):
    for name in ("SPOTIFY_SCHEDULE_CRON", "SPOTIFY_PLAYS_SCHEDULE_CRON", "SPOTIFY_SCHEDULE_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    default = _schedules()
    assert (default[CRAWL_SCHEDULE_NAME].cron_schedule, default[CRAWL_SCHEDULE_NAME].execution_timezone) == (
        "0 6 * * *", "UTC")
    assert (default[PLAYS_SCHEDULE_NAME].cron_schedule, default[PLAYS_SCHEDULE_NAME].execution_timezone) == (
        "5 * * * *", "UTC")
    monkeypatch.setenv("SPOTIFY_SCHEDULE_CRON", "30 23 * * *")
    monkeypatch.setenv("SPOTIFY_PLAYS_SCHEDULE_CRON", "*/20 * * * *")
    monkeypatch.setenv("SPOTIFY_SCHEDULE_TIMEZONE", "America/Los_Angeles")
    configured = _schedules()
    assert configured[CRAWL_SCHEDULE_NAME].cron_schedule == "30 23 * * *"
    assert configured[PLAYS_SCHEDULE_NAME].cron_schedule == "*/20 * * * *"
    assert {s.execution_timezone for s in configured.values()} == {"America/Los_Angeles"}


def test_the_schedules_target_the_crawl_and_the_plays():
    repo = _repo_with_stand_ins()
    crawl = repo.get_job(repo.get_schedule_def(CRAWL_SCHEDULE_NAME).job_name)
    plays = repo.get_job(repo.get_schedule_def(PLAYS_SCHEDULE_NAME).job_name)
    assert {k.to_user_string() for k in crawl.asset_layer.executable_asset_keys} == {
        f"raw_{s}" for s in CRAWL_SOURCES}
    assert {k.to_user_string() for k in plays.asset_layer.executable_asset_keys} == {"raw_plays"}


def _stand_ins() -> list:
    @dg.multi_asset(specs=[dg.AssetSpec(f"raw_{s}") for s in CRAWL_SOURCES], partitions_def=daily_partitions)
    def crawl_stand_in():
        yield from ()

    @dg.asset(name="raw_plays", partitions_def=daily_partitions)
    def plays_stand_in():
        return None

    return [crawl_stand_in, plays_stand_in]


@pytest.mark.parametrize(("when", "day"), [
    # the UTC day of the scheduled time, whatever the schedule's timezone
    (dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC), "2026-11-24"),
    (dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-8))), "2026-11-25"),
    (dt.datetime(2026, 11, 25, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))), "2026-11-24"),
])
def test_a_tick_asks_for_the_utc_day_of_its_scheduled_time_with_the_retry_tags(when, day):
    repo = _repo_with_stand_ins()
    for name in (CRAWL_SCHEDULE_NAME, PLAYS_SCHEDULE_NAME):
        (request,) = _tick(repo, name, when).run_requests
        assert request.partition_key == day
        assert {**RUN_RETRY_TAGS, TRIGGER_TAG: name}.items() <= request.tags.items()


def test_a_tick_before_the_first_partition_is_skipped_with_the_reason():
    result = _tick(_repo_with_stand_ins(), CRAWL_SCHEDULE_NAME, dt.datetime(2020, 1, 1, 6, tzinfo=dt.UTC))
    assert not result.run_requests and "is not a daily partition" in result.skip_message


def _materializations(instance, key: dg.AssetKey, day: str) -> int:
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, asset_partitions=[day]), limit=20)
    return len(records.records)


@pytest.mark.slow  # a crawl and a whole day's transform, catalog and analytics, for real (~45 s)
def test_one_crawl_tick_materializes_each_stage_of_the_day_once(tmp_path, monkeypatch):
    """The schedule's run, then the automation sensor's ticks (each request run for real) until it rests."""
    day = today_utc()
    with running_emulator(today=dt.date.fromisoformat(day)) as emulator:
        for name in [n for n in os.environ if n.startswith("SPOTIFY_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("SPOTIFY_API_URL", emulator.api_url)
        monkeypatch.setenv("SPOTIFY_ACCOUNTS_URL", emulator.accounts_url)
        monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
        monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
        from spotify_assets.definitions import build_definitions

        defs = build_definitions()
        with dg.instance_for_test() as instance:
            repo = defs.get_repository_def()
            # the automation sensor runs all along: its tick before the schedule's
            idle = dg.evaluate_automation_conditions(defs=defs, instance=instance)
            assert idle.total_requested == 0
            (request,) = _tick(repo, CRAWL_SCHEDULE_NAME, dt.datetime.now(dt.UTC), instance).run_requests
            crawl = repo.get_job(repo.get_schedule_def(CRAWL_SCHEDULE_NAME).job_name).execute_in_process(
                partition_key=request.partition_key, tags=request.tags, instance=instance)
            assert crawl.success
            runs, cursor = [crawl.run_id], idle.cursor
            history_runs: list[list[str]] = []
            for _ in range(5):  # the sensor's ticks, until it requests nothing
                tick = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=cursor)
                cursor = tick.cursor
                requested = {key: set(tick.get_requested_partitions(key))
                             for key in repo.asset_graph.get_all_asset_keys() if tick.get_requested_partitions(key)}
                if not requested:
                    break
                # the listening history (not partitioned) follows the day's plays once they landed: runs of its own
                history = sorted(k for k in requested if repo.asset_graph.get(k).group_name == groups.HISTORY)
                day_keys = [k for k in requested if k not in history]
                assert set().union(*(requested[k] for k in day_keys)) <= {day}
                if day_keys:
                    run = repo.get_implicit_job_def_for_assets(day_keys).execute_in_process(
                        asset_selection=day_keys, partition_key=day, instance=instance)
                    assert run.success
                    runs.append(run.run_id)
                if history:
                    run = repo.get_implicit_job_def_for_assets(history).execute_in_process(
                        asset_selection=history, instance=instance)
                    assert run.success
                    history_runs.append([k.to_user_string() for k in history])
            else:
                pytest.fail("the automation sensor never came to rest")
            counts = {key.to_user_string(): _materializations(instance, key, day)
                      for keys in PIPELINE.values() for key in keys}
    assert len(runs) == 2  # the crawl's, then one run for the whole day below it
    # then the listens, and their catalog entry and the listening report
    assert history_runs == [["listens"], ["catalog_listens", "listening_report"]]
    assert counts.pop("raw_plays") == 0  # the plays have their own schedule
    assert counts == dict.fromkeys(counts, 1), {k: n for k, n in counts.items() if n != 1}
