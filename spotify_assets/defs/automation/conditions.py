"""What runs when — every trigger of the pipeline, in one place with :mod:`.schedules`.

Two schedules start the pipeline (:mod:`.schedules`): ``daily_crawl_schedule`` runs the crawl
(``raw_spotify``) for today at ``SPOTIFY_SCHEDULE_CRON``, ``recent_plays_schedule`` runs ``raw_plays`` at
``SPOTIFY_PLAYS_SCHEDULE_CRON``. Everything below the raw zone follows by declarative automation, evaluated
by the ``automation_sensor`` — the conditions here:

* **transformed**, **insights** — :func:`follow_parents`: a partition is materialized when a parent
  partition was updated (or will be in the same tick, so the day's transform, catalog and analytics run in
  one run), for the days of the last ``SPOTIFY_AUTOMATION_LOOKBACK_DAYS`` (default 7): raw files landed by
  other tools for a recent past day are transformed too. Never while a parent is in progress, and a run
  that updated both a parent and the asset itself is not followed again. Parents may be missing: a day
  whose raw zone lacks a source transforms what it has; an insight over a window of days reads the days
  that exist. The transformed tables also wait for the day's crawl (:func:`day_landed`): plays land
  hourly from midnight, the crawl once a day, and a day without its crawl would only be held back by the
  audit. Once the crawl landed, each hour's plays re-transform the day.
* **analytics** — the same, once every parent (the day's catalog tables) exists.
* **catalog** — the same, and only once the transformed tables' blocking checks passed: a held-back day
  changes nothing downstream.
* **history** (``streams``, ``listens`` and their catalog entries, not partitioned) — :func:`history`: they
  follow their parents' updates (an import, each hour's ``plays`` for ``listens``); the catalog entries
  only once the table's blocking checks passed. An import itself (``raw_streaming_history``) runs when a
  person asks (``make import-history``, or the launchpad with the export's path).
* Raw files landed by other tools (a backfill script, another extractor) are reported as materializations
  of the raw assets by the ``raw_landing_sensor`` (it only reports; the conditions above then act).

Jobs (``daily_job``, ``transform_job``) are for people: launching a day from the UI, backfills, the demo.
Everything is STOPPED by default so a laptop never crawls or writes on its own; production sets
``SPOTIFY_AUTOMATION_DEFAULT_ON=true``.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from ... import settings


def automation_default_on() -> bool:
    """``SPOTIFY_AUTOMATION_DEFAULT_ON=true`` starts the schedules and sensors by default (production)."""
    return settings.load().automation_default_on


def sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_default_on() else dg.DefaultSensorStatus.STOPPED


def lookback_days() -> int:
    """``SPOTIFY_AUTOMATION_LOOKBACK_DAYS``: how many recent days follow their parents' updates."""
    return settings.load().automation_lookback_days


def day_landed(keys: list[dg.AssetKey], label: str) -> dg.AutomationCondition:
    """True for a partition once any of ``keys`` (assets partitioned like the target) has it."""
    present = [dg.AutomationCondition.asset_matches(key, ~dg.AutomationCondition.missing()) for key in keys]
    condition = present[0]
    for other in present[1:]:
        condition = condition | other
    return condition.with_label(label)


def follow_parents(*, all_parents_present: bool = False) -> dg.AutomationCondition:
    """A partition follows its parents' updates, over the recent days (``eager`` considers only today's
    and also fires for partitions that are merely missing: here only an update of a parent triggers).

    ``all_parents_present``: also wait until every parent partition exists.
    """
    window = dt.timedelta(days=lookback_days())
    condition = (
        dg.AutomationCondition.in_latest_time_window(window)
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    )
    if all_parents_present:
        condition = condition & ~dg.AutomationCondition.any_deps_missing()
    return condition.with_label(f"follow parents (last {window.days} days)")


def after_blocking_checks() -> dg.AutomationCondition:
    """:func:`follow_parents`, and only when the parents' blocking checks passed (a held-back day stops here)."""
    return (
        follow_parents(all_parents_present=True) & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("follow parents whose blocking checks passed")


def history(*, after_blocking_checks: bool = False) -> dg.AutomationCondition:
    """The history assets (not partitioned): materialized when a parent was updated since they last ran —
    ``listens`` also after each update of a day of ``plays`` — never while a parent or the asset runs.
    ``after_blocking_checks``: only once the parents' blocking checks passed (the catalog entries)."""
    # newly_updated, not any_deps_updated (which also counts parents requested in the same tick): a parent run
    # by the daily graph's tick lands first, and the history follows in the next tick, in a run of its own
    updated = dg.AutomationCondition.any_deps_match(dg.AutomationCondition.newly_updated())
    condition = (
        updated.since_last_handled()
        & ~dg.AutomationCondition.any_deps_match(dg.AutomationCondition.will_be_requested())
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    )
    if after_blocking_checks:
        return (condition & dg.AutomationCondition.all_deps_blocking_checks_passed()).with_label(
            "follow the history table once its blocking checks passed")
    return condition.with_label("follow parents' updates")
