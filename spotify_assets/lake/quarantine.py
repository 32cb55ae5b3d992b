"""The quarantine zone: rejected records with their reason and origin, one gzip JSONL file per table
and partition (``quarantine/<table>/dt=…/part-00000.jsonl.gz``).

Each line: ``{"table", "reason", "raw_file", "raw_line", "request", "record"}`` where ``record`` is the
rejected JSON value (an item, a track, an envelope…) or, for a line that is not JSON, its raw text.
Writing is atomic and replaces the partition's file; writing no records deletes the old file, so a
re-run that fixed everything leaves no stale quarantine behind. The gzip header carries no timestamp,
so the same records give byte-identical files.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable

import orjson

from .paths import quarantine_file
from .storage import Lake


def write_quarantine(lake: Lake, table: str, partition: str, records: Iterable[dict]) -> str | None:
    """Replace the quarantine file of ``table``/``partition``; returns its path, or None when empty."""
    rel = quarantine_file(table, partition)
    lines = [orjson.dumps(r, option=orjson.OPT_NON_STR_KEYS, default=str) for r in records]
    if not lines:
        lake.delete(rel)
        return None
    data = gzip.compress(b"\n".join(lines) + b"\n", compresslevel=6, mtime=0)
    lake.write_bytes(rel, data)
    return rel


def read_quarantine(lake: Lake, table: str, partition: str) -> list[dict]:
    """The quarantined records of ``table``/``partition`` (empty when there is no file)."""
    rel = quarantine_file(table, partition)
    if not lake.exists(rel):
        return []
    data = gzip.decompress(lake.read_bytes(rel))
    return [orjson.loads(line) for line in data.splitlines() if line.strip()]
