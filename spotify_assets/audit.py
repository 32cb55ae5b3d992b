"""The audit of one day's transformed tables: which checks exist, and their verdict on a version of the day.

Dagster-free, so the same audit runs wherever a day is staged. :mod:`spotify_assets.defs.transformed.checks` turns the
checks into Dagster asset checks; :mod:`spotify_assets.wap` runs them between staging and publishing.

Blocking checks (a failure holds the day back: nothing a consumer reads changes): keys unique and not
null, referential integrity, value ranges, and "not empty" (an empty table where the previous published
day had rows, or a day without a single catalog row — unless accepted on purpose; the listening tables
may be empty, see :data:`MAY_BE_EMPTY`). Warning checks (published anyway, flagged in the UI): the row
count moved a lot (not for plays, see :data:`ROW_COUNT_VARIES`) or the column schema changed against the
previous published day; a high quarantine share; files in the table's raw partition folders that are not read.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from . import quality
from .lake.parquet import read_table_file, read_table_partitions
from .lake.publication import Manifests, Staging
from .lake.quarantine import read_quarantine, read_quarantine_file
from .lake.storage import Lake
from .tables import LISTENING_TABLES, TABLE_SOURCES, TABLES

ROW_COUNT_MAX_CHANGE = float(os.environ.get("SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE", "0.5"))
QUARANTINE_MAX_SHARE = float(os.environ.get("SPOTIFY_CHECK_QUARANTINE_MAX_SHARE", "0.01"))

# (child table, child column, parent table, parent column, only rows where column == value)
REFERENCES = [
    ("tracks", "album_id", "albums", "album_id", None),
    ("track_artists", "track_id", "tracks", "track_id", None),
    ("track_artists", "artist_id", "artists", "artist_id", None),
    ("album_artists", "album_id", "albums", "album_id", None),
    ("album_artists", "artist_id", "artists", "artist_id", None),
    ("artist_genres", "artist_id", "artists", "artist_id", None),
    ("playlist_items", "playlist_id", "playlists", "playlist_id", None),
    ("playlist_items", "item_id", "tracks", "track_id", ("item_type", "track")),
    ("plays", "track_id", "tracks", "track_id", None),
    ("top_tracks", "track_id", "tracks", "track_id", None),
    ("top_artists", "artist_id", "artists", "artist_id", None),
    ("saved_tracks", "track_id", "tracks", "track_id", None),
]

# table -> [(column, low, high)]; "partition" as high means "not after the partition's day" (a date column:
# that day; a timestamp: its last microsecond, UTC), as low (timestamps only) "not before the day's start"
RANGES = {
    "tracks": [("popularity", 0, 100), ("duration_ms", 0, None), ("disc_number", 0, None)],
    "albums": [("popularity", 0, 100), ("total_tracks", 0, None), ("release_date", None, "partition")],
    "artists": [("popularity", 0, 100), ("followers", 0, None)],
    "playlists": [("followers", 0, None), ("total_items", 0, None)],
    "playlist_items": [("position", 0, None)],
    "plays": [("played_at", "partition", "partition")],
    "top_tracks": [("rank", 1, None)],
    "top_artists": [("rank", 1, None)],
    "saved_tracks": [("added_at", None, "partition")],
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
    it is compared with (the previous published day of each table).

    ``read(table)`` gives the version under audit; ``quarantined(table)`` its number of quarantine
    records. ``accept_empty`` lets an empty day through on purpose. ``unread_files`` are the files of the
    day's raw partition folders the transform did not read (``{"path", "size", "reason"}``), when known.
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
    ):
        self.lake = lake
        self.partition = partition
        self._read = read
        self._quarantined = quarantined
        self.accept_empty = accept_empty
        self.unread_files = unread_files
        self._tables: dict[str, pa.Table] = {}
        self._previous: dict[str, tuple[str | None, pa.Table | None]] = {}
        self._manifests = Manifests(lake)  # one for every table: the previous day's tables are of one day version

    @classmethod
    def staged(
        cls, staging: Staging, *, accept_empty: bool = False, unread_files: list[dict] | None = None
    ) -> DayTables:
        """The version a run staged (what the audit decides about)."""
        lake = staging.lake

        def read(table: str) -> pa.Table:
            return read_table_file(lake, staging.file("transformed", table))

        def quarantined(table: str) -> int:
            return len(read_quarantine_file(lake, staging.file("quarantine", table)))

        return cls(lake, staging.partition, read, quarantined, accept_empty=accept_empty, unread_files=unread_files)

    @classmethod
    def published(cls, lake: Lake, partition: str) -> DayTables:
        """The published version (checks re-run on what consumers read)."""

        def read(table: str) -> pa.Table:
            return read_table_partitions(lake, table, [partition]).drop_columns(["dt"])

        def quarantined(table: str) -> int:
            return len(read_quarantine(lake, table, partition))

        return cls(lake, partition, read, quarantined)

    def __getitem__(self, table: str) -> pa.Table:
        if table not in self._tables:
            self._tables[table] = self._read(table)
        return self._tables[table]

    def quarantined(self, table: str) -> int:
        return self._quarantined(table)

    def previous(self, table: str) -> tuple[str | None, pa.Table | None]:
        """``(day, rows)`` of the latest published day of ``table`` before this one, or ``(None, None)``."""
        if table not in self._previous:
            day = self._manifests.previous_day("transformed", table, self.partition)
            rows = read_table_partitions(self.lake, table, [day], manifests=self._manifests).drop_columns(["dt"]) \
                if day else None
            self._previous[table] = (day, rows)
        return self._previous[table]


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


def _verdict(rules: list[tuple[str, quality.RuleResult]]) -> Verdict:
    failing = [(name, r) for name, r in rules if not r.passed]
    metadata: dict = {f"{name}/failing_rows": r.failing_rows for name, r in rules}
    for name, r in failing:
        metadata[f"{name}/detail"] = r.description
        metadata[f"{name}/examples"] = ", ".join(map(str, r.examples)) or "none"
    description = "; ".join(r.description for _, r in failing) if failing else "all rows pass"
    return not failing, description, metadata


def _check_keys(table: str, day: DayTables) -> Verdict:
    return _verdict([("keys", quality.keys_unique_and_not_null(day[table], TABLES[table].key))])


def _check_references(table: str, day: DayTables) -> Verdict:
    child = day[table]
    rules = []
    for _, column, parent, parent_column, where in (r for r in REFERENCES if r[0] == table):
        mask = pc.equal(child[where[0]], where[1]) if where else None
        rules.append(
            (f"{column}->{parent}", quality.references_exist(child, column, day[parent], parent_column, where=mask))
        )
    return _verdict(rules)


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
    return _verdict(
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
            f"no rows, although {previous_day} had {previous_rows}: the extraction found nothing (wrong seed "
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
        return True, "no previous published day to compare", {}
    change = None if table in ROW_COUNT_VARIES else quality.relative_change(current.num_rows, previous.num_rows)
    schema_diff = quality.schema_differences(current.schema, previous.schema)
    problems = []
    if change is not None and change > ROW_COUNT_MAX_CHANGE:
        problems.append(f"row count {previous.num_rows} → {current.num_rows} ({change:.0%})")
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


def _check_quarantine(table: str, day: DayTables) -> Verdict:
    rows = day[table].num_rows
    quarantined = day.quarantined(table)
    share = quarantined / (rows + quarantined) if rows + quarantined else 0.0
    metadata = {"quarantined": quarantined, "rows": rows, "share": float(share)}
    return share <= QUARANTINE_MAX_SHARE, f"{quarantined} quarantined vs {rows} rows ({share:.2%})", metadata


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
    def bound(value, default):
        if value == "partition":
            return "the partition day's start" if default == "-inf" else "the partition day"
        return default if value is None else value

    return ", ".join(f"{c} in [{bound(lo, '-inf')}, {bound(hi, '+inf')}]" for c, lo, hi in RANGES[table])


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
        lambda t: f"Value ranges (nulls allowed): {_describe_ranges(t)}.",
        applies=lambda t: t in RANGES,
    ),
    CheckDef(
        "not_empty", True, _check_not_empty,
        lambda t: f"Passes when empty: {MAY_BE_EMPTY[t]}." if t in MAY_BE_EMPTY else
        "Fails when the table is empty although its previous published day had rows, or when the "
        "whole day is empty; run the transform with accept_empty: true to publish such a day on purpose.",
    ),
    CheckDef(
        "stable_against_previous_partition", False, _check_drift,
        lambda t: f"Warns when the column schema changed from the previous published day (not the row count: "
        f"{ROW_COUNT_VARIES[t]})." if t in ROW_COUNT_VARIES else
        "Warns when the row count moved more than SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE "
        f"(now {ROW_COUNT_MAX_CHANGE:.0%}) from the previous published day, or the column schema changed.",
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
        f"SPOTIFY_CHECK_QUARANTINE_MAX_SHARE (now {QUARANTINE_MAX_SHARE:.1%}).",
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
