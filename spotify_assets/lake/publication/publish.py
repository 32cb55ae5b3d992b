"""Publishing a run's staged partitions: each staged object becomes an immutable, content-named version,
then one write switches readers to it — a day's transformed tables and quarantine files all at once through
the day manifest, anything else (another zone, a month, a table published whole) through its own manifest."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..storage import Lake
from .layout import DAY_ZONES, day_manifest_path, is_day, manifest_path, version_file
from .manifests import CorruptManifestError, DayVersion, Manifests, Version
from .staging import Staging

log = logging.getLogger(__name__)

_HASH_CHUNK = 8 * 1024 * 1024


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

