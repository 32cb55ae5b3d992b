"""The audit of one day's transformed tables: which checks exist, and their verdict on a version of the day.

Dagster-free, so the same audit runs wherever a day is staged. :mod:`spotify_assets.defs.transformed.checks` turns the
checks into Dagster asset checks; :mod:`spotify_assets.publish.wap` runs them between staging and publishing.

Records fail, days pass: a record with a value no valid record can have is quarantined by the transform,
with what names it, and the rest of the day is published. A day is held back only when the day is wrong.

Blocking checks (a failure holds the day back: nothing a consumer reads changes): keys unique and not
null, references resolved and values in range among the rows to publish (the transform quarantines what
breaks them, so these fail only on a bug), "not empty" (an empty table where the last published version
had rows, or a day without a single catalog row — unless accepted on purpose; the listening tables may be
empty, see :data:`MAY_BE_EMPTY`), a table's quarantined share above ``SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE``,
and raw data lost beyond ``SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE`` of a source's bytes or by an amount that
cannot be measured (a raw file cut short or empty) — unless accepted on purpose.

Warning checks (published anyway, flagged in the UI): the row count moved more than
``SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE`` (not for plays, see :data:`ROW_COUNT_VARIES`) or the column schema
changed against the last published version; a quarantine share above ``SPOTIFY_CHECK_QUARANTINE_MAX_SHARE``;
any raw data lost; files in the table's raw partition folders that are not read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from .. import settings
from ..lake.parquet import read_table_file, read_table_partitions
from ..lake.publication.manifests import CorruptManifestError, Manifests
from ..lake.publication.staging import Staging
from ..lake.quarantine import read_quarantine, read_quarantine_file
from ..lake.storage import Lake
from ..tables import LISTENING_TABLES, PARTITION_DAY, TABLE_SOURCES, TABLES
from . import quality


def _pct(share: float) -> str:
    """A threshold as people write it: 0.05 → "5%", 0.025 → "2.5%"."""
    return f"{share * 100:g}%"


# Read once, when the module is first imported: the checks' descriptions in the UI show these values, so
# they are fixed with the definitions of the process (see spotify_assets.settings; a reload re-reads them).
_SETTINGS = settings.load()
ROW_COUNT_MAX_CHANGE = _SETTINGS.check_row_count_max_change
QUARANTINE_MAX_SHARE = _SETTINGS.check_quarantine_max_share
QUARANTINE_HOLD_SHARE = _SETTINGS.check_quarantine_hold_share
RAW_LOSS_HOLD_SHARE = _SETTINGS.check_raw_loss_hold_share
# A handful of odd records in a small table (the top 50, a quiet day's plays) is not a wrong day: the
# quarantine share holds a day back only from this many records of the table on.
QUARANTINE_HOLD_MIN_RECORDS = 10

# (child table, child column, parent table, parent column, only rows where column == value): the contract's
REFERENCES = [
    (table, column, ref.table, ref.column, ref.when)
    for table, spec in TABLES.items()
    for column, ref in spec.references
]

# table -> [(column, low, high)], the contract's valid ranges; "partition" as high means "not after the
# partition's day" (a date column: that day; a timestamp: its last microsecond, UTC), as low (timestamps
# only) "not before the day's start"
RANGES = {
    table: [(column, *("partition" if b == PARTITION_DAY else b for b in (valid.low, valid.high)))
            for column, valid in spec.ranges]
    for table, spec in TABLES.items()
    if spec.ranges
}

# Tables that may be empty on a day, and why: the user's own data. An empty catalog table still blocks.
MAY_BE_EMPTY = {
    "plays": "a day without listening is legitimate (and without a user token nothing is fetched)",
    "top_tracks": "without a user token (client credentials only) nothing is fetched; a new account has no top items",
    "top_artists": "without a user token (client credentials only) nothing is fetched; a new account has no top items",
    "saved_tracks": "without a user token (client credentials only) nothing is fetched; a user may save nothing",
}
assert set(MAY_BE_EMPTY) == set(LISTENING_TABLES)

# Tables whose row count changes day over day as a matter of course: the drift check compares their schema only.
ROW_COUNT_VARIES = {
    "plays": "listening varies from day to day, and a day is transformed hourly while it is still going on",
}


class DayTables:
    """The version of one day under audit, each table read at most once, and the published history
    it is compared with (the last published version of each table).

    ``read(table)`` gives the version under audit; ``quarantined(table)`` its number of quarantine
    records. ``accept_empty`` lets an empty day through on purpose, ``accept_raw_loss`` a day whose raw
    files were damaged beyond the limit. ``unread_files`` are the files of the day's raw partition folders
    the transform did not read (``{"path", "size", "reason"}``); ``raw_sources`` what it read per source
    (``{"files", "bytes", "lines"}``) and ``raw_losses`` what it could not read of damaged files
    (:attr:`spotify_assets.transform.pipeline.TransformResult.raw_losses`) — each when known.
    ``same_day_first``: the last published version is this day's own when it has one (a re-run is compared
    with what consumers read now), else the latest earlier day's.
    """

    def __init__(
        self,
        lake: Lake,
        partition: str,
        read: Callable[[str], pa.Table],
        quarantined: Callable[[str], int],
        *,
        accept_empty: bool = False,
        unread_files: list[dict] | None = None,
        raw_sources: dict[str, dict] | None = None,
        raw_losses: list[dict] | None = None,
        accept_raw_loss: bool = False,
        same_day_first: bool = True,
    ):
        self.lake = lake
        self.partition = partition
        self._read = read
        self._quarantined = quarantined
        self.accept_empty = accept_empty
        self.unread_files = unread_files
        self.raw_sources = raw_sources
        self.raw_losses = raw_losses
        self.accept_raw_loss = accept_raw_loss
        self.same_day_first = same_day_first
        self._tables: dict[str, pa.Table] = {}
        self._previous: dict[str, tuple[str | None, pa.Table | None]] = {}
        self._manifests = Manifests(lake)  # one for every table: the previous day's tables are of one day version

    @classmethod
    def staged(cls, staging: Staging, **known) -> DayTables:
        """The version a run staged (what the audit decides about); ``known``: what the transform reported
        (``unread_files``, ``raw_sources``, ``raw_losses``) and what the run accepts (``accept_empty``,
        ``accept_raw_loss``)."""
        lake = staging.lake

        def read(table: str) -> pa.Table:
            return read_table_file(lake, staging.file("transformed", table))

        def quarantined(table: str) -> int:
            return len(read_quarantine_file(lake, staging.file("quarantine", table)))

        return cls(lake, staging.partition, read, quarantined, **known)

    @classmethod
    def published(cls, lake: Lake, partition: str) -> DayTables:
        """The published version (checks re-run on what consumers read; compared with the earlier days)."""

        def read(table: str) -> pa.Table:
            return read_table_partitions(lake, table, [partition]).drop_columns(["dt"])

        def quarantined(table: str) -> int:
            return len(read_quarantine(lake, table, partition))

        return cls(lake, partition, read, quarantined, same_day_first=False)

    def __getitem__(self, table: str) -> pa.Table:
        if table not in self._tables:
            self._tables[table] = self._read(table)
        return self._tables[table]

    def quarantined(self, table: str) -> int:
        return self._quarantined(table)

    def previous(self, table: str) -> tuple[str | None, pa.Table | None]:
        """``(day, rows)`` of the last published version of ``table`` this version is compared with: this
        day's own when it was published already (and ``same_day_first``), else the latest earlier day's;
        ``(None, None)`` when there is none."""
        if table not in self._previous:
            same_day = self.same_day_first and self._published_today(table)
            day = self.partition if same_day else self._manifests.previous_day("transformed", table, self.partition)
            rows = read_table_partitions(self.lake, table, [day], manifests=self._manifests).drop_columns(["dt"]) \
                if day else None
            self._previous[table] = (day, rows)
        return self._previous[table]

    def _published_today(self, table: str) -> bool:
        """Whether this day of ``table`` has a published, non-empty version (a damaged manifest: no, reported)."""
        try:
            version = self._manifests.version("transformed", table, self.partition)
        except CorruptManifestError as e:
            self._manifests.report(f"transformed/{table} dt={self.partition} not compared with: {e}")
            return False
        return bool(version and version.file)


@dataclass(frozen=True)
class CheckOutcome:
    """One check's verdict on one table: JSON-able metadata for the UI."""

    table: str
    check: str
    blocking: bool
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)


