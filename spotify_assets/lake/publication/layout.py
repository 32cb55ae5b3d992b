"""The published lake's layout: the zones, and where a table's partition, its manifest, its versions and a
day's manifest live (see :mod:`spotify_assets.lake.publication`)."""

from __future__ import annotations

from ..paths import parse_partition_folder, partition_folder, safe_name, validate_partition

# zone → file suffix of its published objects
ZONES = {"transformed": ".parquet", "analytics": ".parquet", "insights": ".parquet", "quarantine": ".jsonl.gz"}
# The zones a day's transform publishes together: one day manifest switches all their tables at once.
DAY_ZONES = ("transformed", "quarantine")
DAYS_ROOT = "transformed/_days"  # "_": no table is named so, and Hive-style readers skip it
PUBLISHED_NAME = "part-00000"
MANIFEST = "_published.json"
VERSION_PREFIX = "v-"


def zone_root(zone: str, table: str) -> str:
    """``<zone>/<table>``: the folder holding every day of a table (a Glue table's location)."""
    if zone not in ZONES:
        raise ValueError(f"unknown zone {zone!r}; expected one of {', '.join(ZONES)}")
    return f"{zone}/{safe_name(table)}"


def day_dir(zone: str, table: str, partition: str | None) -> str:
    """The folder of one partition of a table — ``dt=<day>`` or ``month=<month>``
    (:func:`~spotify_assets.lake.paths.partition_folder`) — or, for ``None``, the table's folder (a table published whole)."""
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
