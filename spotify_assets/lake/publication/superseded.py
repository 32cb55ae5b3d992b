"""Removing superseded versions: what a table's partition folder holds besides its manifest, its current
version and the version that one replaced, once every catalog points at the current one."""

from __future__ import annotations

import logging

from ..paths import parse_partition_folder
from ..storage import Lake
from .layout import DAY_ZONES, MANIFEST, day_dir, is_day
from .manifests import CorruptManifestError, Manifests

log = logging.getLogger(__name__)


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