Verdict = tuple[bool, str, dict]


def verdict_of(rules: list[tuple[str, quality.RuleResult]]) -> Verdict:
    """One check's verdict from its record rules: passed when every rule passed, the failing ones named, and
    each rule's failing row count in the metadata (the daily tables and the history share it)."""
    failing = [(name, r) for name, r in rules if not r.passed]
    metadata: dict = {f"{name}/failing_rows": r.failing_rows for name, r in rules}
    for name, r in failing:
        metadata[f"{name}/detail"] = r.description
        metadata[f"{name}/examples"] = ", ".join(map(str, r.examples)) or "none"
    description = "; ".join(r.description for _, r in failing) if failing else "all rows pass"
    return not failing, description, metadata


def _check_keys(table: str, day: DayTables) -> Verdict:
    return verdict_of([("keys", quality.keys_unique_and_not_null(day[table], TABLES[table].key))])


def _check_references(table: str, day: DayTables) -> Verdict:
    child = day[table]
    rules = []
    for _, column, parent, parent_column, where in (r for r in REFERENCES if r[0] == table):
        mask = pc.equal(child[where[0]], where[1]) if where else None
        rules.append(
            (f"{column}->{parent}", quality.references_exist(child, column, day[parent], parent_column, where=mask))
        )
    return verdict_of(rules)


