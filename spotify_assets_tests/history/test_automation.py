"""The history assets' triggers, evaluated as the automation sensor does: an import (raw_streaming_history)
is followed by streams, then listens, then their catalog entries and the listening report, tick by tick; a day of plays landed by the
daily graph is followed by listens once it has landed — never in the daily graph's own tick."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from spotify_assets.history.audit import checks_of

NOW = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def defs():
    from spotify_assets.definitions import defs

    return defs


def tick(defs, instance, minutes: int, cursor=None) -> tuple[set[str], object]:
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                               evaluation_time=NOW + dt.timedelta(minutes=minutes), cursor=cursor)
    graph = defs.resolve_asset_graph()
    requested = {k.to_user_string() for k in graph.get_all_asset_keys()
                 if graph.get(k).group_name == "history" and result.get_num_requested(k)}
    return requested, result.cursor


def report(instance, key: str, partition: str | None = None) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))
    for check in checks_of(key):  # the step's checks, all passed
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey(key), check_name=check.name, passed=True))


def test_an_import_is_followed_by_the_tables_then_their_catalog_entries_once_their_checks_passed(defs):
    with dg.instance_for_test() as instance:
        requested, cursor = tick(defs, instance, 0)
        assert requested == set()  # nothing imports on its own
        report(instance, "raw_streaming_history")
        requested, cursor = tick(defs, instance, 1, cursor)
        assert requested == {"streams"}
        report(instance, "streams")
        requested, cursor = tick(defs, instance, 2, cursor)
        assert requested == {"listens", "catalog_streams"}
        instance.report_runless_asset_event(dg.AssetMaterialization("listens"))
        instance.report_runless_asset_event(dg.AssetCheckEvaluation(
            asset_key=dg.AssetKey("listens"), check_name="every_listen_once", passed=False))
        requested, cursor = tick(defs, instance, 3, cursor)
        assert requested == set()  # a failed blocking check: the catalog entry and the report wait
        report(instance, "listens")
        requested, cursor = tick(defs, instance, 4, cursor)
        assert requested == {"catalog_listens", "listening_report"}
        requested, cursor = tick(defs, instance, 5, cursor)
        assert requested == set()


def test_listens_follow_each_landed_day_of_plays(defs):
    with dg.instance_for_test() as instance:
        _, cursor = tick(defs, instance, 0)
        report(instance, "plays", "2026-11-24")
        requested, cursor = tick(defs, instance, 1, cursor)
        assert requested == {"listens"}
        requested, cursor = tick(defs, instance, 2, cursor)
        assert requested == set()  # handled: not requested twice
        report(instance, "plays", "2026-11-23")  # a run after midnight completes yesterday
        requested, cursor = tick(defs, instance, 3, cursor)
        assert requested == {"listens"}
