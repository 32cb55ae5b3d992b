"""The manifests that say which version of a table's partition is current — a table's own and a day's — and
:class:`Manifests`, through which every reader of the project resolves a partition; damaged manifests raise
:class:`CorruptManifestError` for their day only."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..storage import Lake
from .layout import (
    DAY_ZONES,
    DAYS_ROOT,
    MANIFEST,
    PUBLISHED_NAME,
    ZONES,
    day_dir,
    day_manifest_path,
    is_day,
    partition_of_folder,
    zone_root,
)

log = logging.getLogger(__name__)


class CorruptManifestError(ValueError):
    """A manifest that cannot be read (empty, cut short, not what a publication writes). Only its day is
    affected: readers of many days skip it, and publishing the day again replaces it."""

    def __init__(self, lake: Lake, rel: str, reason: str):
        self.path = rel
        self.uri = lake.uri(rel)
        super().__init__(
            f"the manifest {self.uri} is damaged ({reason}); its day cannot be read until it is published again"
        )


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
    day_version: str | None = None  # the day version it belongs to (transformed and quarantine zones)

    @property
    def key(self) -> str:
        return f"{self.zone}/{self.table}"

    @property
    def folder(self) -> str | None:
        """The folder holding only this version (what a Glue partition points at)."""
        return self.file.rsplit("/", 1)[0] if self.file else None

    def manifest(self) -> bytes:
        """The table's own manifest. No timestamps: the same transition always writes the same bytes."""
        folder = day_dir(self.zone, self.table, self.partition) + "/"
        file = self.file.removeprefix(folder) if self.file else None
        previous = self.previous.removeprefix(folder) if self.previous else None
        data = {"version": self.version, "file": file, "bytes": self.bytes, "previous": previous}
        if self.day_version:
            data["day_version"] = self.day_version
        return json.dumps(data, sort_keys=True).encode()


@dataclass(frozen=True)
class DayVersion:
    """One published version of a day's transformed tables and quarantine files: what its day manifest says.

    ``tables`` maps ``"<zone>/<table>"`` to each one's version; ``version`` names the whole (the same table
    versions give the same name, so re-publishing unchanged data writes nothing)."""

    partition: str
    tables: dict[str, Version]
    previous: str | None = None  # the day version this one replaced

    @property
    def version(self) -> str:
        content = json.dumps(sorted((key, v.version or "") for key, v in self.tables.items())).encode()
        return hashlib.sha256(content).hexdigest()[:16]

    def get(self, zone: str, table: str) -> Version | None:
        found = self.tables.get(f"{zone}/{table}")
        return replace(found, day_version=self.version) if found is not None else None

    def manifest(self) -> bytes:
        tables = {
            key: {"version": v.version, "file": v.file, "bytes": v.bytes, "previous": v.previous}
            for key, v in sorted(self.tables.items())
        }
        return json.dumps(
            {"day_version": self.version, "partition": self.partition, "previous": self.previous, "tables": tables},
            indent=1, sort_keys=True,
        ).encode()


def _load_json(lake: Lake, rel: str) -> dict | None:
    """A manifest's JSON object; None when there is none; :class:`CorruptManifestError` when unreadable."""
    try:
        raw = lake.read_bytes(rel)
    except FileNotFoundError:
        return None
    if not raw.strip():
        raise CorruptManifestError(lake, rel, "empty file" if not raw else "only whitespace")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise CorruptManifestError(lake, rel, f"not JSON: {e}") from None
    if not isinstance(data, dict):
        raise CorruptManifestError(lake, rel, f"a JSON {type(data).__name__}, not an object")
    return data


def _parse_day(lake: Lake, rel: str, partition: str, data: dict) -> DayVersion:
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise CorruptManifestError(lake, rel, "no \"tables\" object")
    versions = {}
    for key, entry in tables.items():
        zone, _, table = key.partition("/")
        if zone not in DAY_ZONES or not table or not isinstance(entry, dict) or "file" not in entry:
            raise CorruptManifestError(lake, rel, f"bad entry {key!r}")
        versions[key] = Version(zone, table, partition, entry.get("version"), entry.get("file"),
                                int(entry.get("bytes") or 0), entry.get("previous"))
    return DayVersion(partition, versions, data.get("previous"))