def _partition_bound(data: pa.Table, column: str, bound, partition: str, *, end: bool):
    """A RANGES bound as a value of ``column``'s type: "partition" becomes the partition day (a date column)
    or its first / last microsecond in UTC (a timestamp column)."""
    if bound != "partition":
        return bound
    day = dt.date.fromisoformat(partition)
    if not pa.types.is_timestamp(data.schema.field(column).type):
        return day
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    return start + dt.timedelta(days=1, microseconds=-1) if end else start


def _check_ranges(table: str, day: DayTables) -> Verdict:
    data = day[table]
    return verdict_of(
        [
            (column, quality.within_range(data, column, _partition_bound(data, column, low, day.partition, end=False),
                                          _partition_bound(data, column, high, day.partition, end=True)))
            for column, low, high in RANGES[table]
        ]
    )


def _check_not_empty(table: str, day: DayTables) -> Verdict:
    rows = day[table].num_rows
    previous_day, previous = day.previous(table)
    previous_rows = previous.num_rows if previous is not None else 0
    metadata = {"rows": rows, "previous_partition": previous_day or "", "previous_rows": previous_rows}
    if rows:
        return True, f"{rows} rows", metadata
    if day.accept_empty:
        return True, "empty, accepted on purpose (accept_empty)", metadata
    if table in MAY_BE_EMPTY:
        return True, f"empty, which is allowed: {MAY_BE_EMPTY[table]}", metadata
    if previous_rows:
        return False, (
            f"no rows, although the published version of {previous_day} has {previous_rows}: the extraction "
            "found nothing (wrong seed "
            "ids, an emptied account, a broken source?). Re-run with accept_empty: true to publish it anyway."
        ), metadata
    if not any(day[t].num_rows for t in TABLES if t not in MAY_BE_EMPTY):
        return False, (
            "the whole day is empty: no catalog table has a single row. Re-run with accept_empty: true to "
            "publish an empty day on purpose."
        ), metadata
    return True, "empty, as was the previous published day", metadata


