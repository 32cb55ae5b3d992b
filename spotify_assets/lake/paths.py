"""Names in the lake: partition values, safe file and table names, and the raw zone's layout.

Where published tables live (and where a run stages them) is :mod:`.publication`'s business.
"""

from __future__ import annotations

import datetime as dt
import re

RAW_SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


def validate_partition(partition: str) -> str:
    """Return ``partition`` if it is an ISO date (``YYYY-MM-DD``), else raise ``ValueError``."""
    try:
        dt.date.fromisoformat(partition)
    except (TypeError, ValueError):
        raise ValueError(f"partition {partition!r} is not a date of the form YYYY-MM-DD") from None
    if len(partition) != 10:
        raise ValueError(f"partition {partition!r} is not a date of the form YYYY-MM-DD")
    return partition


def safe_name(name: str) -> str:
    # File names become object keys: no separators, no hidden files, nothing a shell or S3 console trips on.
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a safe file or table name")
    return name


def raw_dir(source: str, partition: str) -> str:
    if source not in RAW_SOURCES:
        raise ValueError(f"unknown raw source {source!r}; expected one of {', '.join(RAW_SOURCES)}")
    return f"raw/{source}/dt={validate_partition(partition)}"


def raw_file(source: str, partition: str, name: str) -> str:
    return f"{raw_dir(source, partition)}/{safe_name(name)}.jsonl.gz"
