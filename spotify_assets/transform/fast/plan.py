"""What one chunk adds, planned in full before anything is written, and the interface it is written through.

A chunk of the fast path is validated completely before any of its rows, counts or dedupe decisions
reach the extractor: :class:`ChunkPlan` collects them, and :meth:`ChunkPlan.commit` hands them over
through :class:`CandidateSink` — the small interface the record-by-record
:class:`~spotify_assets.transform.extract.extractor.Extractor` offers for this — so both paths share the
early-dedupe state and the ``_seq`` order without either reaching into the other's fields.
"""

from __future__ import annotations

import itertools
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ... import tables as S
from ..columns import Bounds
from ..extract.builders import CHILD_OF, DEDUPED, candidate_schema
from .arrow import ARROW_COERCE, as_column, check, field, valid_ids, within

_S = pa.string()


class CandidateSink(Protocol):
    """Where the fast path's candidate rows go (implemented by the extractor).

    A chunk's rows are added only after the whole chunk validated, in the order the record-by-record
    path would have added them; ``_seq`` continues the table's order whichever path added the rows before.
    """

    valid: dict[str, dict[str, Bounds]]  # valid range per table and column (the partition's)

    def feed_line(self, file: str, line_no: int, data: bytes) -> None:
        """The record-by-record path, for a chunk that is not clean."""

    def next_seq(self, table: str) -> int:
        """The ``_seq`` the next row of ``table`` will get."""

    def known_ranks(self, table: str, keys: list[str]) -> dict[str, int]:
        """Early dedupe: the best rank seen so far of each of ``keys`` seen before."""

    def raise_ranks(self, table: str, ranks: dict[str, int]) -> None:
        """Early dedupe: ``ranks`` of kept occurrences, each above the key's best so far."""

    def add_rows(self, table: str, columns: dict[str, pa.Array], n: int) -> None:
        """``n`` rows of ``table``: every candidate column but ``_seq``."""

    def count(self, table: str, what: str, n: int) -> None:
        """``n`` more ``seen``/``emitted`` rows of ``table`` in the current source, or an exclusion ``what``."""

    def count_coerced(self, table: str, column: str, n: int) -> None:
        """``n`` values of added rows' ``table.column`` that a coercion turned into null."""

    def count_parsed_lines(self, n: int) -> None:
        """``n`` lines of the current source were read and parsed by the fast path."""


class ChunkDedupe:
    """Early keys-only dedupe of a chunk's occurrences against the ranks the sink has seen (:meth:`CandidateSink.known_ranks`),
    raised in the sink on commit (:meth:`CandidateSink.raise_ranks`)."""

    def __init__(self, sink: CandidateSink, table: str):
        self.sink = sink
        self.table = table
        self.local: dict = {}  # this chunk's raised ranks, handed to the sink on commit

    def emit(self, keys: pa.Array, ranks: np.ndarray) -> np.ndarray:
        """Mask of the occurrences kept (rank above every earlier one of the key, earlier chunks included).
        Also checks that every key is a valid Spotify ID (on the distinct values: cheaper than per row)."""
        n = len(keys)
        if n == 0:
            return np.zeros(0, dtype=bool)
        check(keys.null_count == 0)
        enc = pc.dictionary_encode(keys)
        valid_ids(enc.dictionary)
        codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        uniq = enc.dictionary.to_pylist()
        lo = -(1 << 62)
        local = self.local
        b0 = np.full(len(uniq), lo, dtype=np.int64)
        known = self.sink.known_ranks(self.table, uniq)  # earlier chunks' and lines' best ranks
        if local:  # this chunk's (never lower than the sink's)
            known.update((k, local[k]) for k in local.keys() & uniq)
        if known:  # keys seen before this call (usually few): their best rank so far
            keys = list(known)
            at = pc.index_in(pa.array(keys, _S), value_set=enc.dictionary).to_numpy(zero_copy_only=False)
            b0[at] = [known[k] for k in keys]
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
        if self.local:
            self.sink.raise_ranks(self.table, self.local)


class ChunkPlan:
    """Everything a chunk will add, applied by :meth:`commit` only after the whole chunk validated."""

    def __init__(self, sink: CandidateSink):
        self.sink = sink
        self.dedupe = {t: ChunkDedupe(sink, t) for t in DEDUPED}
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
        return self.sink.next_seq(table) + self.pending_seq.get(table, 0)

    def add_rows(self, table: str, objects: pa.Array | None, kept: pa.Array | None, *, simplified: bool = False,
                 **computed) -> np.ndarray:
        """Plan rows of ``table`` from ``objects`` (the kept ones): each path column read at its path (the
        Arrow twin of :class:`~..columns.RowReader`), the computed columns (and ``_rank``/``_pseq``) given by
        name, all of them; returns the rows' ``_seq`` values."""
        spec = S.TABLES[table]
        valid = self.sink.valid[table]
        cols = {}
        for c in spec.columns:
            if c.path is None:  # (a computed column's range is checked where it is computed, as in Python)
                cols[c.name] = computed.pop(c.name)
            elif simplified and not c.simplified:
                cols[c.name] = None  # null in every row
            else:
                sent = field(objects, *c.keys)
                v = ARROW_COERCE[c.coerce](sent)
                if v.null_count > sent.null_count:  # a coercion made nulls (RowReader counts them too)
                    nulled = pc.and_(pc.is_valid(sent), pc.is_null(v))
                    self.coerce(table, c.name, nulled if kept is None else nulled.filter(kept))
                if c.name in valid:  # every object's value, as the Python path checks every object it reads
                    within(v, valid[c.name])
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
        sink = self.sink
        for table, parts in self.rows.items():
            schema = candidate_schema(table)
            for cols in parts:
                n = len(cols["_pseq" if table in CHILD_OF else "_rank"])
                if n:
                    sink.add_rows(table, {f.name: as_column(cols[f.name], f.type, n) for f in schema if f.name != "_seq"}, n)
        sink.count_parsed_lines(self.lines)
        for table, what, n in self.counts:
            sink.count(table, what, n)
        for table, column, n in self.coerced:
            sink.count_coerced(table, column, n)
        for d in self.dedupe.values():
            d.commit()
