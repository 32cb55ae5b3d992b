"""The audit's checks as Dagster asset checks of the transformed tables.

They run inside the transformed step, on the version the step staged, before anything is published
(:mod:`spotify_assets.publish.wap`): each check is its own result in the UI, per partition. Blocking checks
(severity ERROR) hold the day back — the published tables, the catalog and the analytics of that day stay
as they were; warning checks flag drift a person should look at. What the checks are is
:mod:`spotify_assets.publish.audit`.
"""

from __future__ import annotations

import warnings

import dagster as dg

from ...publish.audit import CheckOutcome, all_checks
from ..partitions import daily_partitions

# Why the UI offers no "Execute" for these checks alone: publishing depends on their verdict.
IN_STEP = ("Audits the version staged by `transformed_tables`, inside its step, before the day is published; "
           "it cannot run on its own (there is nothing staged outside that step): materialize the day again "
           "to re-run it.")


def transformed_check_specs() -> list[dg.AssetCheckSpec]:
    # Partitioned checks are "preview" in Dagster 1.13, but they are what gives each day its own result.
    warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*", category=dg.PreviewWarning)
    return [
        dg.AssetCheckSpec(
            check.name,
            asset=table,
            description=f"{check.describe(table)} {IN_STEP}",
            blocking=check.blocking,
            partitions_def=daily_partitions,
        )
        for table, check in all_checks()
    ]


def check_result(outcome: CheckOutcome, **metadata) -> dg.AssetCheckResult:
    """One audit verdict as the Dagster check result (``metadata`` adds e.g. where the audited version is)."""
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(outcome.table),
        check_name=outcome.check,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking else dg.AssetCheckSeverity.WARN,
        description=outcome.description,
        metadata={**outcome.metadata, **metadata},
    )
