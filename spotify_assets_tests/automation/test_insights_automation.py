"""weekly_movers follows today's transformed tables even when days of its 7-day window were never published
(a new deployment's first week), where plain eager() would wait for every parent day forever."""

from __future__ import annotations

import dagster as dg

from spotify_assets.defs.insights.weekly_movers import weekly_movers
from spotify_assets.defs.partitions import daily_partitions, today_utc
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.resource import LakeResource


@dg.multi_asset(
    specs=[dg.AssetSpec("tracks"), dg.AssetSpec("playlist_items")], partitions_def=daily_partitions, can_subset=True
)
def transformed_stand_in():
    yield from ()


def _requested_after_today_is_published(condition: dg.AutomationCondition) -> set[str]:
    """The weekly_movers days ``condition`` requests once today's tables are published (none before)."""
    asset = weekly_movers.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))
    defs = dg.Definitions(
        assets=[transformed_stand_in, asset], resources={"lake_io_manager": LakeIOManager(lake=LakeResource())}
    )
    today = today_utc()
    with dg.instance_for_test() as instance:
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)  # the sensor's first tick
        for key in ("tracks", "playlist_items"):  # only today was ever published
            instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=today))
        second = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        return set(second.get_requested_partitions(dg.AssetKey("weekly_movers")))


def test_today_is_requested_once_its_tables_are_published_despite_missing_days():
    condition = weekly_movers.automation_conditions_by_key[dg.AssetKey("weekly_movers")]
    assert _requested_after_today_is_published(condition) == {today_utc()}
    # what plain eager() would do: wait for the six earlier days of the window
    assert _requested_after_today_is_published(dg.AutomationCondition.eager()) == set()
