"""C-speed fast path for clean chunks of raw lines: ``pyarrow.json`` + Arrow compute instead of per-item Python.

A raw file is decompressed in 4 MB reads (:class:`~spotify_assets.lake.gzip_stream.GzipReader`, so a
damaged file gives exactly the complete lines the Python path reads); consecutive lines are grouped into
chunks of ~``CHUNK_BYTES``. A chunk is parsed by ``pyarrow.json.read_json`` with an
explicit schema projecting only the fields the tables use (everything else, ``available_markets``
included, is skipped by the C++ parser). The parser is strict: a value of the wrong JSON type (a float
or string in an int field, a number in a string field, an object where an array is expected, a
duplicated key …) fails the chunk.

The fast path only accepts a chunk where *every* unit would take the Python path's happy branch:
status 200, no ``"error"`` key anywhere, no null items/batch entries, no local files or episodes,
valid IDs everywhere, well-formed timestamps, release dates the Python coercion accepts, values within
their columns' declared ranges (min/max per chunk), non-empty genre strings. Anything else — or any exception — and the whole chunk is fed line by line to
:meth:`.entities.Extractor.feed_line`, so quarantine, exclusions and every quirk keep their exact
behaviour. An accepted chunk produces exactly the rows the Python path would, in the same order, with
the same ``_seq``/``_pseq``, the same early (keys-only) dedupe decisions against the shared
``Extractor.best_ranks`` state and the same per-source/table counts. Nothing is mutated until a chunk has
been fully validated.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import queue
import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from spotify_assets.lake.gzip_stream import GzipDamage, GzipReader
from spotify_assets.lake.raw import READ_BLOCK

from .. import tables as S
from .coerce import Bad, fetched_rank, release_date
from .columns import projection
from .entities import _PLAYLIST_REQUEST, CHILD_OF, FULL, Extractor, page_offset_limit
from .records import in_background

CHUNK_BYTES = 16 * 1024 * 1024  # decompressed bytes per chunk (a fallback re-parses one chunk)
JSON_BLOCK = 16 * 1024 * 1024  # pyarrow.json block (a chunk is parsed by one thread; two chunks at a time)
FAST_SOURCES = ("playlists", "playlist_items", "albums", "artists")

_ID_RE = "^[0-9A-Za-z]{22}$"
_TS_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
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
    item = projection(t["playlist_items"], {"is_local": pa.bool_(), "track": track, "item": track})
    page = _st(("offset", _I), ("total", _I), ("items", pa.list_(item)))
    full_artist = projection(t["artists"], {"id": _S, "genres": pa.list_(_S)})
    return {
        "playlist_items": _envelope(page),
        "playlists": _envelope(projection(t["playlists"], {"id": _S, "tracks": page, "items": page})),
        "albums": _envelope(_st(("id", _S), ("albums", pa.list_(album)))),
        "artists": _envelope(_st(("id", _S), ("artists", pa.list_(full_artist)))),
    }


_READ_OPTIONS = pj.ReadOptions(use_threads=False, block_size=JSON_BLOCK)


def parse_options() -> dict[str, pj.ParseOptions]:
    """Built per transform from the current declarations (cheap): a declared column is parsed at once."""
    return {source: pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
            for source, schema in projections().items()}


class Fallback(Exception):
    """The chunk is not clean: feed it to the Python path."""


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

    def feed(self, ex: Extractor, path: str, source: str, last: list[int], stats: dict | None = None) -> None:
        """Feed the next file (``path``) to ``ex``: clean chunks through the fast path, the others line by
        line. ``last[0]`` is kept at the last line number fed; a damaged gzip stream
        (:class:`~spotify_assets.lake.gzip_stream.GzipDamage`) or a read error is raised after the complete
        lines decoded before it were fed — the lines :func:`.records.iter_file_lines` yields."""
        assert self.files[self._next] == (source, path), (self.files[self._next], source, path)
        self._next += 1
        first = 1
        for item in self._items:
            if item[0] == "end":
                if item[1] is not None:
                    raise item[1]
                return
            _, data, done_with, table = item
            first += _chunk(ex, path, source, data, table, first, last, stats)
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


_NULL_ID = 'id"[ \t\r]*:[ \t\r]*null'


def _one_value(data: pa.Buffer, type_: pa.DataType) -> pa.Array:
    """``data`` as a one-value ``large_binary``/``large_string`` array, zero-copy and not validated."""
    return pa.Array.from_buffers(type_, 1, [None, pa.py_buffer(np.array([0, len(data)], np.int64)), data])


def _text(data: pa.Buffer) -> pa.Array | None:
    """``data`` as a one-value string array, or None if it is not valid UTF-8 (orjson's rule)."""
    try:
        return _one_value(data, pa.large_binary()).cast(pa.large_string())  # validates UTF-8
    except pa.ArrowInvalid:
        return None


def _contains(data: pa.Buffer, pattern: str) -> bool:
    """RE2 search in ``data`` (a chunk :func:`_clean` validated as UTF-8), outside the GIL."""
    return pc.match_substring_regex(_one_value(data, pa.large_string()), pattern)[0].as_py()


def _clean(data: pa.Buffer) -> bool:
    """Valid UTF-8, no blank line, nothing of :data:`_SUSPECT` (RE2, outside the GIL)."""
    text = _text(data)
    return text is not None and not any(pc.match_substring_regex(text, p)[0].as_py() for p in _SUSPECT)


def _chunk(ex: Extractor, path, source, data: pa.Buffer, table: pa.Table | None, first: int, last: list[int],
           stats) -> int:
    """Feed one chunk (fast if it was parsed and validates, else line by line); returns its number of lines."""
    commit = None
    if table is not None:
        try:
            commit, nlines = _prepare(ex, source, data, table)
        except Fallback:
            pass
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            pass
    if commit is not None:
        commit()
        last[0] = first + nlines - 1
        if stats is not None:
            stats["fast_lines"] = stats.get("fast_lines", 0) + nlines
        return nlines
    lines = data.to_pybytes().split(b"\n")
    del data
    _lines(ex, path, lines, first, last, stats)
    return len(lines)


def _lines(ex: Extractor, path, lines: list[bytes], first: int, last: list[int], stats) -> None:
    if stats is not None:
        stats["slow_lines"] = stats.get("slow_lines", 0) + len(lines)
    feed = ex.feed_line
    for i, ln in enumerate(lines):
        if ln.strip():
            feed(path, first + i, ln)
            last[0] = first + i


# -- helpers -----------------------------------------------------------------------------------------


def _check(cond) -> None:
    if not cond:
        raise Fallback


def _valid_ids(arr) -> None:
    """Every value is a valid Spotify ID (no nulls)."""
    if len(arr):
        _check(pc.all(pc.fill_null(pc.match_substring_regex(arr, _ID_RE), False)).as_py())


def _valid_ids_or_null(arr) -> None:
    if len(arr):
        _check(pc.all(pc.match_substring_regex(arr, _ID_RE), skip_nulls=True).as_py() is not False)


def _within(v, valid) -> None:
    """Every non-null value of ``v`` (an Arrow or numpy array) lies within ``valid``
    (:class:`.columns.Bounds`); else the Python path quarantines what is not."""
    if valid.low is None and valid.high is None or v is None or len(v) == 0:
        return
    if isinstance(v, np.ndarray):
        low, high = v.min(), v.max()
    else:
        if pa.types.is_date(v.type):
            v = v.cast(pa.int32())
        elif pa.types.is_timestamp(v.type):
            v = v.cast(_I)
        mm = pc.min_max(v)
        low, high = mm["min"].as_py(), mm["max"].as_py()
        if low is None:  # all null
            return
    _check((valid.low is None or low >= valid.low) and (valid.high is None or high <= valid.high))


def _none_true(arr) -> None:
    if len(arr):
        _check(not pc.any(arr).as_py())


def _f(arr, *names):
    """The field at ``names`` of a struct array (null where any step is null: ``struct_field`` keeps the
    parents' nulls)."""
    for n in names:
        arr = pc.struct_field(arr, n)
    return arr


def _flat(lists: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``(values, parent index, index within the parent list)`` of a list array (null lists → no values)."""
    values = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    lens = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.cumsum(lens) - lens
    within = np.arange(len(parents), dtype=np.int64) - starts[parents] if len(parents) else parents
    return values, parents, within


# The fast path's half of each coercion of :mod:`spotify_assets.tables` (the Python half is in .columns):
# pyarrow.json already parsed strings, int64s and booleans strictly (anything else fails the chunk).
def _as_parsed(v: pa.Array) -> pa.Array:
    return v


_ARROW_COERCE = {"string": _as_parsed, "int": _as_parsed, "bool": _as_parsed, "timestamp": lambda v: _timestamps(v)}


class _Dedupe:
    """Early keys-only dedupe of a chunk's occurrences against (and later into) ``Extractor.best_ranks``."""

    def __init__(self, best: dict):
        self.best = best
        self.local: dict = {}  # this chunk's updates, applied to ``best`` on commit

    def emit(self, keys: pa.Array, ranks: np.ndarray) -> np.ndarray:
        """Mask of the occurrences kept (rank above every earlier one of the key, earlier chunks included).
        Also checks that every key is a valid Spotify ID (on the distinct values: cheaper than per row)."""
        n = len(keys)
        if n == 0:
            return np.zeros(0, dtype=bool)
        _check(keys.null_count == 0)
        enc = pc.dictionary_encode(keys)
        _valid_ids(enc.dictionary)
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        uniq = enc.dictionary.to_pylist()
        lo = -(1 << 62)
        best, local = self.best, self.local
        b0 = np.full(len(uniq), lo, dtype=np.int64)
        known = (best.keys() & uniq) | (local.keys() & uniq) if (best or local) else ()
        if known:  # keys seen before this call (usually few): their best rank so far
            known = list(known)
            at = pc.index_in(pa.array(known, _S), value_set=enc.dictionary).to_numpy(zero_copy_only=False)
            b0[at] = [local[k] if k in local else best[k] for k in known]
        if ranks.min() == ranks.max():  # one fetched_at (the usual case): no sort needed
            # dictionary codes are numbered in order of first appearance: the first occurrence of a key
            # is where the code exceeds every earlier one; it is kept if it beats the key's earlier best
            r0 = int(ranks[0])
            first = np.empty(n, dtype=bool)
            first[0] = True
            first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
            kept = first & (b0[codes] < r0)
            up = b0 < r0
            local.update(zip(itertools.compress(uniq, up), itertools.repeat(r0)))
            return kept
        order = np.argsort(codes, kind="stable")
        c = codes[order]
        r = ranks[order]
        rmin = int(r.min())
        span = int(r.max()) - rmin + 2
        v = (r - rmin + 1) + c * span  # groups ascend, so a running max never leaks across groups
        cm = np.maximum.accumulate(v)
        prev = np.full(n, lo, dtype=np.int64)
        same = np.zeros(n, dtype=bool)
        same[1:] = c[1:] == c[:-1]
        prev[1:][same[1:]] = cm[:-1][same[1:]] - c[1:][same[1:]] * span + rmin - 1
        prior = np.maximum(b0[c], prev)
        kept_sorted = r > prior
        kept = np.empty(n, dtype=bool)
        kept[order] = kept_sorted
        ends = np.flatnonzero(np.append(c[1:] != c[:-1], True))  # last occurrence of each code (0, 1, …)
        newbest = np.maximum(b0, cm[ends] - c[ends] * span + rmin - 1)
        up = newbest > b0
        local.update(zip(itertools.compress(uniq, up), newbest[up].tolist(), strict=True))
        return kept

    def commit(self) -> None:
        self.best.update(self.local)


class _Plan:
    """Everything a chunk will add, applied by :meth:`commit` only after the whole chunk validated."""

    def __init__(self, ex: Extractor):
        self.ex = ex
        self.dedupe = {t: _Dedupe(best) for t, best in ex.best_ranks.items()}
        self.rows: dict[str, list[dict]] = {}  # table → column dicts (appended in order)
        self.counts: list[tuple[str, str, int]] = []  # (table, field or exclusion, n)
        self.lines = 0
        self.pending_seq: dict[str, int] = {}  # rows planned so far per table (for seq of parents)
        self.coerced: list[tuple[str, str, int]] = []  # (table, column, values coerced to null)

    def coerce(self, table: str, column: str, nulled: pa.Array) -> None:
        """Count the rows of ``table`` whose ``column`` a coercion turned into null (``nulled``: a mask)."""
        n = int(pc.sum(nulled).as_py() or 0)
        if n:
            self.coerced.append((table, column, n))

    def seq_base(self, table: str) -> int:
        # flushed at commit time: the next row's _seq, plus the rows planned so far
        return self.ex.builders[table].next_seq + self.pending_seq.get(table, 0)

    def add_rows(self, table: str, objects: pa.Array | None, kept: pa.Array | None, *, simplified: bool = False,
                 **computed) -> np.ndarray:
        """Plan rows of ``table`` from ``objects`` (the kept ones): each path column read at its path (the
        Arrow twin of :class:`.columns.RowReader`), the computed columns (and ``_rank``/``_pseq``) given by
        name, all of them; returns the rows' ``_seq`` values."""
        spec = S.TABLES[table]
        valid = self.ex.valid[table]
        cols = {}
        for c in spec.columns:
            if c.path is None:  # (a computed column's range is checked where it is computed, as in Python)
                cols[c.name] = computed.pop(c.name)
            elif simplified and not c.simplified:
                cols[c.name] = None  # null in every row
            else:
                sent = _f(objects, *c.keys)
                v = _ARROW_COERCE[c.coerce](sent)
                if v.null_count > sent.null_count:  # a coercion made nulls (RowReader counts them too)
                    nulled = pc.and_(pc.is_valid(sent), pc.is_null(v))
                    self.coerce(table, c.name, nulled if kept is None else nulled.filter(kept))
                if c.name in valid:  # every object's value, as the Python path checks every object it reads
                    _within(v, valid[c.name])
                cols[c.name] = v if kept is None else v.filter(kept)
        extra = "_pseq" if table in CHILD_OF else "_rank"
        cols[extra] = computed.pop(extra)
        if computed:
            raise TypeError(f"{table}: {sorted(computed)} are not computed columns")
        return self.add(table, cols)

    def add(self, table: str, cols: dict) -> np.ndarray:
        """Plan rows; returns their ``_seq`` values."""
        n = len(cols["_pseq" if table in CHILD_OF else "_rank"])
        base = self.seq_base(table)
        self.rows.setdefault(table, []).append(cols)
        self.pending_seq[table] = self.pending_seq.get(table, 0) + n
        return np.arange(base, base + n, dtype=np.int64)

    def count(self, table: str, what: str, n: int) -> None:
        if n:
            self.counts.append((table, what, n))

    def commit(self) -> None:
        ex = self.ex
        for table, parts in self.rows.items():
            b = ex.builders[table]
            for cols in parts:
                n = len(cols["_pseq" if table in CHILD_OF else "_rank"])
                if n:
                    b.append_columns({f.name: _as(cols[f.name], f.type, n) for f in b.schema if f.name != "_seq"}, n)
        ex.count_parsed_lines(self.lines)
        for table, what, n in self.counts:
            ex.count(table, what, n)
        for table, column, n in self.coerced:
            ex.coerced[table][column] += n
        for d in self.dedupe.values():
            d.commit()


def _as(v, typ: pa.DataType, n: int) -> pa.Array:
    if v is None:
        return pa.nulls(n, typ)
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if isinstance(v, np.ndarray):
        return pa.array(v, type=typ)
    if v.type != typ:
        v = v.cast(typ)
    return v


# -- sources -----------------------------------------------------------------------------------------


def _prepare(ex: Extractor, source: str, data: pa.Buffer, tab: pa.Table):
    """Validate a clean chunk parsed into ``tab``; returns ``(commit, lines)`` or raises Fallback / an Arrow error."""
    n = tab.num_rows  # one object per line: a clean chunk has no blank line and no "}{" (see _SUSPECT)
    requests = tab.column("request").to_pylist()
    _check(all(type(r) is str for r in requests))
    _check(pc.all(pc.equal(tab.column("status"), 200)).as_py() is True and tab.column("status").null_count == 0)
    body = tab.column("body").combine_chunks()
    _check(body.null_count == 0)
    ranks = np.array([fetched_rank(f) for f in tab.column("fetched_at").to_pylist()], dtype=np.int64)
    plan = _Plan(ex)
    plan.lines = n
    if source == "playlist_items":
        pids = []
        offsets = []
        items = _f(body, "items")
        _check(items.null_count == 0)
        lens = pc.list_value_length(items).to_pylist()
        for req, off, k in zip(requests, _f(body, "offset").to_pylist(), lens, strict=True):
            m = _PLAYLIST_REQUEST.search(req)
            _check(m is not None)
            pids.append(m.group(1))
            offsets.append(_offset(off, req, k))
        _valid_ids(pa.array(pids, _S))
        _items(plan, pa.array(pids, _S), np.array(offsets, dtype=np.int64), items, ranks)
    elif source == "playlists":
        _playlists(plan, body, requests, ranks)
    elif source == "albums":
        # a batch body has no "id"; one with "id": null is a (broken) single body on the Python path
        _check(_f(body, "id").null_count == n and not _contains(data, _NULL_ID))
        albums = _f(body, "albums")
        _check(albums.null_count == 0)
        values, parents, _ = _flat(albums)
        _check(values.null_count == 0)
        _albums(plan, values, ranks[parents], full=True)
    elif source == "artists":
        _check(_f(body, "id").null_count == n and not _contains(data, _NULL_ID))
        arts = _f(body, "artists")
        _check(arts.null_count == 0)
        values, parents, _ = _flat(arts)
        _check(values.null_count == 0)
        _full_artists(plan, values, ranks[parents] + FULL)
    else:
        raise Fallback
    return plan.commit, n


def _offset(off, request: str, n_items: int) -> int:
    """The page offset as :meth:`.entities.Extractor._page_offset` takes it; Fallback where it rejects it."""
    if off is None:
        q = parse_qs(urlsplit(request).query)
        try:
            off = int(q.get("offset", ["0"])[0])
        except ValueError:
            raise Fallback from None
    _check(0 <= off <= page_offset_limit(n_items))
    return off


def _playlists(plan: _Plan, body: pa.StructArray, requests: list[str], ranks: np.ndarray) -> None:
    n = len(body)
    pid = _f(body, "id")
    tracks, items_pg = _f(body, "tracks"), _f(body, "items")
    # _embedded_page: the first of (tracks, items) whose items is an array, else the first present one
    t_ok = pc.is_valid(_f(tracks, "items"))
    i_ok = pc.is_valid(_f(items_pg, "items"))
    use_tracks = pc.or_(t_ok, pc.and_(pc.invert(i_ok), pc.is_valid(tracks)))
    if pc.all(use_tracks).as_py():  # (if_else copies the nested columns: only when needed)
        page = tracks
    elif not pc.any(use_tracks).as_py():
        page = items_pg
    else:
        page = pc.if_else(use_tracks, tracks, items_pg)
    plan.count("playlists", "seen", n)
    total = _f(page, "total")
    _within(total, plan.ex.valid["playlists"]["total_items"])
    page_items = _f(page, "items")
    lens = pc.fill_null(pc.list_value_length(page_items), 0).to_numpy(zero_copy_only=False)
    offs = []
    for req, off, k in zip(requests, _f(page, "offset").to_pylist(), lens.tolist(), strict=True):
        offs.append(_offset(off, req, k) if k else 0)
    kept = plan.dedupe["playlists"].emit(pid, ranks)
    km = pa.array(kept)
    plan.count("playlists", "emitted", int(kept.sum()))
    plan.count("playlists", "duplicate merged", int(n - kept.sum()))
    plan.add_rows("playlists", body, km, playlist_id=pid.filter(km), total_items=total.filter(km), _rank=ranks[kept])
    # items of lines whose page has a non-empty items list (a null page / null items → none)
    _items(plan, pid, np.array(offs, dtype=np.int64), page_items, ranks)


def _items(plan: _Plan, pids: pa.Array, offsets: np.ndarray, items: pa.Array, ranks: np.ndarray) -> None:
    it, parent, within = _flat(items)
    n = len(it)
    plan.count("playlist_items", "seen", n)
    if n == 0:
        return
    _check(it.null_count == 0)
    obj, dev = _f(it, "track"), _f(it, "item")
    if dev.null_count < len(dev):  # (coalesce copies the nested columns: only when needed)
        obj = pc.coalesce(obj, dev)
    _check(obj.null_count == 0)
    _none_true(_f(it, "is_local"))
    _none_true(_f(obj, "is_local"))
    _none_true(pc.equal(_f(obj, "type"), "episode"))
    tid = _f(obj, "id")
    linked = _f(obj, "linked_from", "id")
    _valid_ids_or_null(linked)
    irank = ranks[parent]
    plan.add_rows("playlist_items", it, None, playlist_id=pids.take(pa.array(parent)), position=offsets[parent] + within,
              item_type=pa.array(["track"], _S).take(pa.array(np.zeros(n, dtype=np.int64))), item_id=tid,
              linked_from_id=linked, _rank=irank)
    plan.count("playlist_items", "emitted", n)
    _tracks(plan, obj, irank)


def _timestamps(v: pa.Array) -> pa.Array:
    """``timestamp_us(v, epoch_is_null=True)`` for strings of the shape ``YYYY-MM-DDTHH:MM:SSZ`` (nulls pass)."""
    if v.null_count == len(v):
        return pa.nulls(len(v), pa.timestamp("us", tz="UTC"))
    enc = pc.dictionary_encode(v)
    return _distinct_timestamps(enc.dictionary).take(enc.indices)


def _distinct_timestamps(v: pa.Array) -> pa.Array:
    _check(pc.all(pc.match_substring_regex(v, _TS_RE), skip_nulls=True).as_py() is not False)
    _check(not pc.any(pc.starts_with(v, "0000"), skip_nulls=True).as_py())
    ts = pc.strptime(v, format="%Y-%m-%dT%H:%M:%SZ", unit="us", error_is_null=False)
    _check(pc.all(pc.equal(pc.strftime(ts.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%SZ"), v), skip_nulls=True).as_py() is not False)
    ts = ts.cast(pa.timestamp("us", tz="UTC"))
    return pc.if_else(pc.equal(ts.cast(_I), 0), pa.scalar(None, ts.type), ts)


def _tracks(plan: _Plan, t: pa.Array, ranks: np.ndarray) -> None:
    n = len(t)
    tid = _f(t, "id")
    album = _f(t, "album")
    artists = _f(t, "artists")
    plan.count("tracks", "seen", n)
    # nested albums first (their artists come before the track's own in the artists order)
    has_album = pc.is_valid(album).to_numpy(zero_copy_only=False)
    album_pos = np.flatnonzero(has_album)
    al = album if album.null_count == 0 else album.filter(pa.array(has_album))
    album_id = _f(album, "id")  # null where the album is null
    kept = plan.dedupe["tracks"].emit(tid, ranks)
    k = int(kept.sum())
    plan.count("tracks", "emitted", k)
    plan.count("tracks", "duplicate merged", n - k)
    km = pa.array(kept)
    # artists of the track: one artists candidate each; links only for kept tracks
    tva, tpar, tpos = _flat(artists)
    _check(tva.null_count == 0)
    # albums (simplified) and their artists
    a_vals, a_par = _albums(plan, al, ranks[album_pos], full=False, defer_artists=True)
    seq = plan.add_rows("tracks", t, km, track_id=tid.filter(km), album_id=album_id.filter(km), _rank=ranks[kept])
    _artist_links(plan, "track_artists", "track_id", tid, kept, seq, _f(tva, "id"), tpar, tpos)
    # artists candidates in Python order: per item, the album's artists then the track's artists
    item_of_album_artist = album_pos[a_par]
    keys = np.concatenate([item_of_album_artist * 2, tpar * 2 + 1])
    order = np.argsort(keys, kind="stable")
    both = pa.concat_arrays([a_vals, tva]) if len(a_vals) else tva
    both_ranks = np.concatenate([ranks[item_of_album_artist], ranks[tpar]])
    _simple_artists(plan, both.take(pa.array(order)), both_ranks[order])


def _artist_links(plan: _Plan, table: str, parent_col: str, parent_ids: pa.Array, kept: np.ndarray, seq: np.ndarray,
                  artist_ids: pa.Array, parent: np.ndarray, position: np.ndarray) -> None:
    """``track_artists``/``album_artists`` rows of the kept parents only, each pointing at its parent's
    planned row (``_pseq``); ``parent``/``position`` index every artist into its parent's list."""
    pseq = np.full(len(kept), -1, dtype=np.int64)
    pseq[kept] = seq
    lk = kept[parent]
    plan.add_rows(table, None, None, **{parent_col: parent_ids.take(pa.array(parent[lk]))},
              artist_id=artist_ids.filter(pa.array(lk)), position=position[lk], _pseq=pseq[parent[lk]])
    plan.count(table, "seen", int(lk.sum()))
    plan.count(table, "emitted", int(lk.sum()))


def _albums(plan: _Plan, a: pa.Array, base_ranks: np.ndarray, full: bool, defer_artists: bool = False):
    """Album candidates (``album(a, full)``); returns their artists (values, parent album index)."""
    n = len(a)
    ranks = base_ranks + FULL if full else base_ranks
    plan.count("albums", "seen", n)
    aid = _f(a, "id")
    artists = _f(a, "artists")
    av, apar, apos = _flat(artists)
    _check(av.null_count == 0)
    sent = _f(a, "release_date")
    days, precision = _release_dates(sent, _f(a, "release_date_precision"))
    _within(days, plan.ex.valid["albums"]["release_date"])  # every copy's, as for the path columns
    kept = plan.dedupe["albums"].emit(aid, ranks)
    k = int(kept.sum())
    plan.count("albums", "emitted", k)
    plan.count("albums", "duplicate merged", n - k)
    km = pa.array(kept)
    if days.null_count > sent.null_count:  # "0000", "2007-13": kept as null (release_date_raw has it)
        plan.coerce("albums", "release_date", pc.and_(pc.is_valid(sent), pc.is_null(days)).filter(km))
    seq = plan.add_rows("albums", a, km, album_id=aid.filter(km), release_date=days.filter(km),
                    release_date_precision=precision.filter(km), _rank=ranks[kept])
    _artist_links(plan, "album_artists", "album_id", aid, kept, seq, _f(av, "id"), apar, apos)
    if not defer_artists:
        _simple_artists(plan, av, base_ranks[apar])
    return av, apar


def _release_dates(raw: pa.Array, prec: pa.Array) -> tuple[pa.Array, pa.Array]:
    """:func:`.coerce.release_date` per distinct (value, precision) pair."""
    n = len(raw)
    if n == 0:
        return pa.array([], pa.date32()), pa.array([], _S)
    er, ep = pc.dictionary_encode(raw), pc.dictionary_encode(prec)
    rv, pv = er.dictionary.to_pylist() + [None], ep.dictionary.to_pylist() + [None]
    ri = pc.fill_null(er.indices, len(rv) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    pi = pc.fill_null(ep.indices, len(pv) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    pairs, idx = np.unique(ri * len(pv) + pi, return_inverse=True)
    days, precs = [], []
    for code in pairs.tolist():
        try:
            d, pr = release_date(rv[code // len(pv)], pv[code % len(pv)])
        except Bad:
            raise Fallback from None
        days.append(d)
        precs.append(pr)
    idx = pa.array(idx.reshape(-1).astype(np.int64))
    return pa.array(days, pa.date32()).take(idx), pa.array(precs, _S).take(idx)


def _simple_artists(plan: _Plan, a: pa.Array, ranks: np.ndarray) -> None:
    n = len(a)
    plan.count("artists", "seen", n)
    if n == 0:
        return
    arid = _f(a, "id")
    kept = plan.dedupe["artists"].emit(arid, ranks)
    k = int(kept.sum())
    plan.count("artists", "emitted", k)
    plan.count("artists", "duplicate merged", n - k)
    km = pa.array(kept)
    plan.add_rows("artists", a, km, simplified=True, artist_id=arid.filter(km), _rank=ranks[kept])


def _full_artists(plan: _Plan, a: pa.Array, ranks: np.ndarray) -> None:
    n = len(a)
    plan.count("artists", "seen", n)
    if n == 0:
        return
    arid = _f(a, "id")
    genres = _f(a, "genres")
    gv, gpar, _ = _flat(genres)
    if len(gv):
        _check(gv.null_count == 0 and pc.min(pc.utf8_length(gv)).as_py() > 0)
    kept = plan.dedupe["artists"].emit(arid, ranks)
    k = int(kept.sum())
    plan.count("artists", "emitted", k)
    plan.count("artists", "duplicate merged", n - k)
    km = pa.array(kept)
    seq = plan.add_rows("artists", a, km, artist_id=arid.filter(km), _rank=ranks[kept])
    aseq = np.full(n, -1, dtype=np.int64)
    aseq[kept] = seq
    lk = kept[gpar]
    plan.add_rows("artist_genres", None, None, artist_id=arid.take(pa.array(gpar[lk])), genre=gv.filter(pa.array(lk)),
              _pseq=aseq[gpar[lk]])
    plan.count("artist_genres", "seen", int(lk.sum()))
    plan.count("artist_genres", "emitted", int(lk.sum()))
