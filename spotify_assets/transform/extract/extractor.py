"""The record-by-record extraction of one partition: raw lines in; candidate rows, quarantine and counts out.

One :class:`Extractor` per partition. It is fed raw lines source by source (:meth:`Extractor.feed_line`) and
appends *candidate* rows to column builders (:mod:`.builders`: chunks of ``chunk_rows`` rows become Arrow
record batches, so no partition's worth of Python dicts is ever alive at once). What a body becomes is
decided by the row rules of :mod:`.music` and :mod:`.listening` (each module's docstring lists its
decisions); this module holds what they share: the envelope checks, the quarantine, the per-source
accounting and the early dedupe.

Early dedupe: an occurrence whose key was already kept with an equal or higher rank cannot win the final
dedupe; it is counted as "duplicate merged" right away and its other fields are not validated (so a
malformed copy of an entity already seen is not quarantined).

The Arrow fast path (:mod:`spotify_assets.transform.fast`) validates whole chunks of clean lines and writes
their rows through a small interface of the extractor, never into its state: :meth:`Extractor.next_seq`,
:meth:`Extractor.known_ranks` / :meth:`Extractor.raise_ranks` (the early-dedupe state both paths share),
:meth:`Extractor.add_rows`, :meth:`Extractor.count`, :meth:`Extractor.count_coerced` and
:meth:`Extractor.count_parsed_lines` (see :class:`spotify_assets.transform.fast.plan.CandidateSink`).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import orjson
import pyarrow as pa

from ... import tables as S
from ..columns import RowReader, bounds
from ..records import (
    SOURCE_TABLE,
    Envelope,
    QuarantineRecord,
    Reject,
    SourceCount,
    TableCount,
    parse_envelope,
    restore_records,
)
from .builders import DEDUPED, Builder
from .listening import ListeningRows
from .music import MusicRows


class Extractor(MusicRows, ListeningRows):
    """Feeds raw lines of one partition into the tables' builders, the quarantine and the accounting.

    The row rules are the methods of :class:`.music.MusicRows` and :class:`.listening.ListeningRows`;
    they use the state set up here (builders, readers, the current line's envelope and counts).
    """

    def __init__(self, chunk_rows: int = 50_000, partition: str | None = None):
        self.partition = partition
        self.builders = {t: Builder(t, chunk_rows) for t in S.TABLES}
        self.quarantine: dict[str, list[QuarantineRecord]] = defaultdict(list)
        self.sources: dict[str, SourceCount] = {}
        self.env: Envelope | None = None
        self._sc: SourceCount | None = None
        self.task = 0
        self._line_q: list[QuarantineRecord] = []  # entity-level quarantine of the current line
        # Early dedupe (keys only): the best rank seen so far per entity key. A candidate whose rank is
        # not higher can never win the final dedupe (same rank → the earlier row wins), so it is counted
        # as "duplicate merged" and not stored. Memory: one small int per distinct key. The fast path
        # reads and raises it through known_ranks()/raise_ranks().
        self._best: dict[str, dict[str, int]] = {t: {} for t in DEDUPED}
        self._flushers = [b.maybe_flush for b in self.builders.values()]
        # valid ranges per table and column, relative to the partition day where they say so
        self.valid = {t: bounds(spec, partition) for t, spec in S.TABLES.items()}
        self._rows = {t: RowReader(spec, valid=self.valid[t]) for t, spec in S.TABLES.items()}
        self._simple_artist = RowReader(S.TABLES["artists"], simplified=True, valid=self.valid["artists"])
        # values coerced to null in emitted rows, per table and column, beyond the readers' own counts
        # (computed columns, and the fast path's rows): see coerced_counts()
        self._coerced: dict[str, Counter] = defaultdict(Counter)
        self._day_bounds: dict[str, tuple[int, int] | None] = {}  # raw file -> its dt= day in UTC µs

    def coerced_counts(self) -> dict[str, dict[str, int]]:
        """``{table: {column: n}}``: values of the emitted rows that a coercion turned into null."""
        out: dict[str, Counter] = defaultdict(Counter)
        for t, reader in self._rows.items():
            out[t].update(reader.coerced)
        out["artists"].update(self._simple_artist.coerced)
        for t, c in self._coerced.items():
            out[t].update(c)
        return {t: dict(sorted(c.items())) for t, c in sorted(out.items()) if +c}


    # -- context -------------------------------------------------------------------------------------
    def begin_task(self, task: int, source: str) -> None:
        """Start a raw file: ``task`` is its index in the partition's processing order."""
        self.task = task
        for b in self.builders.values():
            b.start_task(task)
        self.begin_source(source)

    def begin_source(self, source: str) -> None:
        self.source = source
        self._sc = self.sources.setdefault(source, SourceCount())
        t = self._sc.tables
        self._c: dict[str, TableCount] = {name: t[name] for name in S.TABLES}

    def count_parsed_lines(self, n: int) -> None:
        """``n`` lines of the current source were parsed (by the fast path)."""
        self._sc.lines += n
        self._sc.parsed += n

    def count(self, table: str, what: str, n: int) -> None:
        """Add ``n`` to ``table``'s ``seen``/``emitted`` count of the current source, or to an exclusion."""
        c = self._c[table]
        if what in ("seen", "emitted"):
            setattr(c, what, getattr(c, what) + n)
        else:
            c.excluded[what] += n

    def _q(self, table: str, reason: str, record) -> None:
        env = self.env
        q = QuarantineRecord(table, reason, env.file, env.line_no, env.request, record, self.task)
        self.quarantine[table].append(q)
        self._line_q.append(q)
        self._c[table].quarantined += 1

    # -- lines ---------------------------------------------------------------------------------------
    def feed_line(self, file: str, line_no: int, data: bytes) -> None:
        sc = self._sc
        sc.lines += 1
        table = SOURCE_TABLE[self.source]
        try:
            env = parse_envelope(file, line_no, data)
        except Reject as e:
            self._q_line(table, str(e), file, line_no, None, data.decode("utf-8", "replace"))
            return
        self.env = env
        body = env.body
        if env.status != 200:
            if body is None or type(body) in (dict, str):
                sc.excluded["non-200 response"] += 1
            else:
                self._q_line(table, f"non-200 response with a malformed body ({type(body).__name__})",
                             file, line_no, env.request, self._verbatim(env, data, body))
            return
        if type(body) is not dict:
            self._q_line(table, f"body is a JSON {type(body).__name__}, expected object", file, line_no,
                         env.request, self._verbatim(env, data, body))
            return
        if "error" in body and "id" not in body:
            self._q_line(table, "error body with status 200", file, line_no, env.request, self._verbatim(env, data, body))
            return
        try:
            getattr(self, f"_body_{self.source}")(body)
        except Reject as e:
            self._q_line(table, str(e), file, line_no, env.request, self._verbatim(env, data, body))
            return
        finally:
            if env.blanked and self._line_q:
                restore_records(data, self._line_q)
            self._line_q = []
            for flush in self._flushers:
                flush()
        sc.parsed += 1

    @staticmethod
    def _verbatim(env: Envelope, data: bytes, body):
        """The body as received (markets included) for a quarantined line."""
        if not env.blanked:
            return body
        try:
            return orjson.loads(data).get("body", body)
        except (orjson.JSONDecodeError, AttributeError):
            return body

    def quarantine_unreadable(self, file: str, line_no: int, reason: str, record: dict) -> None:
        """The rest of a raw file cannot be decoded: one quarantined "line" for it (``record`` describes it)."""
        self._sc.lines += 1
        self._q_line(SOURCE_TABLE[self.source], reason, file, line_no, None, record)

    def _q_line(self, table, reason, file, line_no, request, record) -> None:
        self.quarantine[table].append(QuarantineRecord(table, reason, file, line_no, request, record, self.task))
        self._sc.quarantined += 1


    # -- shared by the row rules ---------------------------------------------------------------------
    def _in_range(self, table: str, column: str, v) -> None:
        """``Bad`` when the computed value ``v`` of ``table.column`` is outside the column's valid range."""
        if v is not None:
            self.valid[table][column].check(v)

    def _is_dup(self, table: str, key: str, rank: int) -> bool:
        best = self._best[table]
        b = best.get(key)
        if b is not None and b >= rank:
            self._c[table].excluded["duplicate merged"] += 1
            return True
        best[key] = rank
        return False

    # -- the fast path's interface (spotify_assets.transform.fast.plan.CandidateSink) ----------------
    def next_seq(self, table: str) -> int:
        """The ``_seq`` the next row of ``table`` will get (whichever path adds it)."""
        return self.builders[table].next_seq

    def known_ranks(self, table: str, keys: list[str]) -> dict[str, int]:
        """The best rank seen so far of each of ``keys`` that was seen before (``table``: one of :data:`DEDUPED`)."""
        best = self._best[table]
        return {k: best[k] for k in best.keys() & keys} if best else {}

    def raise_ranks(self, table: str, ranks: dict[str, int]) -> None:
        """Record kept occurrences' ranks (each higher than the key's best so far, as :meth:`known_ranks` said)."""
        self._best[table].update(ranks)

    def add_rows(self, table: str, columns: dict[str, pa.Array], n: int) -> None:
        """Append ``n`` candidate rows of ``table`` given as Arrow columns (every column of the table's
        candidate schema but ``_seq``, which continues from :meth:`next_seq`), in order."""
        self.builders[table].append_columns(columns, n)

    def count_coerced(self, table: str, column: str, n: int) -> None:
        """``n`` values of ``table.column`` in rows added by :meth:`add_rows` were coerced to null."""
        self._coerced[table][column] += n