class Manifests:
    """Where the published version of a table's day is, read from the manifests — each at most once.

    One instance serves one unit of reading (a view refresh, a step's inputs, an audit), so all the tables
    it reads of one day come from the same day version. For the transformed and quarantine zones a day's
    manifest is its day manifest when there is one; the table's own manifest otherwise (days published
    before day manifests existed; an in-place ``part-00000`` file before manifests existed at all).
    Damaged manifests and folders that are not ``dt=YYYY-MM-DD`` are collected in :attr:`problems`
    (and logged) by the readers of many days, which skip them.
    """

    def __init__(self, lake: Lake):
        self.lake = lake
        self.problems: list[str] = []
        self._days: dict[str, DayVersion | None | CorruptManifestError] = {}
        self._committed: set[str] | None = None
        self._partitions: dict[tuple[str, str, str], list[str]] = {}

    def report(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)
            log.warning("lake: %s", problem)

    # -- one day ------------------------------------------------------------------------------------
    def day(self, partition: str) -> DayVersion | None:
        """The day version of ``partition`` (None: the day has no day manifest)."""
        if partition not in self._days:
            rel = day_manifest_path(partition)
            try:
                data = _load_json(self.lake, rel)
                self._days[partition] = _parse_day(self.lake, rel, partition, data) if data is not None else None
            except CorruptManifestError as e:
                self._days[partition] = e
        found = self._days[partition]
        if isinstance(found, CorruptManifestError):
            raise found
        return found

    def version(self, zone: str, table: str, partition: str | None) -> Version | None:
        """The published version of ``table`` on ``partition``, or None if it was never published.
        :class:`CorruptManifestError` when the manifest that decides is damaged."""
        if zone in DAY_ZONES and is_day(partition):
            day = self.day(partition)
            if day is not None:
                return day.get(zone, table)
        return self.table_manifest(zone, table, partition)

    def table_manifest(self, zone: str, table: str, partition: str | None) -> Version | None:
        """What the table's own manifest says (for the day zones: a mirror of the day manifest, or a day
        published before day manifests)."""
        folder = day_dir(zone, table, partition)
        rel = f"{folder}/{MANIFEST}"
        data = _load_json(self.lake, rel)
        if data is None:
            legacy = f"{folder}/{PUBLISHED_NAME}{ZONES[zone]}"  # written in place before versions existed
            return Version(zone, table, partition, "legacy", legacy) if self.lake.exists(legacy) else None
        if "file" not in data:
            raise CorruptManifestError(self.lake, rel, "no \"file\" field")
        file = f"{folder}/{data['file']}" if data.get("file") else None
        previous = f"{folder}/{data['previous']}" if data.get("previous") else None
        return Version(zone, table, partition, data.get("version"), file, int(data.get("bytes") or 0), previous,
                       data.get("day_version"))

    # -- many days -----------------------------------------------------------------------------------
    def committed_days(self) -> set[str]:
        """Days that have a day manifest (one listing, cached)."""
        if self._committed is None:
            self._committed = set()
            for f in self.lake.list_files(DAYS_ROOT, include_hidden=True):
                parts = f.path.split("/")
                if len(parts) != 4 or parts[3] != MANIFEST:
                    continue
                day = partition_of_folder(parts[2])
                if day is None:
                    self.report(f"{DAYS_ROOT}/{parts[2]}/ is not a dt=YYYY-MM-DD folder: ignored")
                else:
                    self._committed.add(day)
        return self._committed

    def partitions(self, zone: str, table: str, key: str = "dt") -> list[str]:
        """Days of ``table`` that may have a published version, oldest first (one listing of the table's
        folder, plus the day manifests' folder; cached, like the manifests). Folders that are not
        ``dt=YYYY-MM-DD`` are reported and skipped; :meth:`readable` also resolves each day. ``key="month"``:
        the months of a table partitioned by month (the listening history), from its folder alone."""
        if (zone, table, key) not in self._partitions:
            self._partitions[(zone, table, key)] = self._list_partitions(zone, table, key)
        return list(self._partitions[(zone, table, key)])

    def _list_partitions(self, zone: str, table: str, key: str) -> list[str]:
        root = zone_root(zone, table)
        legacy = PUBLISHED_NAME + ZONES[zone]
        days = set()
        for f in self.lake.list_files(root, include_hidden=True):
            parts = f.path.split("/")
            if len(parts) < 4 or parts[2].startswith(("_", ".")):
                continue  # a file directly in the table's folder, or a hidden one
            day = partition_of_folder(parts[2], key)
            if day is None:
                self.report(f"{root}/{parts[2]}/ is not a {key}={'YYYY-MM' if key == 'month' else 'YYYY-MM-DD'} "
                            "folder: ignored")
            elif len(parts) == 4 and parts[3] in (MANIFEST, legacy):
                days.add(day)
        if zone in DAY_ZONES and key == "dt":
            days |= self.committed_days()
        return sorted(days)

    def readable(self, zone: str, table: str, days: Iterable[str] | None = None, key: str = "dt") -> list[Version]:
        """The published versions of ``table`` on ``days`` (default: every day — every month with ``key="month"``),
        oldest first; days never published are left out, days whose manifest is damaged too (reported in
        :attr:`problems`)."""
        found = []
        for day in self.partitions(zone, table, key) if days is None else days:
            try:
                version = self.version(zone, table, day)
            except CorruptManifestError as e:
                self.report(f"{zone}/{table} dt={day} skipped: {e}")
                continue
            if version is not None:
                found.append(version)
        return found

    def previous_day(self, zone: str, table: str, before: str) -> str | None:
        """The latest day earlier than ``before`` on which ``table`` has a readable published version."""
        for day in reversed([d for d in self.partitions(zone, table) if d < before]):
            if self.readable(zone, table, [day]):
                return day
        return None


def current_version(lake: Lake, zone: str, table: str, partition: str | None) -> Version | None:
    """The published version of ``table`` on ``partition``, or None if it was never published."""
    return Manifests(lake).version(zone, table, partition)


def published_file(lake: Lake, zone: str, table: str, partition: str | None) -> str | None:
    """The object consumers read for ``table`` on ``partition`` (None: not published, or published empty)."""
    version = current_version(lake, zone, table, partition)
    return version.file if version else None


def published_partitions(lake: Lake, zone: str, table: str, key: str = "dt") -> list[str]:
    """Days of ``table`` with a manifest (``key="month"``: months), oldest first, from listings only
    (:meth:`Manifests.partitions`); :meth:`Manifests.readable` resolves them, skipping damaged ones."""
    return Manifests(lake).partitions(zone, table, key)


def previous_published(lake: Lake, zone: str, table: str, before: str) -> str | None:
    """The latest published day of ``table`` earlier than ``before`` (damaged days skipped and logged)."""
    return Manifests(lake).previous_day(zone, table, before)
