"""Write–audit–publish on the lake: where a run stages a table's day, how the audited version is published,
and where consumers find the published version.

**Published versions are immutable.** A table's day is published as one object in a folder named after
its content, and a small manifest in the day's folder says which version is current:

    transformed/<table>/dt=YYYY-MM-DD/_published.json                      {"version", "file", "bytes", "previous"}
    transformed/<table>/dt=YYYY-MM-DD/v-<sha256 prefix>/part-00000.parquet  the version it names

(``analytics/…`` and ``insights/…`` — the outputs of Python assets stored by the lake IO manager — alike;
``quarantine/…/part-00000.jsonl.gz`` too, where ``"file": null`` publishes "nothing quarantined"). Publishing a version is one atomic step: the manifest is replaced whole (a rename locally,
one PUT on S3). A published object is never rewritten, so a reader that planned its query on a version
reads that version to the end — DuckDB views list the current objects, Glue partitions point at the
current version's folder (both switched by the catalog step), the IO manager and the audit read through
the manifest. Re-publishing unchanged data finds the same version and changes nothing.

**Staged** (read by the audit only; other tools must not read it): a run writes the new version of a day
under its own folder, with the same relative paths as the day's folders,

    _staging/dt=YYYY-MM-DD/<run id>/<zone>/<table>/dt=YYYY-MM-DD/part-00000.parquet

A run that publishes many partitions of its tables at once (the listening history's months) stages them all
in one folder, ``_staging/runs/<run id>/<zone>/<table>/month=YYYY-MM/…``, and a table published whole,
without partitions (the history's quarantine), has its manifest in the table's folder.

A run whose audit fails leaves its staged folder in place with a ``_HELD_BACK.json`` note saying why and
the published version untouched. :func:`clean_staging` removes held-back folders after the retention and
folders of runs that died before publishing. Superseded versions are removed by
:func:`remove_superseded` once every catalog points at the newer one: the version just replaced stays
(for queries planned before the switch) until the day is published again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .paths import parse_partition_folder, partition_folder, safe_name
from .storage import TMP_DIR, Lake

log = logging.getLogger(__name__)

# zone → file suffix of its published objects
ZONES = {"transformed": ".parquet", "analytics": ".parquet", "insights": ".parquet", "quarantine": ".jsonl.gz"}
PUBLISHED_NAME = "part-00000"
MANIFEST = "_published.json"
VERSION_PREFIX = "v-"
STAGING_ROOT = "_staging"
# Dagster Pipes' context and message objects of remote transforms (spotify_assets.defs.transformed.pipes): removed when a
# session ends; what a killed process left is swept like temporary objects.
PIPES_DIR = f"{STAGING_ROOT}/_pipes"
HELD_BACK_NOTE = "_HELD_BACK.json"
# The staging folder of runs that publish several partitions at once (Staging with partition None).
MULTI_PARTITION_SCOPE = "runs"
DEFAULT_RETENTION_DAYS = 7.0
# An atomic write takes seconds; a temporary object this old belongs to a writer that died.
TMP_ABANDONED_AFTER_S = 3600.0
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_HASH_CHUNK = 8 * 1024 * 1024


def zone_root(zone: str, table: str) -> str:
    """``<zone>/<table>``: the folder holding every day of a table (a Glue table's location)."""
    if zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}; expected one of {', '.join(ZONES)}")
    return f"{zone}/{safe_name(table)}"


def day_dir(zone: str, table: str, partition: str | None) -> str:
    """The folder of one partition of a table — ``dt=<day>`` or ``month=<month>``
    (:func:`~.paths.partition_folder`) — or, for ``None``, the table's folder (a table published whole)."""
    if partition is None:
        return zone_root(zone, table)
    return f"{zone_root(zone, table)}/{partition_folder(partition)}"


def manifest_path(zone: str, table: str, partition: str | None) -> str:
    return f"{day_dir(zone, table, partition)}/{MANIFEST}"


def version_file(zone: str, table: str, partition: str | None, version: str) -> str:
    return f"{day_dir(zone, table, partition)}/{VERSION_PREFIX}{version}/{PUBLISHED_NAME}{ZONES[zone]}"


@dataclass(frozen=True)
class Version:
    """The published version of one table's day: ``file`` is None when it was published empty."""

    zone: str
    table: str
    partition: str | None  # None: the table is published whole
    version: str | None
    file: str | None
    bytes: int = 0
    previous: str | None = None  # the file of the version this one replaced

    @property
    def folder(self) -> str | None:
        """The folder holding only this version (what a Glue partition points at)."""
        return self.file.rsplit("/", 1)[0] if self.file else None

    def manifest(self) -> bytes:
        # No timestamps: the same transition always writes the same bytes.
        folder = day_dir(self.zone, self.table, self.partition) + "/"
        file = self.file.removeprefix(folder) if self.file else None
        previous = self.previous.removeprefix(folder) if self.previous else None
        return json.dumps(
            {"version": self.version, "file": file, "bytes": self.bytes, "previous": previous}, sort_keys=True
        ).encode()


