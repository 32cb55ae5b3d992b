"""Candidate rows → Arrow: the column builders of the transformed tables, and the schemas they write.

Every candidate row of an entity table carries ``_rank`` (full object over simplified, then latest
``fetched_at``) and ``_seq`` (processing order: source, file, line, position); link tables carry ``_pseq``,
the ``_seq`` of the parent row they came from, so after dedupe only the chosen parent's links survive
(see :mod:`spotify_assets.transform.dedupe`).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ... import tables as S

FULL = 1 << 40  # rank bonus of a full object over a simplified one (ranks are epoch seconds otherwise)

def output_schema(table: str) -> pa.Schema:
    """The schema of a transformed table as written (the contract's columns, the table's description)."""
    spec = S.TABLES[table]
    return spec.schema.with_metadata({"description": spec.description})


PARENT_EXTRA = [pa.field("_rank", pa.int64()), pa.field("_seq", pa.int64())]
CHILD_EXTRA = [pa.field("_pseq", pa.int64()), pa.field("_seq", pa.int64())]
CHILD_OF = {"track_artists": "tracks", "album_artists": "albums", "artist_genres": "artists"}
# The entity tables deduped early by key (the link tables follow their parent rows).
DEDUPED = ("playlists", "tracks", "albums", "artists")


def candidate_schema(table: str) -> pa.Schema:
    """A table's candidate rows: its written columns, then ``_rank``/``_pseq`` and ``_seq``."""
    return pa.schema(list(output_schema(table)) + (CHILD_EXTRA if table in CHILD_OF else PARENT_EXTRA))


class Builder:
    """Rows (tuples, without ``_seq``) appended to :attr:`rows`; Arrow record batches out.

    Hot paths append to ``rows`` directly (``seq = builder.seq_base + len(builder.rows)``);
    :meth:`maybe_flush` is called between lines, so ``seq_base`` is constant while a line is processed.
    ``_seq`` is ``task << 40 | n``: the raw file's index in the partition's processing order, then the
    row's order within that file — a global order no matter which process handled the file.
    """

    TASK_SHIFT = 40

    def __init__(self, table: str, chunk_rows: int):
        self.table = table
        self.schema = candidate_schema(table)
        self.chunk_rows = chunk_rows
        self.rows: list[tuple] = []
        self.batches: list[pa.RecordBatch] = []
        self.seq_base = 0
        self.count = 0  # rows flushed

    def start_task(self, task: int) -> None:
        self.flush()
        self.seq_base = task << self.TASK_SHIFT

    @property
    def n(self) -> int:
        return self.count + len(self.rows)

    def maybe_flush(self) -> None:
        if len(self.rows) >= self.chunk_rows:
            self.flush()

    def flush(self) -> None:
        rows = self.rows
        if not rows:
            return
        fields = list(self.schema)
        cols = list(zip(*rows, strict=True))
        self._add_batch([pa.array(c, type=f.type) for c, f in zip(cols, fields[:-1], strict=True)], len(rows))
        rows.clear()

    @property
    def next_seq(self) -> int:
        """The ``_seq`` of the next row, whether appended to :attr:`rows` or by :meth:`append_columns`."""
        return self.seq_base + len(self.rows)

    def append_columns(self, columns: dict[str, pa.Array], n: int) -> None:
        """Append ``n`` rows given as Arrow columns (every column of the schema but ``_seq``), in order."""
        self.flush()
        self._add_batch([columns[f.name] for f in self.schema if f.name != "_seq"], n)

    def _add_batch(self, arrays: list[pa.Array], n: int) -> None:
        """Close ``n`` rows given as ``arrays`` (every column but ``_seq``) into a batch, numbering their ``_seq``."""
        arrays.append(pa.array(np.arange(self.seq_base, self.seq_base + n, dtype=np.int64)))
        self.batches.append(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.seq_base += n
        self.count += n

    def to_table(self) -> pa.Table:
        self.flush()
        return pa.Table.from_batches(self.batches, schema=self.schema)

