"""``transform_partition``: one day's raw zone → the transformed tables + quarantine + accounting.

Streams every raw file of the raw sources (see :mod:`.records`), extracts candidate rows in chunks
(:mod:`.extract`, and the Arrow fast path :mod:`.fast`), dedupes per key across the whole partition in Arrow (:mod:`.dedupe`), quarantines the
rows that name a quarantined record (:mod:`.cascade`), checks the accounting invariant and, given a :class:`~spotify_assets.lake.publication.staging.Staging`, writes the tables'
Parquet files and the quarantine files into that run's staging folder (publishing them is the caller's
step, after the audit).

Accounting (``TransformResult.accounting``)::

    {"sources": {<source>: {"lines", "parsed", "quarantined", "excluded": {reason: n},
                            "tables": {<table>: {"seen", "emitted", "quarantined", "excluded": {reason: n}}}}},
     "tables":  {<table>: {"candidates", "rows", "duplicates_merged", "parent_quarantined", "quarantined",
                           "coerced_to_null": {column: n}}},
     "files":   {<raw file>: {"source", "bytes", "lines", "damage": None | {"reason", "after_line",
                              "compressed_offset", "decompressed_offset", "partial_line_bytes",
                              "undecoded_bytes", "loss_measured"}}},
     "unread_files": [{"path", "size", "reason"}]}

Invariants (checked; :class:`~.records.AccountingError` if broken):

* per source: ``lines == parsed + quarantined + sum(excluded)`` (line exclusions: "non-200 response"),
  and ``lines`` is the sum over its files of their ``lines`` plus one per damaged file (the undecodable
  rest of a damaged gzip file is one quarantined "line": reason, offsets and the cut line);
* per source and table: ``seen == emitted + quarantined + sum(excluded)`` (entity exclusions: "null item",
  "null batch entry", "local track", "duplicate merged");
* per table: ``candidates == rows + duplicates_merged + parent_quarantined`` where candidates are the valid
  occurrences (rows stored for the final dedupe — checked equal to the sources' ``emitted`` — plus
  occurrences dropped early as "duplicate merged" because an earlier one with an equal or higher rank was
  already kept); duplicates merged include the links of a parent row that lost the dedupe;
  ``parent_quarantined`` rows were chosen but name a quarantined record (:mod:`.cascade`);
* the quarantine holds exactly the quarantined lines + entities + parent-quarantined rows.

``coerced_to_null`` counts, per column, the values of emitted rows that a coercion turned into null: a
release date that is not a calendar date (``"0000"``, ``"0000-00-00"``; the text stays in
``release_date_raw``), a timestamp of exactly the epoch (Spotify's "unknown"). ``loss_measured`` is False
when a damaged file ends before its gzip data does (cut short, empty): ``undecoded_bytes`` is then 0 and
what the missing part held cannot be known.

Files below a partition folder that the raw zone's naming rule does not read (see
:func:`spotify_assets.lake.raw.list_raw_files`) are listed in ``unread_files``, never silently skipped.

Broken envelopes (not JSON, not an object, no request/status/body, error body with status 200, body of the
wrong shape) are quarantined under the source's main table (``records.SOURCE_TABLE``).
"""

from __future__ import annotations

import concurrent.futures as cf
import gc
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pyarrow as pa

from spotify_assets.lake.gzip_stream import GzipDamage
from spotify_assets.lake.parquet import WriteResult, write_table_file
from spotify_assets.lake.paths import RAW_SOURCES, validate_partition
from spotify_assets.lake.publication.staging import Staging
from spotify_assets.lake.quarantine import write_quarantine_file
from spotify_assets.lake.raw import list_raw_files
from spotify_assets.lake.storage import Lake

from .. import tables as S
from .cascade import quarantine_dependents
from .dedupe import dedupe_entities, dedupe_links
from .extract.builders import CHILD_OF, output_schema
from .extract.extractor import Extractor
from .fast.reader import FAST_SOURCES, FastReader
from .records import AccountingError, SourceCount, iter_file_lines

# Full objects first, so on equal rank (same fetched_at) the earliest-seen full object wins; the listening
# sources after the catalog's (their tracks and artists are full objects too).
SOURCE_ORDER = ("albums", "artists", "tracks", "playlists", "playlist_items", "top_artists", "top_tracks",
                "saved_tracks", "plays")
assert sorted(SOURCE_ORDER) == sorted(RAW_SOURCES)


