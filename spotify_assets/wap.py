"""Write–audit–publish of one day's transformed tables, free of Dagster.

1. **Stage**: the transform writes the day's tables and quarantine files into the run's staging folder
   (after clearing what earlier runs left there, see :func:`~spotify_assets.lake.publication.clean_staging`).
2. **Audit**: every check of :mod:`spotify_assets.audit` reads the staged version.
3. **Publish** when no blocking check failed: each table's (and quarantine's) object replaces the published
   one in one atomic step, then the staging folder is removed. Otherwise **hold back**: the published
   version stays byte for byte, the staged one stays for inspection with a note saying why.

The Dagster asset runs these steps one by one to report each in the UI; :func:`transform_day` chains
them for other callers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .audit import CheckOutcome, DayTables, audit, blocking_failures
from .lake.publication import Published, Staging, clean_staging, publish
from .lake.storage import Lake
from .tables import TABLES
from .transform.pipeline import TransformResult, transform_partition

# Seconds after which a staging folder nobody publishes counts as abandoned while another run of the
# same day may be in progress (a day's transform stages its files within minutes).
CONCURRENT_RUN_GRACE_S = 3600.0


def published_items() -> list[tuple[str, str]]:
    """What a day's transform publishes: every table, then its quarantine file."""
    return [("transformed", t) for t in TABLES] + [("quarantine", t) for t in TABLES]


def stage_day(
    lake: Lake, partition: str, run_id: str, *, other_runs_in_progress: bool = False, **transform_options
) -> TransformResult:
    """Transform ``partition`` into the staging folder of ``run_id`` (cleaning earlier leftovers first)."""
    staging = Staging(lake, partition, run_id)
    clean_staging(
        lake, partition, keep_run=run_id,
        abandoned_after_s=CONCURRENT_RUN_GRACE_S if other_runs_in_progress else 0.0,
    )
    staging.reset()
    return transform_partition(lake, partition, staging=staging, **transform_options)


def audit_staged(
    staging: Staging, *, accept_empty: bool = False, unread_files: list[dict] | None = None
) -> list[CheckOutcome]:
    return audit(DayTables.staged(staging, accept_empty=accept_empty, unread_files=unread_files))


def hold_back_reason(failures: list[CheckOutcome]) -> str:
    return "blocking checks failed: " + "; ".join(f"{o.table}.{o.check}: {o.description}" for o in failures)


def publish_day(staging: Staging) -> list[Published]:
    published = publish(staging, published_items())
    staging.discard()
    return published


@dataclass
class DayOutcome:
    """What :func:`transform_day` did with a day."""

    result: TransformResult
    checks: list[CheckOutcome]
    published: list[Published] = field(default_factory=list)
    held_back: str | None = None  # the reason, when the day was not published
    seconds: dict[str, float] = field(default_factory=dict)  # stage / audit / publish

    @property
    def staging(self) -> Staging:
        assert self.result.staging is not None
        return self.result.staging


def transform_day(
    lake: Lake, partition: str, run_id: str, *, accept_empty: bool = False, other_runs_in_progress: bool = False
) -> DayOutcome:
    """Stage, audit and publish (or hold back) ``partition``'s transformed tables."""
    started = time.perf_counter()
    result = stage_day(lake, partition, run_id, other_runs_in_progress=other_runs_in_progress)
    staged = time.perf_counter()
    checks = audit_staged(result.staging, accept_empty=accept_empty, unread_files=result.unread_files)
    audited = time.perf_counter()
    outcome = DayOutcome(result, checks)
    failures = blocking_failures(checks)
    if failures:
        outcome.held_back = hold_back_reason(failures)
        result.staging.hold_back(outcome.held_back, {"failed_checks": [f"{o.table}.{o.check}" for o in failures]})
    else:
        outcome.published = publish_day(result.staging)
    outcome.seconds = {
        "stage": staged - started, "audit": audited - staged, "publish": time.perf_counter() - audited
    }
    return outcome
