"""Write–audit–publish on the lake: where a run stages a table's day, how the audited version is published,
and where consumers find the published version.

**Published versions are immutable.** A table's day is published as one object in a folder named after
its content, and a small manifest in the day's folder says which version is current:

    transformed/<table>/dt=YYYY-MM-DD/_published.json                      {"version", "file", "bytes", "previous", …}
    transformed/<table>/dt=YYYY-MM-DD/v-<sha256 prefix>/part-00000.parquet  the version it names

(``analytics/…`` and ``insights/…`` — the outputs of Python assets stored by the lake IO manager — alike;
``quarantine/…/part-00000.jsonl.gz`` too, where ``"file": null`` publishes "nothing quarantined"). A published
object is never rewritten, so a reader that planned its query on a version reads that version to the end.
Re-publishing unchanged data finds the same version and changes nothing.

**A day of the transformed tables is one version.** The transform publishes a day's tables and quarantine
files together, and a reader that joins them (a track and its album) must not see one table of the new
version beside another of the old. So those zones (:data:`DAY_ZONES`) have a **day manifest**, written in
one atomic step (a rename locally, one PUT on S3) after every version object is in place:

    transformed/_days/dt=YYYY-MM-DD/_published.json    {"day_version", "previous", "tables": {"<zone>/<table>": {…}}}

Writing it *is* the publication: a writer killed before it leaves the previous day version, whole; after
it, the new one, whole. The tables' own manifests are then rewritten to match (each carrying the
``day_version`` it belongs to), for tools that read a single table. Every reader of the project resolves
a day through :class:`Manifests`, which follows the day manifest when there is one (the tables' manifests
only for days published before day manifests existed): the DuckDB views and Glue partitions (switched by the
catalog step), the lake IO manager and the audit's previous day.

**Readers survive a damaged lake.** A manifest that is not valid JSON (an empty file, a cut-off upload)
raises :class:`CorruptManifestError`, naming its path, for that day only: readers of many days skip it and
report it (:attr:`Manifests.problems`), and publishing the day again replaces it. A folder in a table's
folder that is not ``dt=YYYY-MM-DD`` (``dt=2026-99-99``, ``dt=latest``, ``backup``) is never read, and
reported the same way.

**Staged** (read by the audit only; other tools must not read it): a run writes the new version of a day
under its own folder, with the same relative paths as the day's folders,

    _staging/dt=YYYY-MM-DD/<run id>/<zone>/<table>/dt=YYYY-MM-DD/part-00000.parquet

A run that publishes many partitions of its tables at once (the listening history's months) stages them all
in one folder, ``_staging/runs/<run id>/<zone>/<table>/month=YYYY-MM/…``. Months are published one manifest
each (no day manifest: they are not days), and a table published whole, without partitions (the history's
quarantine), has its manifest in the table's folder.

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

from .paths import parse_partition_folder, partition_folder, safe_name, validate_partition
from .storage import TMP_DIR, Lake

log = logging.getLogger(__name__)

# zone → file suffix of its published objects
ZONES = {"transformed": ".parquet", "analytics": ".parquet", "insights": ".parquet", "quarantine": ".jsonl.gz"}
# The zones a day's transform publishes together: one day manifest switches all their tables at once.
DAY_ZONES = ("transformed", "quarantine")
DAYS_ROOT = "transformed/_days"  # "_": no table is named so, and Hive-style readers skip it
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


def is_day(partition: str | None) -> bool:
    """Whether ``partition`` is a day (a month, or None for a table published whole, is not)."""
    return partition is not None and len(partition) == 10


def manifest_path(zone: str, table: str, partition: str | None) -> str:
    return f"{day_dir(zone, table, partition)}/{MANIFEST}"


def day_manifest_path(partition: str) -> str:
    """The day manifest of ``partition``: which version of every transformed table and quarantine file is current."""
    return f"{DAYS_ROOT}/dt={validate_partition(partition)}/{MANIFEST}"


def version_file(zone: str, table: str, partition: str | None, version: str) -> str:
    return f"{day_dir(zone, table, partition)}/{VERSION_PREFIX}{version}/{PUBLISHED_NAME}{ZONES[zone]}"


def partition_of_folder(name: str, key: str = "dt") -> str | None:
    """The day of a ``dt=YYYY-MM-DD`` folder name (``key="month"``: the month of a ``month=YYYY-MM`` one), or
    None for any other name (``dt=2026-99-99``, ``dt=latest``)."""
    if not name.startswith(f"{key}="):
        return None
    return parse_partition_folder(name)


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
        folder, plus the day manifests' folder). Folders that are not ``dt=YYYY-MM-DD`` are reported and
        skipped; :meth:`readable` also resolves each day. ``key="month"``: the months of a table partitioned
        by month (the listening history), from its folder alone."""
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
    staging; an item with nothing staged is published empty.

    Each staged object first becomes an immutable, content-named version (invisible to readers). Then the
    switch: a day's items of the transformed and quarantine zones all at once, by one write of the day
    manifest (followed by their tables' manifests, rewritten to match); any other item — another zone, a
    month, a table published whole — by one write of its table's manifest."""
    lake = staging.lake
    targets = [(item[0], item[1], staging.partition if staging.partition is not None else
                (item[2] if len(item) > 2 else None)) for item in items]
    placed = {target: _place(staging, *target) for target in targets}
    manifests = Manifests(lake)
    done = {}
    for target, new in placed.items():
        if not (target[0] in DAY_ZONES and is_day(target[2])):
            done[target] = _switch_table(lake, _current_or_none(manifests, *target), new)
    day_items = {(z, t): new for (z, t, p), new in placed.items() if z in DAY_ZONES and is_day(p)}
    if day_items:
        for (zone, table), p in _switch_day(lake, manifests, staging.partition, day_items).items():
            done[(zone, table, staging.partition)] = p
    return [done[target] for target in targets]


def _place(staging: Staging, zone: str, table: str, partition: str | None) -> Version:
    """Move the staged object of ``table`` to its version folder (nothing staged: an empty version)."""
    lake = staging.lake
    staged = staging.file(zone, table, partition)
    if not lake.exists(staged):
        return Version(zone, table, partition, None, None)
    name = content_version(lake, staged)
    target = version_file(zone, table, partition, name)
    new = Version(zone, table, partition, name, target, lake.size(staged))
    if not lake.exists(target):
        lake.replace(staged, target)
    return new


def _current_or_none(manifests: Manifests, zone: str, table: str, partition: str | None) -> Version | None:
    """The current version, or None when its manifest is damaged (the publication replaces it)."""
    try:
        return manifests.version(zone, table, partition)
    except CorruptManifestError as e:
        log.warning("%s; publishing replaces it", e)
        return None


def _switch_table(lake: Lake, current: Version | None, new: Version) -> Published:
    new = replace(new, previous=current.file if current is not None else None)
    if current is not None and current.file == new.file:
        return Published(current, "unchanged")
    lake.write_bytes(manifest_path(new.zone, new.table, new.partition), new.manifest())
    return Published(new, "replaced" if current is not None else "created")


def _switch_day(lake: Lake, manifests: Manifests, partition: str, placed: dict) -> dict:
    try:
        current_day = manifests.day(partition)
    except CorruptManifestError as e:
        log.warning("%s; publishing replaces it", e)
        current_day = None
    # A day first published with a day manifest keeps the tables it had (published one by one before)
    entries = dict(current_day.tables) if current_day else _table_manifests_of(lake, manifests, partition)
    done = {}
    for (zone, table), new in placed.items():
        current = entries.get(f"{zone}/{table}")
        if current is not None and current.file == new.file:
            done[(zone, table)] = Published(replace(current, day_version=None), "unchanged")
            continue
        entries[new.key] = replace(new, previous=current.file if current is not None else None)
        done[(zone, table)] = Published(entries[new.key], "replaced" if current is not None else "created")
    day = DayVersion(partition, entries, current_day.previous if current_day else None)
    if current_day is not None and day.version != current_day.version:
        day = replace(day, previous=current_day.version)
    switched = current_day is None or day.manifest() != current_day.manifest()
    if switched:
        lake.write_bytes(day_manifest_path(partition), day.manifest())  # the switch: the whole day at once
    for key in sorted(entries):  # then the tables' manifests, for tools that read one table
        mirror = day.get(*key.split("/", 1))
        path = manifest_path(mirror.zone, mirror.table, partition)
        if switched or not _holds(lake, path, mirror.manifest()):  # unchanged day: repair what a kill left behind
            lake.write_bytes(path, mirror.manifest())
    return {item: replace(p, version=replace(p.version, day_version=day.version)) for item, p in done.items()}


def _holds(lake: Lake, rel: str, data: bytes) -> bool:
    try:
        return lake.read_bytes(rel) == data
    except FileNotFoundError:
        return False


def _table_manifests_of(lake: Lake, manifests: Manifests, partition: str) -> dict[str, Version]:
    """The day-zone tables of ``partition`` published before it had a day manifest."""
    found = {}
    for zone in DAY_ZONES:
        for table in lake.list_dirs(zone):
            if table.startswith(("_", ".")):
                continue
            try:
                version = manifests.table_manifest(zone, table, partition)
            except (CorruptManifestError, ValueError):
                continue  # a damaged manifest or a folder that cannot be a table: not carried over
            if version is not None:
                found[version.key] = replace(version, day_version=None)
    return found


def remove_superseded(lake: Lake, zone: str, table: str, partition: str | None) -> list[str]:
    """Remove what a table's day folder holds besides its manifest, its current version and the version
    that one replaced (kept for queries planned before the switch): older versions and stray files.

    Call it only after every catalog points at the current version (the catalog step does)."""
    manifests = Manifests(lake)
    try:
        current = manifests.version(zone, table, partition)
        mirror = manifests.table_manifest(zone, table, partition) if zone in DAY_ZONES and is_day(partition) else None
    except CorruptManifestError as e:
        log.warning("%s; nothing removed", e)
        return []
    if current is None:
        return []
    folder = day_dir(zone, table, partition)
    depth = folder.count("/") + 2  # parts of a version folder's path (or of a file of the partition's folder)
    kept_files = {f for v in (current, mirror) if v is not None for f in (v.file, v.previous) if f}
    keep = {f"{folder}/{MANIFEST}"} | {f.rsplit("/", 1)[0] for f in kept_files}
    removed = set()
    for f in lake.list_files(folder, include_hidden=True):
        parts = f.path.split("/")
        if partition is None and parse_partition_folder(parts[depth - 1]) is not None:
            continue  # a partition's folder beside a table published whole: not this version's business
        unit = "/".join(parts[:depth]) if len(parts) > depth else f.path  # a version folder, or a file of the day
        if unit in keep or f.path in kept_files or unit in removed:
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
