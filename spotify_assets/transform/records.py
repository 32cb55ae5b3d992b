"""Raw lines → envelopes, quarantine records and the per-source accounting.

Reading is streamed: each raw file is decompressed by pyarrow (C++, outside the GIL) in a background
thread, in blocks of a few MB, while the caller parses lines — two cores overlap on a 2-core box. A
damaged gzip file gives every complete line before the damage, then raises
:class:`~spotify_assets.lake.gzip_stream.GzipDamage` (see :func:`spotify_assets.lake.raw.read_line_blocks`).
``available_markets`` arrays (half or more of a response's bytes, unused by any table) are blanked
out of the line bytes before ``orjson`` sees them; if that ever made a line unparseable the original
bytes are parsed instead, so the shortcut can never lose or invent data.
"""

from __future__ import annotations

import queue
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson

from spotify_assets.lake.raw import read_line_blocks
from spotify_assets.lake.storage import Lake

from .coerce import fetched_rank

_MARKETS = re.compile(rb'"available_markets"\s*:\s*\[[^\]]*\]')
_NO_MARKETS = b'"available_markets":[]'

# The table a broken envelope of each source is quarantined under (the source's main table).
SOURCE_TABLE = {
    "playlists": "playlists",
    "playlist_items": "playlist_items",
    "tracks": "tracks",
    "albums": "albums",
    "artists": "artists",
    "top_tracks": "top_tracks",
    "top_artists": "top_artists",
    "saved_tracks": "saved_tracks",
    "plays": "plays",
}


class Reject(Exception):
    """A unit (line, item, entity) that goes to quarantine: ``Reject(reason)``."""


@dataclass(frozen=True)
class Envelope:
    """A parsed raw line: where it came from and the response it records."""

    file: str
    line_no: int
    request: str
    status: int
    fetched_at: str | None
    rank: int  # fetched_at as epoch seconds, for "latest wins" dedupe
    body: object
    blanked: bool = False  # available_markets arrays were emptied before parsing (see restore_record)


def loads_fast(data: bytes) -> tuple[object, bool]:
    """``(orjson.loads result, blanked)`` with ``available_markets`` arrays emptied when that is safe;
    falls back to the verbatim bytes."""
    if b'"available_markets"' in data:
        try:
            return orjson.loads(_MARKETS.sub(_NO_MARKETS, data)), True
        except orjson.JSONDecodeError:
            pass
    return orjson.loads(data), False


def _blank(o):
    if type(o) is dict:
        return {k: ([] if k == "available_markets" and type(v) is list else _blank(v)) for k, v in o.items()}
    if type(o) is list:
        return [_blank(v) for v in o]
    return o


def restore_records(data: bytes, records: list[QuarantineRecord]) -> None:
    """Give quarantined records of a blanked line their original content (markets included).

    Parses the verbatim line once and, for each record, finds the object that blanks to it.
    Only runs for lines that had a quarantined entity, so its cost does not matter.
    """
    try:
        original = orjson.loads(data)
    except orjson.JSONDecodeError:
        return
    todo = [r for r in records if type(r.record) in (dict, list)]
    if not todo:
        return
    stack = [original]
    found: dict[int, object] = {}
    while stack and len(found) < len(todo):
        o = stack.pop()
        if type(o) is dict:
            for i, r in enumerate(todo):
                if i not in found and type(r.record) is dict and o.keys() == r.record.keys() \
                        and o.get("id") == r.record.get("id") and _blank(o) == r.record:
                    found[i] = o
                    break
            stack.extend(v for v in o.values() if type(v) in (dict, list))
        elif type(o) is list:
            for i, r in enumerate(todo):
                if i not in found and type(r.record) is list and len(o) == len(r.record) and _blank(o) == r.record:
                    found[i] = o
                    break
            stack.extend(v for v in o if type(v) in (dict, list))
    for i, o in found.items():
        todo[i].record = o


