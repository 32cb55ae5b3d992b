"""The fast path's input: raw files decompressed, cut into chunks of whole lines, pre-checked and parsed.

A raw file is decompressed in 4 MB reads (:class:`~spotify_assets.lake.gzip_stream.GzipReader`, so a
damaged file gives exactly the complete lines the record-by-record path reads); consecutive lines are
grouped into chunks of ~``CHUNK_BYTES``. A chunk that passes a byte-level pre-check (:func:`_clean`) is
parsed by ``pyarrow.json.read_json`` with an explicit schema projecting only the fields the tables use
(:func:`projections`; everything else, ``available_markets`` included, is skipped by the C++ parser).
The parser is strict: a value of the wrong JSON type (a float or string in an int field, a number in a
string field, an object where an array is expected, a duplicated key …) fails the chunk, which then goes
the record-by-record way (:func:`.rows.feed_chunk`).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import queue
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from spotify_assets.lake.gzip_stream import GzipDamage, GzipReader
from spotify_assets.lake.raw import READ_BLOCK
from spotify_assets.spotify.shapes import EMBEDDED_PAGE_KEYS, ITEM_OBJECT_KEYS, LOOKUP_KEYS

from ... import tables as S
from ..columns import projection
from ..records import in_background
from .arrow import one_value
from .plan import CandidateSink
from .rows import feed_chunk

CHUNK_BYTES = 16 * 1024 * 1024  # decompressed bytes per chunk (a fallback re-parses one chunk)
JSON_BLOCK = 16 * 1024 * 1024  # pyarrow.json block (a chunk is parsed by one thread; two chunks at a time)
FAST_SOURCES = ("playlists", "playlist_items", "albums", "artists")

_I = pa.int64()
_S = pa.string()


def _st(*fields) -> pa.StructType:
    return pa.struct(list(fields))


def _envelope(body: pa.DataType) -> pa.Schema:
    return pa.schema([("request", _S), ("status", _I), ("fetched_at", _S), ("body", body)])


def projections() -> dict[str, pa.Schema]:
    """The ``pyarrow.json`` schema of each fast source: every table's path columns (:mod:`spotify_assets.tables`)
    merged with the fields the code below reads itself (ids, nesting, types, the quirks it must see)."""
    t = S.TABLES
    artist = projection(t["artists"], {"id": _S}, simplified=True)
    album = projection(t["albums"], {"id": _S, "release_date": _S, "release_date_precision": _S,
                                     "artists": pa.list_(artist)})
    track = projection(t["tracks"], {"id": _S, "type": _S, "is_local": pa.bool_(), "album": album,
                                     "artists": pa.list_(artist), "linked_from": _st(("id", _S))})
    item = projection(t["playlist_items"], {"is_local": pa.bool_(), **dict.fromkeys(ITEM_OBJECT_KEYS, track)})
    page = _st(("offset", _I), ("total", _I), ("items", pa.list_(item)))
    full_artist = projection(t["artists"], {"id": _S, "genres": pa.list_(_S)})
    return {
        "playlist_items": _envelope(page),
        "playlists": _envelope(projection(t["playlists"], {"id": _S, **dict.fromkeys(EMBEDDED_PAGE_KEYS, page)})),
        "albums": _envelope(_st(("id", _S), (LOOKUP_KEYS["albums"], pa.list_(album)))),
        "artists": _envelope(_st(("id", _S), (LOOKUP_KEYS["artists"], pa.list_(full_artist)))),
    }


_READ_OPTIONS = pj.ReadOptions(use_threads=False, block_size=JSON_BLOCK)


def parse_options() -> dict[str, pj.ParseOptions]:
    """Built per transform from the current declarations (cheap): a declared column is parsed at once."""
    return {source: pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
            for source, schema in projections().items()}



class FastReader:
    """The fast-path files of a partition, decompressed, pre-checked and parsed ahead of the caller.

    Two background threads form a pipeline across *all* the files, in the order given: a reader
    (:func:`_read_stage`: gzip into large Arrow buffers, cut at line ends, :func:`_clean` pre-check) and
    a parser (:func:`_parse_stage`: ``pyarrow.json`` on clean chunks). Both run in C++ outside the GIL,
    so the caller's per-chunk work overlaps the next chunks' reading and parsing, and the pipeline does
    not drain between files. Call :meth:`feed` once per file, in the same order; :meth:`close` at the end.
    """

    def __init__(self, lake, files: list[tuple[str, str]]):
        self.files = files  # (source, path)
        self._buffers = _BufferPool()
        self._items = _parse_stage(_read_stage(lake, [p for _, p in files], self._buffers), [s for s, _ in files])
        self._next = 0

    def feed(self, ex: CandidateSink, path: str, source: str, last: list[int], stats: dict | None = None) -> None:
        """Feed the next file (``path``) to ``ex``: clean chunks through the fast path, the others line by
        line. ``last[0]`` is kept at the last line number fed; a damaged gzip stream
        (:class:`~spotify_assets.lake.gzip_stream.GzipDamage`) or a read error is raised after the complete
        lines decoded before it were fed — the lines :func:`~..records.iter_file_lines` yields."""
        assert self.files[self._next] == (source, path), (self.files[self._next], source, path)
        self._next += 1
        first = 1
        for item in self._items:
            if item[0] == "end":
                if item[1] is not None:
                    raise item[1]
                return
            _, data, done_with, table = item
            first += feed_chunk(ex, path, source, data, table, first, last, stats)
            del data, table
            if done_with is not None:  # the last piece of its buffer: nothing refers to it any more
                self._buffers.put(done_with)

    def close(self) -> None:
        self._items.close()


class _BufferPool:
    """Chunk buffers handed back by the consumer for the reader to fill again: fresh ~20 MB allocations
    are returned to the OS when freed, and faulting their pages in again costs ~10% of the CPU time."""

    def __init__(self, keep: int = 4):
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        self._keep = keep

    def get(self, size: int) -> pa.ResizableBuffer:
        try:
            buf = self._free.get_nowait()
        except queue.Empty:
            return pa.allocate_buffer(size, resizable=True)
        if buf.size < size:
            buf.resize(size)
        return buf

    def put(self, buf: pa.ResizableBuffer) -> None:
        if self._free.qsize() < self._keep:
            self._free.put(buf)


_NEWLINE = re.compile(b"\n")


def _last_newline(arr: np.ndarray, end: int) -> int:
    """Index of the last ``\\n`` in ``arr[:end]``, or -1 (searched backwards in growing windows)."""
    hi, width = end, 1 << 20
    while hi > 0:
        lo = max(0, hi - width)
        hits = np.flatnonzero(arr[lo:hi] == 10)
        if len(hits):
            return lo + int(hits[-1])
        hi, width = lo, width * 4
    return -1


def _pieces(buf: pa.Buffer, end: int) -> list[pa.Buffer]:
    """``buf[:end]`` (whole lines) cut into pieces of at least ``CHUNK_BYTES`` at line ends (zero-copy);
    a piece is cut only if what follows it is a full piece too, so no tiny tail chunk is parsed."""
    view = memoryview(buf)
    out, start = [], 0
    while end - start > 2 * CHUNK_BYTES and (m := _NEWLINE.search(view, start + CHUNK_BYTES, end)) is not None:
        out.append(buf.slice(start, m.start() - start))
        start = m.start() + 1
    out.append(buf.slice(start, end - start))
    return out


def _file_chunks(lake, path: str, put, stop, buffers: _BufferPool) -> None:
    """Decompress one raw file into ``("chunk", piece, clean, done_with)`` items of whole lines (no final
    newline); ``done_with`` is the buffer under the pieces on its last piece (for :class:`_BufferPool`).

    Reads are ``READ_BLOCK`` each, straight into the chunk's buffer (no copies but the unfinished last line
    carried to the next buffer). On damage (:class:`GzipDamage`), the complete lines decoded before it are
    put, then the damage is raised with its ``partial_line`` (the unterminated rest, not used).
    """
    def emit(buf, end):
        pieces = _pieces(buf, end)
        for i, piece in enumerate(pieces):
            put(("chunk", piece, _clean(piece), buf if i == len(pieces) - 1 else None))

    carry = b""
    with GzipReader.open(lake, path) as stream:
        eof = False
        while not eof and not stop.is_set():
            want = len(carry) + max(CHUNK_BYTES, READ_BLOCK)
            buf = buffers.get(want + READ_BLOCK)
            view = memoryview(buf).cast("B")
            view[: len(carry)] = carry
            filled, nl = len(carry), -1
            arr = np.frombuffer(buf, dtype=np.uint8)
            while True:
                if filled + READ_BLOCK > buf.size:  # a line longer than a chunk: grow
                    del arr
                    view.release()
                    buf.resize(2 * buf.size)
                    view, arr = memoryview(buf).cast("B"), np.frombuffer(buf, dtype=np.uint8)
                try:
                    n = stream.readinto(view[filled : filled + READ_BLOCK])
                except GzipDamage as damage:
                    cut = _last_newline(arr, filled)
                    damage.partial_line = bytes(view[cut + 1 : filled])
                    if cut >= 0:
                        emit(buf, cut)
                    raise
                filled += n
                if n == 0:
                    eof = True
                    break
                if filled >= want and (nl := _last_newline(arr, filled)) >= 0:
                    break
            if eof:
                end = filled - 1 if filled and arr[filled - 1] == 10 else filled
                if end > 0:
                    emit(buf, end)
                break
            carry = bytes(view[nl + 1 : filled])
            emit(buf, nl)
            del view, arr


def _read_stage(lake, paths: list[str], buffers: _BufferPool):
    """The chunk items of every file in order (:func:`_file_chunks`), each file closed by ``("end", error)``."""
    def produce(put, stop):
        for path in paths:
            if stop.is_set():
                return
            try:
                _file_chunks(lake, path, put, stop, buffers)
            except (GzipDamage, OSError) as e:  # the caller decides (quarantine the damage, or fail)
                put(("end", e))
            else:
                put(("end", None))

    return in_background(produce, name="raw-reader", maxsize=1)


def _parse(data: pa.Buffer, options: pj.ParseOptions) -> pa.Table | None:
    """``pyarrow.json`` with the source's projection; None if Arrow rejects the chunk (wrong types …)."""
    try:
        return pj.read_json(pa.BufferReader(data), read_options=_READ_OPTIONS, parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


def _parse_stage(items, sources: list[str], workers: int = 2):
    """Turns each reader item into ``("chunk", piece, done_with, table)``, in order: ``table`` is the parsed
    chunk, or None when it is not clean or Arrow rejects it. ``workers`` chunks are parsed at a time,
    each single-threaded: ~12% less CPU than splitting every chunk across Arrow's thread pool."""
    options = parse_options()

    def produce(put, stop):
        file = 0
        pending: collections.deque = collections.deque()  # (item, future or None), in order
        pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="raw-parse")

        def put_first():
            item, fut = pending.popleft()
            put(item if item[0] == "end" else (*item, fut.result() if fut is not None else None))

        try:
            for item in items:
                if stop.is_set():
                    return
                if item[0] == "end":
                    file += 1
                    pending.append((item, None))
                else:
                    _, piece, clean, done_with = item
                    pending.append((("chunk", piece, done_with), pool.submit(_parse, piece, options[sources[file]]) if clean else None))
                while len(pending) > workers:
                    put_first()
            while pending and not stop.is_set():
                put_first()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            items.close()

    return in_background(produce, name="raw-parser", maxsize=1)



# Arrow accepts what orjson rejects (NaN/Infinity tokens, several objects on a line, blank lines in the
# row count) and the Python path treats an "error" key specially: any of these and the chunk falls back.
_SUSPECT = ("NaN", "Infinity", 'error"', "}[ \t\r\x0b\x0c]*{", "\n[ \t\r\x0b\x0c]*\n",
            "^[ \t\r\x0b\x0c]*(\n|$)", "\n[ \t\r\x0b\x0c]*$")  # (the last two: a blank first/last line)


def _text(data: pa.Buffer) -> pa.Array | None:
    """``data`` as a one-value string array, or None if it is not valid UTF-8 (orjson's rule)."""
    try:
        return one_value(data, pa.large_binary()).cast(pa.large_string())  # validates UTF-8
    except pa.ArrowInvalid:
        return None


def _clean(data: pa.Buffer) -> bool:
    """Valid UTF-8, no blank line, nothing of :data:`_SUSPECT` (RE2, outside the GIL)."""
    text = _text(data)
    return text is not None and not any(pc.match_substring_regex(text, p)[0].as_py() for p in _SUSPECT)

