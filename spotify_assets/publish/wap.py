"""Write–audit–publish of one day's transformed tables, free of Dagster.

1. **Stage**: the transform writes the day's tables and quarantine files into the run's staging folder
   (after clearing what earlier runs left there, see :func:`~spotify_assets.lake.publication.staging.clean_staging`).
2. **Audit**: every check of :mod:`spotify_assets.publish.audit` reads the staged version.
3. **Publish** when no blocking check failed: each table's (and quarantine's) object replaces the published
   one in one atomic step, then the staging folder is removed. Otherwise **hold back**: the published
   version stays byte for byte, the staged one stays for inspection with a note saying why.

The Dagster asset runs these steps one by one to report each in the UI; :func:`transform_day` chains
them for other callers. The staging step may run elsewhere (AWS Lambda or Glue, through Dagster Pipes:
:mod:`spotify_assets.remote.staging`): what it staged travels back as a :class:`StagedDay`, a JSON-able summary
from which the Dagster side audits, publishes and reports exactly as after an in-process stage.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from ..lake.publication.publish import Published, publish
from ..lake.publication.staging import Staging, clean_staging
from ..lake.storage import Lake
from ..tables import TABLES
from ..transform.pipeline import TransformResult, transform_partition
from .audit import CheckOutcome, DayTables, audit, blocking_failures
from .preview import markdown_preview

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


@dataclass(frozen=True)
class StagedTable:
    """One table of a staged day, as the materialization reports it."""

    rows: int
    bytes: int
    path: str  # the staged Parquet object, relative to the lake root
    quarantined: int
    accounting: dict  # the table's part of the transform's accounting
    preview: str  # Markdown of its first rows


@dataclass(frozen=True)
class StagedDay:
    """What a stage step left in a run's staging folder: all the audit and the materializations need.

    Built where the transform ran (:func:`summarize`) and sent to Dagster as JSON when that was a Lambda
    function or a Glue job, so both paths report the same metadata."""

    partition: str
    run_id: str
    raw_files: int
    raw_bytes: int
    tables: dict[str, StagedTable]
    seconds: float = 0.0
    unread_files: list[dict] = field(default_factory=list)  # raw-folder files not read: {"path", "size", "reason"}
    raw_sources: dict[str, dict] = field(default_factory=dict)  # per source read: {"files", "bytes", "lines"}
    raw_losses: list[dict] = field(default_factory=list)  # damaged raw files: TransformResult.raw_losses

    @property
    def row_counts(self) -> dict[str, int]:
        return {t: s.rows for t, s in self.tables.items()}

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.tables.values())

    def staging(self, lake: Lake) -> Staging:
        return Staging(lake, self.partition, self.run_id)

    def describe(self, lake: Lake) -> str:
        """The log line of a finished stage step."""
        return (
            f"Staged {self.raw_files} raw files ({self.raw_bytes} bytes) at {self.staging(lake).uri()}: "
            f"rows {self.row_counts}, quarantined {self.quarantined} ({self.seconds:.1f} s)"
        )

    def to_json(self) -> dict:
        return {
            "partition": self.partition,
            "run_id": self.run_id,
            "raw_files": self.raw_files,
            "raw_bytes": self.raw_bytes,
            "seconds": self.seconds,
            "tables": {t: asdict(s) for t, s in self.tables.items()},
            "unread_files": self.unread_files,
            "raw_sources": self.raw_sources,
            "raw_losses": self.raw_losses,
        }

    @classmethod
    def from_json(cls, data: dict) -> StagedDay:
        tables = {t: StagedTable(**s) for t, s in data["tables"].items()}
        if sorted(tables) != sorted(TABLES):
            raise ValueError(f"a staged day lists tables {sorted(tables)}, expected {sorted(TABLES)}")
        return cls(
            partition=data["partition"],
            run_id=data["run_id"],
            raw_files=int(data["raw_files"]),
            raw_bytes=int(data["raw_bytes"]),
            tables=tables,
            seconds=float(data.get("seconds") or 0.0),
            unread_files=list(data.get("unread_files") or []),
            raw_sources=dict(data.get("raw_sources") or {}),
            raw_losses=list(data.get("raw_losses") or []),
        )


def summarize(result: TransformResult, seconds: float = 0.0) -> StagedDay:
    """The :class:`StagedDay` of a transform that wrote into a staging folder."""
    staging = result.staging
    if staging is None:
        raise ValueError("the transform wrote nothing (no staging folder)")
    tables = {
        name: StagedTable(
            rows=result.written[name].rows,
            bytes=result.written[name].bytes,
            path=result.written[name].path,
            quarantined=len(result.quarantine.get(name, [])),
            accounting=result.accounting["tables"][name],
            preview=markdown_preview(result.tables[name]),
        )
        for name in TABLES
    }
    return StagedDay(
        partition=result.partition,
        run_id=staging.run_id,
        raw_files=result.raw_files,
        raw_bytes=result.raw_bytes,
        tables=tables,
        seconds=seconds,
        unread_files=list(result.unread_files),
        raw_sources=result.raw_sources,
        raw_losses=result.raw_losses,
    )


def audit_staged(staging: Staging, reported: StagedDay | TransformResult, *, accept_empty: bool = False,
                 accept_raw_loss: bool = False) -> list[CheckOutcome]:
    """Every check of the audit on the version in ``staging``; ``reported`` is what its transform said about
    the raw files (unread, read per source, damaged)."""
    return audit(DayTables.staged(staging, accept_empty=accept_empty, accept_raw_loss=accept_raw_loss,
                                  unread_files=reported.unread_files, raw_sources=reported.raw_sources,
                                  raw_losses=reported.raw_losses))


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
    lake: Lake, partition: str, run_id: str, *, accept_empty: bool = False, accept_raw_loss: bool = False,
    other_runs_in_progress: bool = False
) -> DayOutcome:
    """Stage, audit and publish (or hold back) ``partition``'s transformed tables."""
    started = time.perf_counter()
    result = stage_day(lake, partition, run_id, other_runs_in_progress=other_runs_in_progress)
    staged = time.perf_counter()
    checks = audit_staged(result.staging, result, accept_empty=accept_empty, accept_raw_loss=accept_raw_loss)
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
