"""One trigger model: the automation conditions of the real definitions, evaluated as the automation sensor
does — a landed crawl brings the whole day below it in one tick; raw files of other tools reported for a
recent day transform that day; a held-back day goes no further; jobs, schedules and sensors as documented.
(The schedules themselves, and a tick run for real: test_schedules.py.)"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from spotify_assets.defs import groups
from spotify_assets.defs.automation import conditions
from spotify_assets.defs.automation.alerts import FAILURE_SENSOR_NAME
from spotify_assets.defs.automation.automation_sensor import AUTOMATION_SENSOR_NAME
from spotify_assets.defs.automation.jobs import (
    DAILY_JOB_NAME,
    HISTORY_ASSETS,
    IMPORT_HISTORY_JOB_NAME,
    PIPELINE,
    TRANSFORM_JOB_NAME,
)
from spotify_assets.defs.automation.retries import RUN_RETRY_TAGS
from spotify_assets.defs.automation.schedules import CRAWL_SCHEDULE_NAME, PLAYS_SCHEDULE_NAME, schedule_status
from spotify_assets.defs.partitions import daily_partitions
from spotify_assets.defs.raw.landing_sensor import RAW_SENSOR_NAME
from spotify_assets.lake.paths import CRAWL_SOURCES
from spotify_assets.publish.audit import all_checks
from spotify_assets.tables import TABLES

TODAY = dt.date(2026, 11, 24)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def defs():
    from spotify_assets.definitions import defs

    return defs


def _evaluate(defs, instance, when: dt.datetime, cursor=None) -> tuple[dict[str, set[str]], object]:
    """One tick of the automation sensor at ``when``: ``{asset: requested partitions}`` and the next cursor."""
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=when, cursor=cursor)
    requested = {}
    for key in defs.resolve_asset_graph().get_all_asset_keys():
        days = set(result.get_requested_partitions(key))
        if days:
            requested[key.to_user_string()] = days
    return requested, result.cursor


def test_a_landed_crawl_brings_the_whole_day_below_it_in_one_tick(defs):
    """What follows a run of daily_crawl_schedule: the day's transform, catalog, analytics and insights, all
    requested in one tick (one run); nothing before the crawl lands, nothing twice."""
    day = TODAY.isoformat()
    with dg.instance_for_test() as instance:
        before, cursor = _evaluate(defs, instance, _at(TODAY, 6))
        assert before == {}  # no asset of the project starts on its own: the schedules do
        _report(instance, [f"raw_{s}" for s in CRAWL_SOURCES], day)
        after, cursor = _evaluate(defs, instance, _at(TODAY, 6, 1), cursor)
        graph = defs.resolve_asset_graph()
        # the listening history follows the day's plays once they landed, in a tick of its own
        below_raw = {k.to_user_string() for k in graph.get_all_asset_keys()
                     if not k.to_user_string().startswith("raw_") and graph.get(k).group_name != groups.HISTORY}
        assert set(after) == below_raw
        assert all(days == {day} for days in after.values())
        again, _ = _evaluate(defs, instance, _at(TODAY, 6, 2), cursor)
        assert again == {}  # handled: not requested twice


def _report(instance, keys, day: str) -> None:
    for key in keys:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day))


def test_a_day_of_plays_alone_waits_for_its_crawl_then_follows_each_hours_plays(defs):
    """Plays land from midnight, the crawl at 06:00: before it the day's transform could only be held back."""
    day = (TODAY - dt.timedelta(days=1)).isoformat()  # also what a run after midnight reports for the day before
    with dg.instance_for_test() as instance:
        _, cursor = _evaluate(defs, instance, _at(TODAY, 2))
        _report(instance, ["raw_plays"], day)
        waiting, cursor = _evaluate(defs, instance, _at(TODAY, 2, 1), cursor)
        assert waiting == {}
        _report(instance, ["raw_playlists", "raw_tracks"], day)  # the day's crawl lands
        requested, cursor = _evaluate(defs, instance, _at(TODAY, 2, 2), cursor)
        assert {t for t in TABLES} <= set(requested) and requested["plays"] == {day}
        _report(instance, TABLES, day)  # the run transformed the day
        handled, cursor = _evaluate(defs, instance, _at(TODAY, 2, 3), cursor)
        assert not set(TABLES) & set(handled)
        _report(instance, ["raw_plays"], day)  # the next hour's plays
        again, _ = _evaluate(defs, instance, _at(TODAY, 2, 4), cursor)
        assert all(again[t] == {day} for t in TABLES)


def test_raw_files_of_another_tool_transform_that_recent_day_only(defs):
    recent, old = (TODAY - dt.timedelta(days=3)).isoformat(), (TODAY - dt.timedelta(days=30)).isoformat()
    with dg.instance_for_test() as instance:
        _, cursor = _evaluate(defs, instance, _at(TODAY, 7))
        for day in (recent, old):  # what raw_landing_sensor reports
            instance.report_runless_asset_event(dg.AssetMaterialization("raw_albums", partition=day))
        requested, _ = _evaluate(defs, instance, _at(TODAY, 7, 1), cursor)
    transformed = {t for t in TABLES}
    assert transformed <= set(requested)
    assert all(requested[t] == {recent} for t in transformed)  # 30 days ago is beyond the look-back
    assert requested["catalog_albums"] == {recent}  # in the same tick, the checks decide in the run
    assert "raw_albums" not in requested


