"""The lake layout of DESIGN.md, in one place: where each zone keeps a partition's files."""

from __future__ import annotations

import datetime as dt
import re

RAW_SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def validate_partition(partition: str) -> str:
    """Return ``partition`` if it is an ISO date (``YYYY-MM-DD``), else raise ``ValueError``."""
    try:
        dt.date.fromisoformat(partition)
    except (TypeError, ValueError):
        raise ValueError(f"partition {partition!r} is not a date of the form YYYY-MM-DD") from None
    if len(partition) != 10:
        raise ValueError(f"partition {partition!r} is not a date of the form YYYY-MM-DD")
    return partition


def _safe_name(name: str) -> str:
    # File names become object keys: no separators, no hidden files, nothing a shell or S3 console trips on.
    if not _NAME.match(name):
        raise ValueError(f"{name!r} is not a safe file or table name")
    return name


def raw_dir(source: str, partition: str) -> str:
    if source not in RAW_SOURCES:
        raise ValueError(f"unknown raw source {source!r}; expected one of {', '.join(RAW_SOURCES)}")
    return f"raw/{source}/dt={validate_partition(partition)}"


def raw_file(source: str, partition: str, name: str) -> str:
    return f"{raw_dir(source, partition)}/{_safe_name(name)}.jsonl.gz"


def transformed_dir(table: str, partition: str) -> str:
    return f"transformed/{_safe_name(table)}/dt={validate_partition(partition)}"


def transformed_file(table: str, partition: str, name: str = "part-00000") -> str:
    return f"{transformed_dir(table, partition)}/{_safe_name(name)}.parquet"


def quarantine_file(table: str, partition: str, name: str = "part-00000") -> str:
    return f"quarantine/{_safe_name(table)}/dt={validate_partition(partition)}/{_safe_name(name)}.jsonl.gz"


def table_root(table: str) -> str:
    return f"transformed/{_safe_name(table)}"