def _check_drift(table: str, day: DayTables) -> Verdict:
    current = day[table]
    previous_day, previous = day.previous(table)
    if previous is None:
        return True, "no published version to compare with", {}
    change = None if table in ROW_COUNT_VARIES else quality.relative_change(current.num_rows, previous.num_rows)
    schema_diff = quality.schema_differences(current.schema, previous.schema)
    problems = []
    if change is not None and change > ROW_COUNT_MAX_CHANGE:
        signed = (current.num_rows - previous.num_rows) / previous.num_rows
        problems.append(f"row count {previous.num_rows} → {current.num_rows} ({signed:+.0%}) against the published "
                        f"version of {previous_day}")
    if schema_diff:
        problems.append("schema changed: " + "; ".join(schema_diff))
    metadata = {
        "previous_partition": previous_day,
        "rows": current.num_rows,
        "previous_rows": previous.num_rows,
        "relative_change": float(change) if change is not None else 0.0,
        "schema_changes": "; ".join(schema_diff) or "none",
    }
    return not problems, "; ".join(problems) or f"stable against {previous_day}", metadata


def _quarantine_share(table: str, day: DayTables) -> tuple[int, int, float]:
    rows = day[table].num_rows
    quarantined = day.quarantined(table)
    return rows, quarantined, quarantined / (rows + quarantined) if rows + quarantined else 0.0


def _check_quarantine(table: str, day: DayTables) -> Verdict:
    rows, quarantined, share = _quarantine_share(table, day)
    metadata = {"quarantined": quarantined, "rows": rows, "share": float(share)}
    return share <= QUARANTINE_MAX_SHARE, f"{quarantined} quarantined vs {rows} rows ({share:.2%})", metadata


def _check_quarantine_hold(table: str, day: DayTables) -> Verdict:
    rows, quarantined, share = _quarantine_share(table, day)
    metadata = {"quarantined": quarantined, "rows": rows, "share": float(share),
                "hold_share": QUARANTINE_HOLD_SHARE, "hold_min_records": QUARANTINE_HOLD_MIN_RECORDS}
    text = f"{quarantined} quarantined vs {rows} rows ({share:.2%})"
    if share > QUARANTINE_HOLD_SHARE and quarantined >= QUARANTINE_HOLD_MIN_RECORDS:
        return False, (f"{text}: more than {_pct(QUARANTINE_HOLD_SHARE)} of the table's records are quarantined — "
                       "the day looks wrong, not a few records (see the quarantine reasons)"), metadata
    return True, text, metadata


def _losses(table: str, day: DayTables) -> list[dict] | None:
    """The damaged raw files of the sources feeding ``table`` (None: not known)."""
    if day.raw_losses is None:
        return None
    return [loss for loss in day.raw_losses if loss["source"] in TABLE_SOURCES[table]]


def _describe_loss(loss: dict) -> str:
    """One damaged raw file in words (file, reason, lines read, bytes lost)."""
    if loss["loss_measured"]:
        lost = f"{loss['lost_bytes']} of its {loss['file_bytes']} bytes not decoded"
    else:
        lost = "the rest of the file is missing (how much it held cannot be known)"
    cut = f", and the line the damage cut ({loss['cut_line_bytes']} bytes)" if loss["cut_line_bytes"] else ""
    return f"{loss['file']}: {loss['reason']}; {loss['lines_read']} lines read, {lost}{cut}"


def _loss_metadata(losses: list[dict]) -> dict:
    return {"damaged_files": len(losses), "lost_bytes": sum(x["lost_bytes"] for x in losses),
            "losses": [_describe_loss(x) for x in losses] or "none"}


def _check_raw_intact(table: str, day: DayTables) -> Verdict:
    losses = _losses(table, day)
    sources = ", ".join(TABLE_SOURCES[table])
    if losses is None:
        return True, "not known (the checks ran without the transform that reads the raw files)", {}
    if losses:
        return False, f"{len(losses)} damaged raw file(s) of {sources}: " + "; ".join(map(_describe_loss, losses)), \
            _loss_metadata(losses)
    return True, f"every raw file of {sources} was read to its end", _loss_metadata(losses)