def _publish_day(instance, day: str, *, tracks_values_in_range: bool) -> None:
    """What the transformed step records: each table's materialization, then its checks' results about it."""
    from dagster._core.definitions.asset_checks.asset_check_evaluation import (
        AssetCheckEvaluationTargetMaterializationData,
    )

    for table in TABLES:
        instance.report_runless_asset_event(dg.AssetMaterialization(table, partition=day))
    for table, check in all_checks():
        record = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey(table), asset_partitions=[day]), limit=1
        ).records[0]
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(table), check_name=check.name, partition=day, blocking=check.blocking,
            passed=tracks_values_in_range or (table, check.name) != ("tracks", "values_in_range"),
            severity=dg.AssetCheckSeverity.ERROR if check.blocking else dg.AssetCheckSeverity.WARN,
            target_materialization_data=AssetCheckEvaluationTargetMaterializationData(
                storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
            ),
        ))


@pytest.mark.parametrize("passed", [True, False])
def test_a_held_back_day_stops_at_the_catalog(defs, passed):
    day = TODAY.isoformat()
    with dg.instance_for_test() as instance:
        _, cursor = _evaluate(defs, instance, _at(TODAY, 7))
        _publish_day(instance, day, tracks_values_in_range=passed)
        requested, _ = _evaluate(defs, instance, _at(TODAY, 7, 1), cursor)
    assert ("catalog_tracks" in requested) is passed
    assert "catalog_albums" in requested  # its parent's checks passed


def test_the_look_back_follows_its_setting(monkeypatch):
    monkeypatch.setenv("SPOTIFY_AUTOMATION_LOOKBACK_DAYS", "2")
    assert conditions.follow_parents().get_label() == "follow parents (last 2 days)"
    monkeypatch.setenv("SPOTIFY_AUTOMATION_LOOKBACK_DAYS", "soon")
    with pytest.raises(ValueError, match="SPOTIFY_AUTOMATION_LOOKBACK_DAYS"):
        conditions.follow_parents()


@pytest.mark.parametrize("flag,expected", [(None, "STOPPED"), ("true", "RUNNING"), ("false", "STOPPED")])
def test_default_status_follows_env(monkeypatch, flag, expected):
    if flag is None:
        monkeypatch.delenv("SPOTIFY_AUTOMATION_DEFAULT_ON", raising=False)
    else:
        monkeypatch.setenv("SPOTIFY_AUTOMATION_DEFAULT_ON", flag)
    assert conditions.sensor_status().value == expected
    assert schedule_status().value == expected


def test_jobs_schedules_sensors_and_retry_tags_of_the_real_definitions(defs):
    with dg.instance_for_test():
        repo = defs.get_repository_def()
    graph = repo.asset_graph
    group_of = {key: graph.get(key).group_name for key in graph.get_all_asset_keys()}
    daily, transform = repo.get_job(DAILY_JOB_NAME), repo.get_job(TRANSFORM_JOB_NAME)
    named = {key for keys in PIPELINE.values() for key in keys}
    history = {key for key, group in group_of.items() if group == groups.HISTORY}  # import_history_job's, not daily
    assert set(daily.asset_layer.executable_asset_keys) == named == set(graph.get_all_asset_keys()) - history
    assert set(repo.get_job(IMPORT_HISTORY_JOB_NAME).asset_layer.executable_asset_keys) == history == set(HISTORY_ASSETS)
    assert all(group_of[key] == stage for stage, keys in PIPELINE.items() for key in keys)
    assert set(transform.asset_layer.executable_asset_keys) == named - set(PIPELINE["raw"])
    for job in (daily, transform):
        assert {k: job.tags[k] for k in RUN_RETRY_TAGS} == RUN_RETRY_TAGS
        assert job.partitions_def == daily_partitions
    assert {s.name for s in repo.sensor_defs} == {RAW_SENSOR_NAME, AUTOMATION_SENSOR_NAME, FAILURE_SENSOR_NAME}
    assert {s.name for s in repo.schedule_defs} == {CRAWL_SCHEDULE_NAME, PLAYS_SCHEDULE_NAME}
    automation = repo.get_sensor_def(AUTOMATION_SENSOR_NAME)
    assert {k: automation.run_tags[k] for k in RUN_RETRY_TAGS} == RUN_RETRY_TAGS
    hooks = {h.name for a in repo.asset_graph.assets_defs for h in a.hook_defs}
    assert hooks == {"permanent_failure_blocks_run_retry"}  # on every asset, whatever launches the run


def test_a_users_asset_in_a_project_group_joins_no_job(defs):
    """A user's asset put in group insights (where the project's own insights are) stays out of daily_job and
    transform_job, so nothing warns that they mix backfill policies."""
    import warnings

    @dg.asset(partitions_def=daily_partitions, group_name="insights")
    def my_insight(tracks) -> None:
        """A user's asset without a backfill policy."""

    merged = dg.Definitions.merge(defs, dg.Definitions(assets=[my_insight]))
    with warnings.catch_warnings(record=True) as caught, dg.instance_for_test():
        warnings.simplefilter("always")
        repo = merged.get_repository_def()
        jobs = [repo.get_job(DAILY_JOB_NAME), repo.get_job(TRANSFORM_JOB_NAME)]
    for job in jobs:
        assert dg.AssetKey("my_insight") not in job.asset_layer.executable_asset_keys
        assert dg.AssetKey("weekly_movers") in job.asset_layer.executable_asset_keys
    assert not [w for w in caught if "BackfillPolicies" in str(w.message)]
