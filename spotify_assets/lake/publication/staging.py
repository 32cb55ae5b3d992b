"""A run's staging folder (where it writes the new version of a partition for the audit), holding it back
when the audit fails, and :func:`clean_staging`, which sweeps what earlier runs and writers left behind."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from dataclasses import dataclass

from ... import settings
from ..paths import parse_partition_folder, partition_folder
from ..storage import TMP_DIR, Lake
from .layout import PUBLISHED_NAME, ZONES, day_dir

log = logging.getLogger(__name__)

STAGING_ROOT = "_staging"
# Dagster Pipes' context and message objects of remote transforms (spotify_assets.defs.transformed.pipes): removed when a
# session ends; what a killed process left is swept like temporary objects.
PIPES_DIR = f"{STAGING_ROOT}/_pipes"
HELD_BACK_NOTE = "_HELD_BACK.json"
# The staging folder of runs that publish several partitions at once (Staging with partition None).
MULTI_PARTITION_SCOPE = "runs"
# An atomic write takes seconds; a temporary object this old belongs to a writer that died.
TMP_ABANDONED_AFTER_S = 3600.0
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def retention_seconds() -> float:
    """``SPOTIFY_STAGING_RETENTION_DAYS`` (default 7) in seconds: how long a held-back version stays inspectable."""
    return settings.load().staging_retention_days * 86400


@dataclass(frozen=True)
class Staging:
    """One run's staging folder for one day, ``_staging/dt=<partition>/<run_id>/`` — or, with ``partition``
    None, for a run that publishes many partitions at once: ``_staging/runs/<run_id>/``."""

    lake: Lake
    partition: str | None
    run_id: str

    def __post_init__(self):
        if self.partition is not None:
            partition_folder(self.partition)  # validates
        if not _RUN_ID.fullmatch(self.run_id):
            raise ValueError(f"run id {self.run_id!r} cannot name a staging folder")

    @property
    def root(self) -> str:
        scope = MULTI_PARTITION_SCOPE if self.partition is None else partition_folder(self.partition)
        return f"{STAGING_ROOT}/{scope}/{self.run_id}"

    def uri(self) -> str:
        return self.lake.uri(self.root) + "/"

    def file(self, zone: str, table: str, partition: str | None = None) -> str:
        """Where this run stages ``table``'s object: of its day, or (a multi-partition run) of ``partition``
        — None there meaning the table published whole."""
        target = self.partition if self.partition is not None else partition
        return f"{self.root}/{day_dir(zone, table, target)}/{PUBLISHED_NAME}{ZONES[zone]}"

    def reset(self) -> None:
        """Empty the folder (a step retried in the same run starts from nothing)."""
        self.lake.delete_dir(self.root)

    def hold_back(self, reason: str, details: dict | None = None) -> str:
        """Leave the staged version for inspection with a note saying why it was not published."""
        note = {
            "partition": self.partition,
            "run_id": self.run_id,
            "reason": reason,
            "held_back_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **(details or {}),
        }
        self.lake.write_bytes(f"{self.root}/{HELD_BACK_NOTE}", json.dumps(note, indent=2, sort_keys=True).encode())
        return self.uri()

    def discard(self) -> None:
        self.lake.delete_dir(self.root)



@dataclass(frozen=True)
class StagedRun:
    """A run's staging folder as found by :func:`clean_staging`."""

    partition: str | None  # None: a multi-partition run (_staging/runs/)
    run_id: str
    root: str
    newest_mtime: float
    held_back: bool


def staged_runs(lake: Lake, partition: str | None = None) -> list[StagedRun]:
    """Every run folder under ``_staging/`` (of one day, or all days and multi-partition runs)."""
    runs: dict[tuple[str | None, str], StagedRun] = {}
    base = f"{STAGING_ROOT}/{partition_folder(partition)}" if partition else STAGING_ROOT
    for f in lake.list_files(base, include_hidden=True):
        parts = f.path.split("/")
        if len(parts) < 4:
            continue
        if parts[1] == MULTI_PARTITION_SCOPE:
            value = None
        else:
            value = parse_partition_folder(parts[1])
            if value is None:
                continue
        key = (value, parts[2])
        old = runs.get(key)
        held = parts[3] == HELD_BACK_NOTE and len(parts) == 4
        runs[key] = StagedRun(
            key[0], key[1], "/".join(parts[:3]),
            max(f.mtime, old.newest_mtime if old else 0.0),
            held or (old.held_back if old else False),
        )
    return sorted(runs.values(), key=lambda r: (r.partition, r.run_id))


def clean_staging(
    lake: Lake,
    partition: str | None,
    *,
    keep_run: str | None = None,
    abandoned_after_s: float = 0.0,
    retention_s: float | None = None,
    now: float | None = None,
) -> list[str]:
    """Remove what earlier runs left in the staging area; returns the removed folders and files.

    * Folders of ``partition`` (None: the multi-partition runs) that were not held back belong to runs that died before publishing
      (a kill, a crash): removed once their newest file is older than ``abandoned_after_s`` — 0 when
      the caller knows no other run of the day is in progress, more otherwise so that a concurrent run's
      staged files survive.
    * Held-back folders (any day) are removed after ``retention_s`` (``SPOTIFY_STAGING_RETENTION_DAYS``).
    * Temporary objects of atomic writes (``_staging/_tmp/``) and Dagster Pipes objects
      (``_staging/_pipes/``) older than an hour.
    * ``keep_run``'s own folder is never touched.
    """
    now = time.time() if now is None else now
    retention = retention_seconds() if retention_s is None else retention_s
    removed = []
    for f in [*lake.list_files(TMP_DIR, include_hidden=True), *lake.list_files(PIPES_DIR, include_hidden=True)]:
        if now - f.mtime > TMP_ABANDONED_AFTER_S:
            lake.delete(f.path)
            removed.append(f.path)
    for run in staged_runs(lake):
        if run.run_id == keep_run and run.partition == partition:
            continue
        age = now - run.newest_mtime
        if run.held_back:
            expired = age > retention
        else:
            expired = run.partition == partition and age >= abandoned_after_s
        if expired:
            lake.delete_dir(run.root)
            removed.append(run.root)
    if removed:
        log.info("staging: removed %s", ", ".join(removed))
    return removed