def _check_raw_loss_hold(table: str, day: DayTables) -> Verdict:
    losses = _losses(table, day)
    if losses is None:
        return True, "not known (the checks ran without the transform that reads the raw files)", {}
    problems = [f"{_describe_loss(x)} — a loss that cannot be measured" for x in losses if not x["loss_measured"]]
    shares = {}
    for source in sorted({x["source"] for x in losses}):
        measured = [x for x in losses if x["source"] == source and x["loss_measured"]]
        lost = sum(x["lost_bytes"] for x in measured)
        total = (day.raw_sources or {}).get(source, {}).get("bytes", 0)
        shares[source] = lost / total if total else 0.0
        if shares[source] > RAW_LOSS_HOLD_SHARE:
            problems.append(f"{source} lost {lost} of its {total} raw bytes ({shares[source]:.1%}, more than "
                            f"{_pct(RAW_LOSS_HOLD_SHARE)}): " + "; ".join(map(_describe_loss, measured)))
    metadata = {**_loss_metadata(losses), "lost_share_by_source": shares, "hold_share": RAW_LOSS_HOLD_SHARE}
    if not problems:
        return True, ("no raw data lost" if not losses else
                      f"raw data lost within {_pct(RAW_LOSS_HOLD_SHARE)} of each source's bytes"), metadata
    if day.accept_raw_loss:
        return True, "raw data lost, accepted on purpose (accept_raw_loss): " + "; ".join(problems), metadata
    return False, ("raw data lost beyond what a day can miss: " + "; ".join(problems) + ". Repair or remove the "
                   "damaged files and run again, or run with accept_raw_loss: true to publish what was read."), metadata


def _check_raw_files_read(table: str, day: DayTables) -> Verdict:
    if day.unread_files is None:
        return True, "not known (the checks ran without the transform that lists the raw files)", {}
    sources = TABLE_SOURCES[table]
    unread = [f for f in day.unread_files if f["path"].split("/")[1] in sources]
    metadata = {"unread_files": len(unread), "examples": "; ".join(f"{f['path']}: {f['reason']}" for f in unread[:5])}
    if unread:
        return False, f"{len(unread)} file(s) in the raw folders of {', '.join(sources)} were not read", metadata
    return True, f"every file in the raw folders of {', '.join(sources)} was read", metadata


def _describe_references(table: str) -> str:
    return "; ".join(
        f"{c}.{col} → {p}.{pcol}" + (f" (where {w[0]} = {w[1]})" if w else "")
        for c, col, p, pcol, w in REFERENCES
        if c == table
    )


def _describe_ranges(table: str) -> str:
    return ", ".join(f"{c} in {valid.describe()}" for c, valid in TABLES[table].ranges)


@dataclass(frozen=True)
class CheckDef:
    """A check of the audit: blocking or a warning, the tables it applies to, and how it judges a day."""

    name: str
    blocking: bool
    evaluate: Callable[[str, DayTables], Verdict]
    describe: Callable[[str], str]
    applies: Callable[[str], bool] = lambda table: True


