"""The raw zone: verbatim HTTP responses, one JSON envelope per line, gzip-compressed.

Envelope (DESIGN.md): ``{"request": "/v1/tracks?ids=a,b", "status": 200, "fetched_at": "…Z", "body": …}``.
Our extractor writes one file per source and partition (``spotify_assets.jsonl.gz``), so re-running a
partition replaces that file instead of adding rows; files landed by other tools sit beside it and are
read too.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from .paths import RAW_SOURCES, raw_dir, raw_file
from .storage import Lake, local_spool

EXTRACTOR_FILE_NAME = "spotify_assets"


@dataclass(frozen=True)
class RawLine:
    """One line of a raw file, not yet parsed: where it came from and its bytes."""

    file: str
    line_no: int
    data: bytes


def iter_raw_lines(lake: Lake, source: str, partition: str) -> Iterator[RawLine]:
    """Every non-empty line of every raw file of ``source`` for ``partition``, in file then line order."""
    for f in lake.list_files(raw_dir(source, partition), suffix=".jsonl.gz"):
        with lake.open_input(f.path) as stream, gzip.open(stream, "rb") as lines:
            for line_no, line in enumerate(lines, start=1):
                if line.strip():
                    yield RawLine(f.path, line_no, line.rstrip(b"\n"))


def iter_raw_envelopes(lake: Lake, source: str, partition: str) -> Iterator[dict]:
    """Parsed envelopes of a partition; lines that are not JSON objects are skipped (the transform
    quarantines them — this reader is for the extractor's own carry-over of unchanged playlists)."""
    for line in iter_raw_lines(lake, source, partition):
        try:
            envelope = orjson.loads(line.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(envelope, dict):
            yield envelope


class RawPartitionWriter:
    """Thread-safe sink for one partition's raw responses, one spooled gzip file per source.

    Lines are spooled to local temporary files while the crawl runs; :meth:`commit` uploads each
    source's file atomically, replacing the extractor's previous file for that partition.
    """

    def __init__(self, lake: Lake, partition: str, *, name: str = EXTRACTOR_FILE_NAME, compresslevel: int = 6):
        self.lake = lake
        self.partition = partition
        self.name = name
        self._lock = threading.Lock()
        self._spool_ctx = local_spool()
        self._spool_dir = self._spool_ctx.__enter__().rsplit("/", 1)[0]
        self._files = {
            s: gzip.open(f"{self._spool_dir}/{s}.jsonl.gz", "wb", compresslevel=compresslevel)
            for s in RAW_SOURCES
        }
        self.records = dict.fromkeys(RAW_SOURCES, 0)
        self.raw_bytes = dict.fromkeys(RAW_SOURCES, 0)

    def write(self, source: str, envelope: dict) -> None:
        line = orjson.dumps(envelope) + b"\n"
        with self._lock:
            self._files[source].write(line)
            self.records[source] += 1
            self.raw_bytes[source] += len(line)

    def commit(self) -> dict[str, dict]:
        """Upload every source's file; returns per-source ``{"path", "records", "bytes"}`` (compressed bytes)."""
        written = {}
        try:
            for source, f in self._files.items():
                f.close()
                rel = raw_file(source, self.partition, self.name)
                size = self.lake.upload_file(f"{self._spool_dir}/{source}.jsonl.gz", rel)
                written[source] = {"path": rel, "records": self.records[source], "bytes": size}
        finally:
            self.close()
        return written

    def close(self) -> None:
        for f in self._files.values():
            if not f.closed:
                f.close()
        self._spool_ctx.__exit__(None, None, None)
