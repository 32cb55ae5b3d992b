"""The sensor that evaluates every asset's automation condition (:mod:`.conditions`) and launches the runs."""

from __future__ import annotations

import dagster as dg

from .conditions import sensor_status
from .retries import RUN_RETRY_TAGS

AUTOMATION_SENSOR_NAME = "automation_sensor"

automation_sensor = dg.AutomationConditionSensorDefinition(
    AUTOMATION_SENSOR_NAME,
    target=dg.AssetSelection.all(),
    default_status=sensor_status(),
    minimum_interval_seconds=30,
    run_tags={**RUN_RETRY_TAGS, "spotify/trigger": AUTOMATION_SENSOR_NAME},
    description="Evaluates the automation conditions of every asset (see the conditions in each asset's page): "
    "the daily crawl at its cron tick, then everything downstream as its parents update — in the same run "
    "when they update in the same tick — never past a held-back day. Runs it launches are retried once "
    "from the failed step unless the failure is permanent.",
)