CHECKS = [
    CheckDef(
        "keys_unique_and_not_null", True, _check_keys,
        lambda t: f"Every row has a non-null, unique key ({', '.join(TABLES[t].key)}).",
    ),
    CheckDef(
        "references_exist", True, _check_references,
        lambda t: f"Referential integrity: {_describe_references(t)}.",
        applies=lambda t: any(r[0] == t for r in REFERENCES),
    ),
    CheckDef(
        "values_in_range", True, _check_ranges,
        lambda t: f"Value ranges (nulls allowed): {_describe_ranges(t)}. The transform quarantines a record out "
        "of range, so the rows to publish fail this only on a bug.",
        applies=lambda t: t in RANGES,
    ),
    CheckDef(
        "not_empty", True, _check_not_empty,
        lambda t: f"Passes when empty: {MAY_BE_EMPTY[t]}." if t in MAY_BE_EMPTY else
        "Fails when the table is empty although its last published version (this day's, else the latest "
        "earlier day's) has rows, or when the "
        "whole day is empty; run the transform with accept_empty: true to publish such a day on purpose.",
    ),
    CheckDef(
        "quarantine_share_within_limit", True, _check_quarantine_hold,
        lambda t: "Holds the day back when more than SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE "
        f"(now {_pct(QUARANTINE_HOLD_SHARE)}) of this table's records are quarantined, and at least "
        f"{QUARANTINE_HOLD_MIN_RECORDS}: a few odd records are quarantined and the day published, a day "
        "where many are is wrong.",
    ),
    CheckDef(
        "raw_data_loss_within_limit", True, _check_raw_loss_hold,
        lambda t: f"Holds the day back when a raw source of {', '.join(TABLE_SOURCES[t])} lost more than "
        f"SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE (now {_pct(RAW_LOSS_HOLD_SHARE)}) of its bytes to a damaged gzip file, "
        "or when a raw file is cut short or empty (how much is missing cannot be known); run with "
        "accept_raw_loss: true to publish what was read on purpose.",
    ),
    CheckDef(
        "stable_against_previous_partition", False, _check_drift,
        lambda t: f"Warns when the column schema changed from the last published version (not the row count: "
        f"{ROW_COUNT_VARIES[t]})." if t in ROW_COUNT_VARIES else
        "Warns when the row count moved more than SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE "
        f"(now {_pct(ROW_COUNT_MAX_CHANGE)}) from the last published version (this day's on a re-run, else the "
        "latest earlier day's), or the column schema changed.",
    ),
    CheckDef(
        "raw_data_intact", False, _check_raw_intact,
        lambda t: f"Warns when any byte of a raw file of {', '.join(TABLE_SOURCES[t])} could not be decoded (a "
        "damaged gzip file): each file, its reason, the lines read and the bytes lost are listed.",
    ),
    CheckDef(
        "raw_files_all_read", False, _check_raw_files_read,
        lambda t: f"Warns when a file in the raw partition folders of {', '.join(TABLE_SOURCES[t])} is not read: "
        "only raw/<source>/dt=<day>/<name>.jsonl.gz directly in the folder is (names starting with _ or . are "
        "temporary and ignored).",
    ),
    CheckDef(
        "quarantine_share_low", False, _check_quarantine,
        lambda t: "Warns when the share of records quarantined for this table exceeds "
        f"SPOTIFY_CHECK_QUARANTINE_MAX_SHARE (now {_pct(QUARANTINE_MAX_SHARE)}).",
    ),
]
CHECKS_BY_NAME = {c.name: c for c in CHECKS}


def checks_of(table: str) -> list[CheckDef]:
    return [c for c in CHECKS if c.applies(table)]


def all_checks() -> list[tuple[str, CheckDef]]:
    """Every ``(table, check)`` pair of the audit."""
    return [(t, c) for t in TABLES for c in checks_of(t)]


def audit(day: DayTables, selection: Iterable[tuple[str, str]] | None = None) -> list[CheckOutcome]:
    """Run the checks (all, or the ``(table, check name)`` pairs of ``selection``) on ``day``."""
    pairs = [(t, c.name) for t, c in all_checks()] if selection is None else sorted(selection)
    outcomes = []
    for table, name in pairs:
        check = CHECKS_BY_NAME[name]
        passed, description, metadata = check.evaluate(table, day)
        outcomes.append(CheckOutcome(table, name, check.blocking, passed, description, metadata))
    return outcomes


def blocking_failures(outcomes: Iterable[CheckOutcome]) -> list[CheckOutcome]:
    return [o for o in outcomes if o.blocking and not o.passed]
