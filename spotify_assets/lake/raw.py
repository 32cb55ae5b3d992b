"""The raw zone: verbatim HTTP responses, one JSON envelope per line, gzip-compressed.

Envelope: ``{"request": "/v1/tracks?ids=a,b", "status": 200, "fetched_at": "…Z", "body": …}``.
Our extractor writes one file per source and partition (``spotify_assets.jsonl.gz``), so re-running a
partition replaces that file instead of adding rows; files landed by other tools sit beside it and are
read too. Which files are read is one rule (:func:`list_raw_files`, see :mod:`.paths`); damaged gzip
data is read up to the damage (:mod:`.gzip_stream`).
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from .gzip_stream import GzipDamage, GzipReader
from .paths import CRAWL_SOURCES, PLAYS_SOURCE, is_hidden, raw_dir, raw_file, unread_reason
from .storage import Lake, LakeFile, local_spool

log = logging.getLogger(__name__)

EXTRACTOR_FILE_NAME = "spotify_assets"
PLAYS_FILE_PREFIX = "plays-"  # raw_plays' files: plays-<first>-<last> (see .plays)


def is_extractor_file(source: str, name: str) -> bool:
    """Whether a raw file is one our own assets write (the crawl's ``spotify_assets…``, ``raw_plays``'
    ``plays-…``), not another tool's: the run that wrote it materialized its asset already."""
    if source == PLAYS_SOURCE and name.startswith(PLAYS_FILE_PREFIX):
        return True
    return name.startswith(EXTRACTOR_FILE_NAME)
READ_BLOCK = 4 * 1024 * 1024  # decompressed bytes per read


@dataclass(frozen=True)
class RawLine:
    """One line of a raw file, not yet parsed: where it came from and its bytes."""

    file: str
    line_no: int
    data: bytes


def list_raw_files(lake: Lake, source: str, partition: str) -> tuple[list[LakeFile], list[dict]]:
    """``(files read, files not read)`` below the partition folder of ``source``, each sorted by path.

    Read: ``raw/<source>/dt=<partition>/<name>.jsonl.gz`` (see :func:`.paths.unread_reason`). Not read:
    every other file there, as ``{"path", "size", "reason"}``; temporary and hidden names (starting with
    ``_`` or ``.``) are neither.
    """
    folder = raw_dir(source, partition)
    read, unread = [], []
    for f in lake.list_files(folder):
        rel = f.path[len(folder) + 1 :]
        if is_hidden(rel):
            continue
        reason = unread_reason(rel)
        if reason is None:
            read.append(f)
        else:
            unread.append({"path": f.path, "size": f.size, "reason": reason})
    return read, unread


def read_line_blocks(lake: Lake, path: str, block: int = READ_BLOCK) -> Iterator[list[bytes]]:
    """The lines of one raw file (without their newline), a list per ``block`` decompressed bytes.

    A damaged file yields every complete line before the damage, then raises :class:`GzipDamage` with its
    ``partial_line`` set: the unterminated line cut by the damage is not a complete line and is not
    yielded. An undamaged file's last line needs no final newline.
    """
    with GzipReader.open(lake, path) as stream:
        rest = b""
        while True:
            try:
                chunk = stream.read(block)
            except GzipDamage as damage:
                damage.partial_line = rest
                raise
            if not chunk:
                break
            lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
            rest = lines.pop()
            yield lines
        if rest:
            yield [rest]


def iter_raw_lines(
    lake: Lake, source: str, partition: str, *, damaged: list[GzipDamage] | None = None
) -> Iterator[RawLine]:
    """Every non-empty line of every raw file of ``source`` for ``partition``, in file then line order.

    A damaged file gives its complete lines before the damage; the :class:`GzipDamage` (with ``.path``
    set) is then raised — or, if a ``damaged`` list is given, appended to it and the next file is read.
    """
    for f in list_raw_files(lake, source, partition)[0]:
        line_no = 0
        try:
            for lines in read_line_blocks(lake, f.path):
                for line in lines:
                    line_no += 1
                    if line.strip():
                        yield RawLine(f.path, line_no, line)
        except GzipDamage as damage:
            damage.path = f.path
            if damaged is None:
                raise
            damaged.append(damage)


def iter_raw_envelopes(lake: Lake, source: str, partition: str) -> Iterator[dict]:
    """Parsed envelopes of a partition; lines that are not JSON objects are skipped (the transform
    quarantines them — this reader is for the extractor's own carry-over of unchanged playlists, which
    re-fetches whatever it does not find here, so a damaged file's intact lines are used and the damage
    is logged)."""
    damaged: list[GzipDamage] = []
    for line in iter_raw_lines(lake, source, partition, damaged=damaged):
        try:
            envelope = orjson.loads(line.data)
        except orjson.JSONDecodeError:
            continue
        if isinstance(envelope, dict):
            yield envelope
    for damage in damaged:
        log.warning("raw file %s is damaged (%s); its lines before the damage were used", damage.path, damage)


class RawPartitionWriter:
    """Thread-safe sink for one partition's raw responses, one spooled gzip file per source.

    Lines are spooled to local temporary files while the crawl runs; :meth:`commit` uploads each
    source's file atomically, replacing the extractor's previous file for that partition. ``sources``:
    the sources it writes (by default the daily crawl's; plays are landed by :mod:`spotify_assets.spotify.plays`).
    """

    def __init__(self, lake: Lake, partition: str, *, name: str = EXTRACTOR_FILE_NAME, compresslevel: int = 6,
                 sources: tuple[str, ...] = CRAWL_SOURCES):
        self.lake = lake
        self.partition = partition
        self.name = name
        self._lock = threading.Lock()
        self._spool_ctx = local_spool()
        self._spool_dir = self._spool_ctx.__enter__().rsplit("/", 1)[0]
        self._files = {
            s: gzip.open(f"{self._spool_dir}/{s}.jsonl.gz", "wb", compresslevel=compresslevel)
            for s in sources
        }
        self.records = dict.fromkeys(sources, 0)
        self.raw_bytes = dict.fromkeys(sources, 0)

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