@dataclass
class TransformResult:
    partition: str
    tables: dict[str, pa.Table]  # table name → rows as written (output_schema(table), sorted by key)
    quarantine: dict[str, list[dict]]  # table name → quarantine records (see lake/quarantine.py)
    accounting: dict
    raw_files: int = 0
    raw_bytes: int = 0  # compressed bytes of the raw files read
    staging: Staging | None = None  # where the tables were written, when they were
    written: dict[str, WriteResult] = field(default_factory=dict)  # table → staged Parquet file
    quarantine_written: dict[str, str | None] = field(default_factory=dict)  # table → staged file or None
    unread_files: list[dict] = field(default_factory=list)  # {"path", "size", "reason"}: not read, see plan_tasks

    @property
    def row_counts(self) -> dict[str, int]:
        return {t: tab.num_rows for t, tab in self.tables.items()}

    @property
    def quarantined(self) -> int:
        return sum(len(v) for v in self.quarantine.values())

    @property
    def damaged_files(self) -> dict[str, dict]:
        """Raw file → its ``damage`` entry (see the accounting), for the files whose gzip data is damaged."""
        return {p: f["damage"] for p, f in self.accounting["files"].items() if f["damage"] is not None}

    @property
    def raw_sources(self) -> dict[str, dict]:
        """Per raw source read: ``{"files", "bytes", "lines"}`` (compressed bytes; non-empty lines read)."""
        out: dict[str, dict] = {}
        for f in self.accounting["files"].values():
            s = out.setdefault(f["source"], {"files": 0, "bytes": 0, "lines": 0})
            s["files"] += 1
            s["bytes"] += f["bytes"]
            s["lines"] += f["lines"]
        return out

    @property
    def raw_losses(self) -> list[dict]:
        """What could not be read of each damaged raw file, in the audit's and the UI's terms:
        ``{"file", "source", "reason", "file_bytes", "lines_read", "lost_bytes", "cut_line_bytes",
        "loss_measured"}`` — ``lost_bytes`` compressed bytes never decoded, ``cut_line_bytes`` the line the
        damage cut (decompressed), ``loss_measured`` False when the file ends early and the loss is unknown."""
        return [{"file": p, "source": f["source"], "reason": f["damage"]["reason"], "file_bytes": f["bytes"],
                 "lines_read": f["lines"], "lost_bytes": f["damage"]["undecoded_bytes"],
                 "cut_line_bytes": f["damage"]["partial_line_bytes"], "loss_measured": f["damage"]["loss_measured"]}
                for p, f in self.accounting["files"].items() if f["damage"] is not None]


def transform_partition(lake: Lake, partition: str, *, staging: Staging | None = None, chunk_rows: int = 50_000,
                        fast: bool = True) -> TransformResult:
    """Transform ``partition`` (``YYYY-MM-DD``) of ``lake``'s raw zone; see the module docstring.

    Single process by design: the result must not depend on the machine (early dedupe and quarantine
    are exact only in one ordered pass); run partitions in parallel instead (Dagster backfills do).
    With ``staging`` the tables and quarantine files are written there; without, nothing is written.
    ``fast=False`` disables the Arrow fast path (:mod:`.fast`; same output, for tests and comparison).
    """
    validate_partition(partition)
    unread: list[dict] = []
    tasks = plan_tasks(lake, partition, unread)
    return _finish(partition, tasks, [extract_tasks(lake, tasks, chunk_rows, fast=fast, partition=partition)],
                   staging, unread)


def plan_tasks(lake: Lake, partition: str, unread: list[dict] | None = None) -> list[tuple[int, str, str, int]]:
    """``(task index, source, raw file, gz bytes)`` for every raw file, in processing order.

    The files below the partition folders that are not raw files by the naming rule
    (:func:`spotify_assets.lake.raw.list_raw_files`) are appended to ``unread`` as ``{"path", "size", "reason"}``.
    """
    tasks = []
    for source in SOURCE_ORDER:
        files, not_read = list_raw_files(lake, source, partition)
        tasks.extend((len(tasks) + i, source, f.path, f.size) for i, f in enumerate(files))
        if unread is not None:
            unread.extend(not_read)
    return tasks


@dataclass
class ExtractOutput:
    candidates: dict[str, pa.Table]
    quarantine: dict[str, list]
    sources: dict
    files: dict[str, dict]  # raw file → {"source", "bytes", "lines", "damage"} (see the module docstring)
    coerced: dict[str, dict[str, int]] = field(default_factory=dict)  # table → column → values made null


