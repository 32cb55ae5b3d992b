"""Names in the lake: partition values, safe file and table names, and the raw zone's layout.

Where published tables live (and where a run stages them) is :mod:`.publication`'s business.
"""

from __future__ import annotations

import datetime as dt
import re

# What the daily crawl (the raw_spotify assets) lands: the catalog, then the user's top items and saved tracks.
CRAWL_SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists", "top_tracks", "top_artists",
                 "saved_tracks")
# Recently played tracks: landed by their own asset (raw_plays) on its own schedule, one file per run.
PLAYS_SOURCE = "plays"
RAW_SOURCES = (*CRAWL_SOURCES, PLAYS_SOURCE)
# The user's data export, landed by `make import-history` (raw_streaming_history): not daily, one folder per
# export, raw/streaming_history/export=<export id>/ (see spotify_assets.history.landing).
HISTORY_SOURCE = "streaming_history"
RAW_SUFFIX = ".jsonl.gz"
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MONTH = re.compile(r"[0-9]{4}-(?:0[1-9]|1[0-2])")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_RAW_KEY = re.compile(r"(?:.*/)?raw/(?P<source>[^/]+)/dt=(?P<partition>[^/]+)/(?P<rest>.+)")


def validate_partition(partition: str) -> str:
    """Return ``partition`` if it is an ISO date (``YYYY-MM-DD``), else raise ``ValueError``."""
    # fromisoformat alone also takes "20261124" and week dates ("2026-W47-2"): the shape is checked first
    if not isinstance(partition, str) or not _DATE.fullmatch(partition):
        raise ValueError(f"partition {partition!r} is not a date of the form YYYY-MM-DD")
    try:
        dt.date.fromisoformat(partition)
    except ValueError:
        raise ValueError(f"partition {partition!r} is not a date of the form YYYY-MM-DD") from None
    return partition


def validate_month(month: str) -> str:
    """Return ``month`` if it is a month of the form ``YYYY-MM``, else raise ``ValueError``."""
    if not isinstance(month, str) or not _MONTH.fullmatch(month):
        raise ValueError(f"partition {month!r} is not a month of the form YYYY-MM")
    return month


def partition_folder(partition: str) -> str:
    """The Hive folder of a table partition: ``dt=YYYY-MM-DD`` for a day (the daily tables), ``month=YYYY-MM``
    for a month (the listening history, whose years would otherwise be thousands of tiny day folders)."""
    if isinstance(partition, str) and len(partition) == 7:
        return f"month={validate_month(partition)}"
    return f"dt={validate_partition(partition)}"


def parse_partition_folder(name: str) -> str | None:
    """The partition value of a folder name ``dt=…`` or ``month=…`` (None for any other name)."""
    key, _, value = name.partition("=")
    try:
        if key == "dt":
            return validate_partition(value)
        if key == "month":
            return validate_month(value)
    except ValueError:
        return None
    return None


def safe_name(name: str) -> str:
    # File names become object keys: no separators, no hidden files, nothing a shell or S3 console trips on.
    if not _NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a safe file or table name")
    return name


def raw_dir(source: str, partition: str) -> str:
    if source not in RAW_SOURCES:
        raise ValueError(f"unknown raw source {source!r}; expected one of {', '.join(RAW_SOURCES)}")
    return f"raw/{source}/dt={validate_partition(partition)}"


def history_export_dir(export_id: str) -> str:
    """The raw folder of one imported export: ``raw/streaming_history/export=<export id>``."""
    return f"raw/{HISTORY_SOURCE}/export={safe_name(export_id)}"


def raw_file(source: str, partition: str, name: str) -> str:
    return f"{raw_dir(source, partition)}/{safe_name(name)}{RAW_SUFFIX}"


# -- the raw zone's file-naming rule (every reader of the raw zone applies it) ----------------------------
#
# A raw file is exactly ``raw/<source>/dt=YYYY-MM-DD/<name>.jsonl.gz``: directly in the partition folder
# (no subdirectories), the suffix in lower case. A name (or a folder below the partition) starting with
# ``_`` or ``.`` is temporary or hidden — the lake's atomic writes, other tools' staging — and ignored
# without a word; any other file below a partition folder that is not read is reported with the reason.


def is_hidden(rel: str) -> bool:
    """True if ``rel`` (a path below a raw partition folder) is temporary or hidden: a part of it starts
    with ``_`` or ``.``."""
    return any(part.startswith(("_", ".")) for part in rel.split("/"))


def unread_reason(rel: str) -> str | None:
    """Why the file at ``rel`` (its path below a raw partition folder, not hidden) is not a raw file the
    pipeline reads; None when it is one."""
    if "/" in rel:
        return "in a subdirectory: raw files sit directly in the partition folder"
    if rel.endswith(RAW_SUFFIX):
        return None
    if rel.lower().endswith(RAW_SUFFIX):
        return f"the suffix must be {RAW_SUFFIX} in lower case"
    return f"not named <name>{RAW_SUFFIX}"


def parse_raw_key(key: str) -> tuple[str, str, str] | None:
    """``(source, partition, name)`` if ``key`` names a raw file the pipeline reads, else None.

    ``key`` is relative to the lake root or carries a prefix before ``raw/`` (an S3 object key under a
    lake at ``s3://bucket/prefix``); ``name`` includes the suffix. For sensors and event handlers that see
    single keys: the same rule as :func:`spotify_assets.lake.raw.list_raw_files`.
    """
    m = _RAW_KEY.fullmatch(key)
    if m is None or m["source"] not in RAW_SOURCES:
        return None
    try:
        validate_partition(m["partition"])
    except ValueError:
        return None
    rest = m["rest"]
    if is_hidden(rest) or unread_reason(rest) is not None:
        return None
    return m["source"], m["partition"], rest