def current_version(lake: Lake, zone: str, table: str, partition: str | None) -> Version | None:
    """The published version of ``table`` on ``partition``, or None if it was never published."""
    folder = day_dir(zone, table, partition)
    try:
        data = json.loads(lake.read_bytes(f"{folder}/{MANIFEST}"))
    except FileNotFoundError:
        legacy = f"{folder}/{PUBLISHED_NAME}{ZONES[zone]}"  # written in place before versions existed
        if lake.exists(legacy):
            return Version(zone, table, partition, "legacy", legacy)
        return None
    file = f"{folder}/{data['file']}" if data.get("file") else None
    previous = f"{folder}/{data['previous']}" if data.get("previous") else None
    return Version(zone, table, partition, data.get("version"), file, int(data.get("bytes") or 0), previous)


def published_file(lake: Lake, zone: str, table: str, partition: str | None) -> str | None:
    """The object consumers read for ``table`` on ``partition`` (None: not published, or published empty)."""
    version = current_version(lake, zone, table, partition)
    return version.file if version else None


def published_partitions(lake: Lake, zone: str, table: str) -> list[str]:
    """Partitions (days, or months for the history tables) of ``table`` that have a published version, oldest
    first (one listing of the table's folder)."""
    legacy = PUBLISHED_NAME + ZONES[zone]
    days = set()
    for f in lake.list_files(zone_root(zone, table), include_hidden=True):
        parts = f.path.split("/")
        if len(parts) == 4 and parts[3] in (MANIFEST, legacy):
            value = parse_partition_folder(parts[2])
            if value is not None:
                days.add(value)
    return sorted(days)


def previous_published(lake: Lake, zone: str, table: str, before: str) -> str | None:
    """The latest published day of ``table`` earlier than ``before``."""
    earlier = [d for d in published_partitions(lake, zone, table) if d < before]
    return earlier[-1] if earlier else None


def retention_seconds() -> float:
    """``SPOTIFY_STAGING_RETENTION_DAYS`` (default 7): how long a held-back version stays inspectable."""
    raw = os.environ.get("SPOTIFY_STAGING_RETENTION_DAYS", "").strip()
    try:
        days = float(raw) if raw else DEFAULT_RETENTION_DAYS
    except ValueError:
        raise ValueError(f"SPOTIFY_STAGING_RETENTION_DAYS={raw!r} is not a number of days") from None
    return max(days, 0.0) * 86400


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
class Published:
    """What publishing did to one table's day: ``action`` is "created" (first version of the day),
    "replaced" (a new version is current) or "unchanged" (the staged data was the current version)."""

    version: Version
    action: str

    @property
    def zone(self) -> str:
        return self.version.zone

    @property
    def table(self) -> str:
        return self.version.table


def content_version(lake: Lake, rel: str) -> str:
    """The version name of an object: a prefix of its SHA-256 (equal data → equal version)."""
    digest = hashlib.sha256()
    with lake.open_input(rel) as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def publish(staging: Staging, items: Iterable[tuple[str, str] | tuple[str, str, str | None]]) -> list[Published]:
    """Publish ``(zone, table)`` items of ``staging`` — ``(zone, table, partition)`` for a multi-partition
    staging: each staged object becomes an immutable version and the partition's manifest switches to it in
    one atomic step; an item with nothing staged is published empty."""
    lake = staging.lake
    done = []
    for item in items:
        zone, table = item[0], item[1]
        partition = staging.partition if staging.partition is not None else (item[2] if len(item) > 2 else None)
        current = current_version(lake, zone, table, partition)
        staged = staging.file(zone, table, partition)
        if lake.exists(staged):
            name = content_version(lake, staged)
            target = version_file(zone, table, partition, name)
            new = Version(zone, table, partition, name, target, lake.size(staged))
            if not lake.exists(target):
                lake.replace(staged, target)
        else:
            new = Version(zone, table, partition, None, None)
        new = replace(new, previous=current.file if current is not None else None)
        if current is not None and current.file == new.file:
            done.append(Published(current, "unchanged"))
            continue
        lake.write_bytes(manifest_path(zone, table, partition), new.manifest())
        done.append(Published(new, "replaced" if current is not None else "created"))
    return done


def remove_superseded(lake: Lake, zone: str, table: str, partition: str | None) -> list[str]:
    """Remove what a table's day folder holds besides its manifest, its current version and the version
    that one replaced (kept for queries planned before the switch): older versions and stray files.

    Call it only after every catalog points at the current version (the catalog step does)."""
    current = current_version(lake, zone, table, partition)
    if current is None:
        return []
    folder = day_dir(zone, table, partition)
    depth = folder.count("/") + 2  # parts of a version folder's path (or of a file of the partition's folder)
    keep = {f"{folder}/{MANIFEST}"} | {f.rsplit("/", 1)[0] for f in (current.file, current.previous) if f}
    removed = set()
    for f in lake.list_files(folder, include_hidden=True):
        parts = f.path.split("/")
        if partition is None and parse_partition_folder(parts[depth - 1]) is not None:
            continue  # a partition's folder beside a table published whole: not this version's business
        unit = "/".join(parts[:depth]) if len(parts) > depth else f.path  # a version folder, or a file of the day
        if unit in keep or (current.file == f.path) or (current.previous == f.path) or unit in removed:
            continue
        if len(parts) > depth:
            lake.delete_dir(unit)
        else:
            lake.delete(unit)
        removed.add(unit)
    return sorted(removed)


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