def parse_envelope(file: str, line_no: int, data: bytes) -> Envelope:
    """Parse and validate one raw line; raises :class:`Reject` with the reason."""
    try:
        obj, blanked = loads_fast(data)
    except orjson.JSONDecodeError as e:
        raise Reject(f"invalid JSON: {e}") from None
    if type(obj) is not dict:
        raise Reject(f"envelope is a JSON {type(obj).__name__}, expected object")
    request = obj.get("request")
    status = obj.get("status")
    if type(request) is not str:
        raise Reject("envelope has no request string")
    if type(status) is float and status.is_integer():
        status = int(status)
    if type(status) is not int:
        raise Reject("envelope has no integer status")
    if "body" not in obj:
        raise Reject("envelope has no body")
    fetched_at = obj.get("fetched_at")
    if fetched_at is not None and type(fetched_at) is not str:
        raise Reject("envelope fetched_at is not a string")
    # (a carried-over response's "carried_from" needs nothing here: its fetched_at is the original one)
    return Envelope(file, line_no, request, status, fetched_at, fetched_rank(fetched_at), obj["body"], blanked)


def iter_file_lines(lake: Lake, path: str) -> Iterator[tuple[int, bytes]]:
    """``(line_no, bytes)`` of the non-empty lines of one gzip JSONL file (1-based numbering); a damaged
    file raises :class:`~spotify_assets.lake.gzip_stream.GzipDamage` after its last complete line."""
    line_no = 0
    for block in _blocks(lake, path):
        for line in block:
            line_no += 1
            if line.strip():
                yield line_no, line


def in_background(produce, *, name: str, maxsize: int) -> Iterator:
    """Run ``produce(put, stop)`` in a daemon thread and yield what it ``put``s, in order.

    Decompression and parsing in Arrow release the GIL, so reading ahead in a thread overlaps I/O with
    the consumer's Python work. An exception in the producer is re-raised in the consumer; closing the
    generator early sets ``stop`` and drains the queue so the thread can finish.
    """
    q: queue.Queue = queue.Queue(maxsize=maxsize)
    stop = threading.Event()
    done = object()

    def run():
        try:
            produce(q.put, stop)
            q.put(done)
        except BaseException as e:  # surfaced in the consumer
            q.put(e)

    t = threading.Thread(target=run, name=name, daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while t.is_alive():  # drain so the producer can finish
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        t.join()


def _blocks(lake: Lake, path: str) -> Iterator[list[bytes]]:
    def produce(put, stop):
        blocks = read_line_blocks(lake, path)
        try:
            for lines in blocks:
                if stop.is_set():
                    return
                put(lines)
        finally:
            blocks.close()

    return in_background(produce, name=f"raw-reader:{path}", maxsize=4)


@dataclass
class QuarantineRecord:
    table: str
    reason: str
    raw_file: str
    raw_line: int
    request: str | None
    record: object
    task: int = 0  # processing order of the raw file (not written)

    def to_dict(self) -> dict:
        return {
            "table": self.table,
            "reason": self.reason,
            "raw_file": self.raw_file,
            "raw_line": self.raw_line,
            "request": self.request,
            "record": self.record,
        }


@dataclass
class TableCount:
    """What one source contributed to one table: ``seen == emitted + quarantined + sum(excluded)``."""

    seen: int = 0
    emitted: int = 0
    quarantined: int = 0
    excluded: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"seen": self.seen, "emitted": self.emitted, "quarantined": self.quarantined,
                "excluded": dict(sorted(self.excluded.items()))}


@dataclass
class SourceCount:
    """Lines of one source: ``lines == parsed + quarantined + sum(excluded)``; and per-table entity counts."""

    lines: int = 0
    parsed: int = 0
    quarantined: int = 0
    excluded: Counter = field(default_factory=Counter)
    tables: dict[str, TableCount] = field(default_factory=lambda: defaultdict(TableCount))

    def merge(self, other: SourceCount) -> None:
        self.lines += other.lines
        self.parsed += other.parsed
        self.quarantined += other.quarantined
        self.excluded.update(other.excluded)
        for t, c in other.tables.items():
            mine = self.tables[t]
            mine.seen += c.seen
            mine.emitted += c.emitted
            mine.quarantined += c.quarantined
            mine.excluded.update(c.excluded)

    def as_dict(self) -> dict:
        return {
            "lines": self.lines, "parsed": self.parsed, "quarantined": self.quarantined,
            "excluded": dict(sorted(self.excluded.items())),
            "tables": {t: c.as_dict() for t, c in sorted(self.tables.items())},
        }


class AccountingError(AssertionError):
    """The records-in = rows-out + quarantined + excluded invariant does not hold (a transform bug)."""
