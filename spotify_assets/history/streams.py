"""The raw zone's landed exports → the ``streams`` table, its quarantine and the accounting.

Every landed export is read (oldest landing first, then its files and lines in order) and every record
ends in exactly one place: a row, the quarantine (with its reason and origin), or an exclusion by reason:

    records_in = rows + quarantined + sum(excluded)           (checked: AccountingError otherwise)

where ``records_in`` counts what the export's files held (:mod:`.landing`: landed records plus the
problems — items that are not objects, the unreadable rest of a damaged file).

A raw file is read by the Arrow path (:mod:`.fast`) when all its records are clean, else record by record
(:mod:`.records`, the reference for every rule and quarantine reason); both give the same rows.

**Quarantined** (reason in the record): not a JSON object; a damaged file's rest; ``ts``/``endTime``
missing, not a timestamp, or outside 2006–2099; ``ms_played`` missing, not an integer or negative; a URI
that is not ``spotify:<type>:<22-character id>``; a field of the wrong type (text, boolean, number).

**The stream key** (``stream_id``): Spotify gives a stream no id. Its identity is its end (``ts``, to the
second), ``ms_played`` and its content: the URI (track, episode, chapter, in that order), or — for records
without one (the 2020-era files without URIs, removed content) — the names. Two records with the same
identity are one stream: the same export imported again, a newer export repeating the history, Spotify's
own exact duplicates. Where it can collide: two streams of the same content ending in the same second with
the same ``ms_played`` are counted once (a few hundred ms apart, both 0 ms: possible, rare). The account-data
format has minute precision, so its identity is the minute, ``msPlayed``, the names and the record's
occurrence among identical ones of its export (the same track twice in one minute is real and stays two).

**Excluded** (counted, not rows):

* ``duplicate``: the identity of a stream already read (the first one read is kept: re-importing never
  changes a row);
* ``covered by a record with URIs``: a record without URIs whose end, ``ms_played`` and names (case-folded)
  equal those of a record with URIs;
* ``covered by the extended history``: an account-data record whose minute, ``msPlayed`` and names equal
  those of an extended-history stream — count for count: two identical account-data records need two
  extended streams. Importing a basic and an extended export of the same period therefore keeps the
  extended rows (to the second, with URIs and platform) and only the account-data streams the extended
  history lacks.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from ..lake.storage import Lake
from ..tables.history import STREAMS
from ..transform.records import AccountingError
from . import fast
from .landing import landed_exports
from .records import CANDIDATE_SCHEMA, MAX_ENDED_AT_US, MIN_ENDED_AT_US, quarantine_record, read_file

__all__ = ["MAX_ENDED_AT_US", "MIN_ENDED_AT_US", "StreamsBuild", "build_streams"]

_MINUTE_US = 60_000_000
EXCLUDED_DUPLICATE = "duplicate: the same stream was read before (same end, ms_played and content)"
EXCLUDED_COVERED_BY_URI = "covered by a record with URIs (same end, ms_played and names)"
EXCLUDED_COVERED_BY_EXTENDED = "covered by the extended history (same minute, ms_played and names)"
EXCLUDED_RAW_DAMAGED = "unreadable in the raw zone (damaged raw file: import the export again with reland)"


@dataclass
class StreamsBuild:
    """The streams of every landed export, and what became of each record."""

    table: pa.Table  # STREAMS.schema, sorted by (ended_at, stream_id)
    quarantine: list[dict]
    accounting: dict
    exports: list[str]  # the export ids read, oldest landing first
    covered_ids: set[str] = field(default_factory=set)  # stream ids excluded as covered by better records
    fast_files: int = 0  # raw files read by the Arrow path (the others record by record)

    @property
    def excluded(self) -> dict[str, int]:
        return self.accounting["excluded"]


def build_streams(lake: Lake, *, use_fast_path: bool = True) -> StreamsBuild:
    """Read every landed export of ``lake`` into the streams table (see the module docstring).
    ``use_fast_path=False`` reads every file record by record (same result; for tests and comparison)."""
    parts, quarantine, per_export = [], [], {}
    excluded: Counter = Counter()
    fast_files = 0
    manifests = landed_exports(lake)
    for manifest in manifests:
        export_id = manifest["export_id"]
        occurrences: Counter = Counter()
        counts = {"records_in": 0, "candidates": 0, "quarantined": 0, "unreadable": 0}
        for entry in manifest["files"]:
            counts["records_in"] += entry["records_in"]
            for problem in entry["problems"]:
                quarantine.append(quarantine_record(problem["reason"], entry, None, None, export_id, problem))
                counts["quarantined"] += 1
            if not entry["records_landed"]:
                continue
            table = None
            if use_fast_path and entry["generation"] != "account_data":
                table = fast.read_file(lake, entry["raw_file"], video=entry["content"] == "video",
                                       generation=entry["generation"], export_id=export_id, source_file=entry["path"])
            if table is not None:
                fast_files += 1
                lines, rejected = table.num_rows, []
            else:
                table, rejected, lines = read_file(lake, entry, export_id, occurrences)
            parts.append(table)
            quarantine.extend(rejected)
            counts["candidates"] += table.num_rows
            counts["quarantined"] += len(rejected)
            if lines < entry["records_landed"]:
                counts["unreadable"] += entry["records_landed"] - lines
                excluded[EXCLUDED_RAW_DAMAGED] += entry["records_landed"] - lines
        per_export[export_id] = counts
    candidates = pa.concat_tables(parts) if parts else CANDIDATE_SCHEMA.empty_table()
    table, covered = _keep_each_stream_once(candidates, excluded)
    records_in = sum(e["records_in"] for e in per_export.values())
    reasons = Counter(q["reason"].split(":")[0].split(" (")[0] for q in quarantine)
    accounting = {
        "records_in": records_in,
        "rows": table.num_rows,
        "quarantined": len(quarantine),
        "excluded": dict(sorted(excluded.items())),
        "quarantine_reasons": dict(reasons.most_common()),
        "exports": per_export,
    }
    if records_in != table.num_rows + len(quarantine) + sum(excluded.values()):
        raise AccountingError(f"streams: records in {records_in} != rows {table.num_rows} + quarantined "
                              f"{len(quarantine)} + excluded {dict(excluded)}")
    return StreamsBuild(table, quarantine, accounting, [m["export_id"] for m in manifests], covered, fast_files)


def _keep_each_stream_once(candidates: pa.Table, excluded: Counter) -> tuple[pa.Table, set[str]]:
    """Duplicates and covered records out (see the module docstring), sorted by (ended_at, stream_id)."""
    n = candidates.num_rows
    first = candidates.select(["stream_id"]).append_column("_i", pa.array(range(n), pa.int64())).group_by(
        "stream_id", use_threads=False).aggregate([("_i", "min")])["_i_min"]
    if len(first) < n:
        excluded[EXCLUDED_DUPLICATE] += n - len(first)
        candidates = candidates.take(pc.take(first, pc.sort_indices(first)))  # the first of each, in read order
    ids = candidates["stream_id"].to_pylist()
    ended = pc.cast(candidates["ended_at"], pa.int64()).to_pylist()
    ms = candidates["ms_played"].to_pylist()
    minute_rows = candidates["ended_at_precision"].to_pylist()
    uri_less = candidates["_names_unless_uri"].to_pylist()
    names = candidates["_names"].to_pylist()
    keep = [True] * len(ids)
    covered: set[str] = set()
    if any(u is not None for u in uri_less):
        with_uri = {(e, m, nm) for e, m, u, nm, p in zip(ended, ms, uri_less, names, minute_rows, strict=True)
                    if u is None and nm and p == "second"}
        for i, (e, m, u, p) in enumerate(zip(ended, ms, uri_less, minute_rows, strict=True)):
            if u is not None and p == "second" and (e, m, u) in with_uri:
                keep[i] = False
                covered.add(ids[i])
                excluded[EXCLUDED_COVERED_BY_URI] += 1
    if "minute" in minute_rows:
        by_minute = Counter((e - e % _MINUTE_US, m, nm) for e, m, nm, p, k in zip(
            ended, ms, names, minute_rows, keep, strict=True) if p == "second" and k)
        for i, (e, m, nm, p) in enumerate(zip(ended, ms, names, minute_rows, strict=True)):
            if p == "minute" and by_minute.get((e, m, nm)):
                by_minute[(e, m, nm)] -= 1
                keep[i] = False
                covered.add(ids[i])
                excluded[EXCLUDED_COVERED_BY_EXTENDED] += 1
    table = candidates.filter(pa.array(keep)) if covered else candidates
    table = table.select(STREAMS.schema.names).cast(STREAMS.schema)
    if table.num_rows > 1:
        table = table.take(pc.sort_indices(table, sort_keys=[("ended_at", "ascending"), ("stream_id", "ascending")]))
    return table, covered
