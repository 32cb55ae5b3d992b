"""The sensor that evaluates every asset's automation condition (:mod:`.conditions`) and launches the runs.

It targets every asset: the project's assets below the raw zone have conditions (the raw assets have none:
the schedules run them), and a user's asset runs through it only if it declares a condition of its own.
"""

from __future__ import annotations

import dagster as dg

from .alerts import TRIGGER_TAG
from .conditions import sensor_status
from .retries import RUN_RETRY_TAGS

AUTOMATION_SENSOR_NAME = "automation_sensor"

automation_sensor = dg.AutomationConditionSensorDefinition(
    AUTOMATION_SENSOR_NAME,
    target=dg.AssetSelection.all(),
    default_status=sensor_status(),
    minimum_interval_seconds=30,
    run_tags={**RUN_RETRY_TAGS, TRIGGER_TAG: AUTOMATION_SENSOR_NAME},
    description="Makes everything below the raw zone follow the schedules' runs: evaluates the automation "
    "condition of every asset (shown on each asset's page) — a day's transformed tables, catalog, analytics "
    "and insights follow their parents' updates, in one run, never past a held-back day. Switch it on "
    "together with the schedules. Runs it launches are retried once from the failed step unless the "
    "failure is permanent.",
)
