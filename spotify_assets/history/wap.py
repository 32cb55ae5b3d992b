"""Write–audit–publish of a listening history table, month by month, in one run.

The same contract as a day of the daily tables (:mod:`spotify_assets.publish.wap`, :mod:`spotify_assets.lake.publication`),
for tables partitioned by month:

1. **Stage**: the whole table is written into the run's staging folder, one Parquet object per month
   (``_staging/runs/<run id>/transformed/<table>/month=YYYY-MM/part-00000.parquet``), rows in time order,
   plus its quarantine file (published whole: a history record's month may be unknown).
2. **Audit**: the checks (:mod:`.audit`) read the staged objects back.
3. **Publish**: each month's manifest switches to its new version — a month whose rows did not change keeps
   its version (content-named: re-importing changes nothing) — or, on a blocking failure, nothing changes
   and the staged folder is kept with a ``_HELD_BACK.json`` note.

A month published before that has no row any more is published empty (a manifest with no file), so no
reader keeps seeing rows the table no longer has.
"""

from __future__ import annotations

import concurrent.futures as cf
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..lake.parquet import WriteResult, read_published, read_table_file, write_table_file
from ..lake.publication.manifests import Manifests, published_partitions
from ..lake.publication.publish import Published, publish
from ..lake.publication.staging import Staging, clean_staging
from ..lake.quarantine import read_quarantine_file, write_quarantine_file
from ..lake.storage import Lake
from ..tables import TableSpec


@dataclass
class StagedTable:
    """A history table staged by month: what the audit, the publication and the UI need."""

    spec: TableSpec
    staging: Staging
    months: dict[str, WriteResult]  # month → its staged object
    emptied: list[str] = field(default_factory=list)  # months published before, without rows now
    quarantined: int = 0

    @property
    def rows(self) -> int:
        return sum(w.rows for w in self.months.values())

    @property
    def bytes(self) -> int:
        return sum(w.bytes for w in self.months.values())

    def read(self) -> pa.Table:
        """The staged rows, all months (what the audit reads)."""
        parts = [read_table_file(self.staging.lake, w.path) for _, w in sorted(self.months.items())]
        return pa.concat_tables(parts) if parts else self.spec.schema.empty_table()

    def read_quarantine(self) -> list[dict]:
        return read_quarantine_file(self.staging.lake, self.staging.file("quarantine", self.spec.name, None))


def months_of(table: pa.Table) -> list[tuple[str, int, int]]:
    """``(month, offset, length)`` of each month's rows in ``table`` (sorted by time, with a ``dt`` column)."""
    if table.num_rows == 0:
        return []
    months = pc.utf8_slice_codeunits(table["dt"], 0, 7).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.flatnonzero(months[1:] != months[:-1]) + 1))
    ends = np.append(starts[1:], len(months))
    return [(str(months[s]), int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def io_threads(lake: Lake) -> int:
    """Threads for per-month object work: S3 requests wait on the network (each month is a few requests in
    sequence, months are independent); local files need no more than the two cores."""
    return 2 if lake.is_local else 16


def new_staging(lake: Lake, run_id: str, *, other_runs_in_progress: bool = False) -> Staging:
    """The run's multi-partition staging folder, emptied, after removing what dead runs left."""
    staging = Staging(lake, None, run_id)
    clean_staging(lake, None, keep_run=run_id, abandoned_after_s=3600.0 if other_runs_in_progress else 0.0)
    staging.reset()
    return staging


def stage_table(staging: Staging, spec: TableSpec, table: pa.Table, quarantine: list[dict] | None = None) -> StagedTable:
    """Write ``table`` (``spec``'s schema, sorted by time) month by month, and its quarantine records, into
    ``staging``."""
    lake = staging.lake
    slices = months_of(table)
    with cf.ThreadPoolExecutor(max_workers=io_threads(lake)) as pool:  # pyarrow's writer releases the GIL
        futures = {
            month: pool.submit(write_table_file, lake, staging.file("transformed", spec.name, month), spec,
                               table.slice(offset, length), presorted=True)
            for month, offset, length in slices
        }
        months = {month: f.result() for month, f in futures.items()}
    before = published_partitions(lake, "transformed", spec.name, key="month")
    emptied = [m for m in before if m not in months]
    staged = StagedTable(spec, staging, months, emptied)
    if quarantine is not None:
        write_quarantine_file(lake, staging.file("quarantine", spec.name, None), quarantine)
        staged.quarantined = len(quarantine)
    return staged


def publish_table(staged: StagedTable, *, with_quarantine: bool) -> list[Published]:
    """Switch every month (and the quarantine, published whole) to the staged version: one manifest switch
    per month, months in parallel (each is independent; on S3 each takes a few requests in sequence)."""
    name = staged.spec.name
    items: list[tuple[str, str, str | None]] = [("transformed", name, m) for m in sorted([*staged.months, *staged.emptied])]
    if with_quarantine:
        items.append(("quarantine", name, None))
    with cf.ThreadPoolExecutor(max_workers=io_threads(staged.staging.lake)) as pool:
        done = pool.map(lambda item: publish(staged.staging, [item])[0], items)
        return list(done)


def summarize_publication(published: list[Published]) -> dict[str, int]:
    """How many months were created, replaced (new version) or unchanged."""
    counts = {"created": 0, "replaced": 0, "unchanged": 0}
    for p in published:
        if p.zone == "transformed":
            counts[p.action] += 1
    return counts


def read_history(lake: Lake, spec: TableSpec, columns: list[str] | None = None) -> pa.Table:
    """Every published month of a history table (what consumers read), in month order."""
    manifests = Manifests(lake)  # one listing of the table's months, for both the months and the read
    months = manifests.partitions("transformed", spec.name, key="month")
    return read_published(lake, "transformed", spec.name, months, columns=columns, schema=spec.schema,
                          manifests=manifests).table
