"""Quarantine files: rejected records with their reason and origin, gzip JSON lines, one file per table
and day, staged and published with the tables (see :mod:`.publication`).

Each line: ``{"table", "reason", "raw_file", "raw_line", "request", "record"}`` where ``record`` is the
rejected JSON value (an item, a track, an envelope…) or, for a line that is not JSON, its raw text.
No records → no file (the day is then published as "nothing quarantined", so a re-run that fixed
everything leaves no stale quarantine behind). The gzip header carries no timestamp, so the same records give
byte-identical files.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable

import orjson

from .publication.manifests import published_file
from .storage import Lake


def write_quarantine_file(lake: Lake, rel: str, records: Iterable[dict]) -> str | None:
    """Write ``records`` to ``rel`` (atomically); returns ``rel``, or None (and writes nothing) when empty."""
    lines = [orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS, default=str) for r in records]
    if not lines:
        return None
    lake.write_bytes(rel, gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6, mtime=0))
    return rel


def read_quarantine_file(lake: Lake, rel: str) -> list[dict]:
    """The records of one quarantine file (empty when there is no file)."""
    if not lake.exists(rel):
        return []
    data = gzip.decompress(lake.read_bytes(rel))
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]


def read_quarantine(lake: Lake, table: str, partition: str) -> list[dict]:
    """The published quarantine records of ``table`` on ``partition``."""
    rel = published_file(lake, "quarantine", table, partition)
    return read_quarantine_file(lake, rel) if rel else []