def extract_tasks(lake: Lake, tasks, chunk_rows: int, fast: bool = True, stats: dict | None = None,
                  partition: str | None = None) -> ExtractOutput:
    """Parse raw files (in task order) into candidate rows, quarantine records and counts.

    ``partition`` is the day the valid ranges relative to it refer to (a release date not after it …).
    With ``fast``, clean chunks of the playlists/items/albums/artists files go through :mod:`.fast`
    (Arrow), the others line by line through the Python extractor; ``stats`` counts fast/slow lines.
    A damaged gzip file gives its complete lines, then one quarantine record for the rest. Any other
    error (I/O, a bug) fails the extraction with a note naming the file and the last line read.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of short-lived acyclic dicts: the cyclic GC would cost ~25% for nothing
    reader = FastReader(lake, [(s, p) for _, s, p, _ in tasks if s in FAST_SOURCES]) if fast else None
    try:
        ex = Extractor(chunk_rows, partition)
        files = {}
        for task, source, path, size in tasks:
            ex.begin_task(task, source)
            lines_before = ex.sources[source].lines
            feed = ex.feed_line
            last = [0]
            damage = None
            try:
                if reader is not None and source in FAST_SOURCES:
                    reader.feed(ex, path, source, last, stats)
                else:
                    for line_no, data in iter_file_lines(lake, path):
                        feed(path, line_no, data)
                        last[0] = line_no
            except GzipDamage as e:
                damage = e
            except Exception as e:
                e.add_note(f"while transforming raw file {path} (last line read: {last[0]})")
                raise
            files[path] = {"source": source, "bytes": size, "lines": ex.sources[source].lines - lines_before,
                           "damage": None}
            if damage is not None:
                files[path]["damage"] = _quarantine_damage(ex, path, size, last[0], damage)
        candidates = {t: b.to_table() for t, b in ex.builders.items()}
        return ExtractOutput(candidates, dict(ex.quarantine), ex.sources, files, ex.coerced_counts())
    finally:
        if reader is not None:
            reader.close()
        if gc_was_enabled:
            gc.enable()


def _quarantine_damage(ex: Extractor, path: str, size: int, last_line: int, damage: GzipDamage) -> dict:
    """One quarantine record for the undecodable rest of a damaged raw file; returns its accounting entry."""
    partial = damage.partial_line
    ex.quarantine_unreadable(path, last_line + 1, f"unreadable gzip data after line {last_line}: {damage}", {
        "compressed_offset": damage.compressed_offset,
        "decompressed_offset": damage.decompressed_offset,
        "file_bytes": size,
        "partial_line": partial.decode("utf-8", "replace") if partial else None,
    })
    return {"reason": damage.reason, "after_line": last_line, "compressed_offset": damage.compressed_offset,
            "decompressed_offset": damage.decompressed_offset, "partial_line_bytes": len(partial),
            "undecoded_bytes": max(size - damage.compressed_offset, 0), "loss_measured": damage.measurable}


def _finish(partition, tasks, outputs: list[ExtractOutput], staging: Staging | None,
            unread: list[dict] | None = None) -> TransformResult:
    candidates = {}
    for t in S.TABLES:
        parts = [o.candidates[t] for o in outputs if t in o.candidates]
        candidates[t] = pa.concat_tables(parts) if parts else ex_empty(t)
    sources = {s: SourceCount() for s in SOURCE_ORDER}
    for o in outputs:
        for s, sc in o.sources.items():
            sources[s].merge(sc)
    files = {p: f for o in outputs for p, f in o.files.items()}
    coerced: dict[str, Counter] = defaultdict(Counter)
    for o in outputs:
        for t, counts in o.coerced.items():
            coerced[t].update(counts)
    qrecs: dict[str, list] = {}
    for t in S.TABLES:
        recs = [r for o in outputs for r in o.quarantine.get(t, [])]
        recs.sort(key=lambda r: r.task)  # stable: line order within a file
        if recs:
            qrecs[t] = [r.to_dict() for r in recs]
    del outputs

    # Dedupe two tables at a time (Arrow sorts and gathers release the GIL); each table's candidates are
    # dropped once deduped (peak memory); a parent's chosen rows keep their _seq until its links are done.
    stored = {t: c.num_rows for t, c in candidates.items()}
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        entities = {t: pool.submit(dedupe_entities, candidates.pop(t), S.TABLES[t].key)
                    for t in S.TABLES if t not in CHILD_OF}
        chosen: dict[str, pa.Table] = {t: f.result() for t, f in entities.items()}
        links = {t: pool.submit(dedupe_links, candidates.pop(t), S.TABLES[t].key, chosen[parent])
                 for t, parent in CHILD_OF.items()}
        chosen.update({t: f.result() for t, f in links.items()})
    parent_quarantined = quarantine_dependents(chosen, qrecs, lambda task: tasks[task][2])
    tables = {}
    for t in S.TABLES:
        schema = output_schema(t)
        tab = chosen.pop(t).select(schema.names)
        tables[t] = pa.Table.from_arrays(tab.columns, schema=schema)
    accounting = _accounting(sources, stored, tables, qrecs, files, unread or [], parent_quarantined, coerced)
    result = TransformResult(partition, tables, qrecs, accounting, len(tasks), sum(t[3] for t in tasks), staging,
                             unread_files=list(unread or []))
    if staging is not None:
        lake = staging.lake
        with cf.ThreadPoolExecutor(max_workers=2) as pool:  # pyarrow writes release the GIL
            futs = {t: pool.submit(write_table_file, lake, staging.file("transformed", t), S.TABLES[t], tab,
                                   schema=output_schema(t), presorted=True)
                    for t, tab in tables.items()}
            for t in S.TABLES:
                result.written[t] = futs[t].result()
        for t in S.TABLES:
            result.quarantine_written[t] = write_quarantine_file(
                lake, staging.file("quarantine", t), qrecs.get(t, []))
    return result


def ex_empty(table: str) -> pa.Table:
    return Extractor(1).builders[table].to_table()


def _accounting(sources: dict[str, SourceCount], stored: dict[str, int], tables, quarantine,
                files: dict[str, dict], unread: list[dict], parent_quarantined: dict[str, int],
                coerced: dict[str, Counter]) -> dict:
    problems = []
    out = {}
    for source in SOURCE_ORDER:
        sc = sources[source]
        if sc.lines != sc.parsed + sc.quarantined + sum(sc.excluded.values()):
            problems.append(f"{source}: lines {sc.lines} != parsed {sc.parsed} + quarantined "
                            f"{sc.quarantined} + excluded {dict(sc.excluded)}")
        from_files = sum(f["lines"] + (f["damage"] is not None) for f in files.values() if f["source"] == source)
        if sc.lines != from_files:
            problems.append(f"{source}: lines {sc.lines} != {from_files} counted per file")
        for t, c in sc.tables.items():
            if c.seen != c.emitted + c.quarantined + sum(c.excluded.values()):
                problems.append(f"{source}/{t}: seen {c.seen} != emitted {c.emitted} + quarantined "
                                f"{c.quarantined} + excluded {dict(c.excluded)}")
        out[source] = sc.as_dict()
    table_acc = {}
    for t in S.TABLES:
        emitted = sum(sc.tables[t].emitted for sc in sources.values() if t in sc.tables)
        early = sum(sc.tables[t].excluded.get("duplicate merged", 0) for sc in sources.values() if t in sc.tables)
        rows = tables[t].num_rows
        q_entities = sum(sc.tables[t].quarantined for sc in sources.values() if t in sc.tables)
        dependents = parent_quarantined.get(t, 0)
        q_lines = len(quarantine.get(t, [])) - q_entities - dependents
        if emitted != stored[t] or rows + dependents > stored[t]:
            problems.append(f"{t}: emitted {emitted}, stored candidates {stored[t]}, rows {rows} + "
                            f"{dependents} parent quarantined")
        # candidates: valid occurrences (stored, or dropped early as a known duplicate)
        table_acc[t] = {"candidates": stored[t] + early, "rows": rows,
                        "duplicates_merged": early + stored[t] - rows - dependents,
                        "parent_quarantined": dependents, "quarantined": q_entities + q_lines + dependents,
                        "coerced_to_null": dict(sorted(coerced.get(t, {}).items()))}
    total_q_lines = sum(sc.quarantined for sc in sources.values())
    total_q = sum(len(v) for v in quarantine.values())
    total_q_entities = sum(c.quarantined for sc in sources.values() for c in sc.tables.values())
    total_dependents = sum(parent_quarantined.values())
    if total_q != total_q_lines + total_q_entities + total_dependents:
        problems.append(f"quarantine holds {total_q} records, counted {total_q_lines} lines + "
                        f"{total_q_entities} entities + {total_dependents} parent quarantined")
    if problems:
        raise AccountingError("accounting invariant broken: " + "; ".join(problems))
    return {"sources": out, "tables": table_acc, "files": files, "unread_files": list(unread)}
