"""Data-quality rules over Arrow tables, free of Dagster so they are quick to test and reuse.

Each rule returns a :class:`RuleResult`: whether it passed, how many rows broke it, and a few examples
for the person reading the check in the UI.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

EXAMPLES = 5


@dataclass(frozen=True)
class RuleResult:
    passed: bool
    failing_rows: int
    description: str
    examples: list = field(default_factory=list)

    def metadata(self) -> dict:
        return {"failing_rows": self.failing_rows, "examples": ", ".join(map(str, self.examples)) or "none"}


def _examples(table: pa.Table, mask: pa.ChunkedArray, columns: list[str]) -> list:
    rows = table.filter(mask).select(columns).slice(0, EXAMPLES).to_pylist()
    return [tuple(r.values()) if len(r) > 1 else next(iter(r.values())) for r in rows]


def keys_unique_and_not_null(table: pa.Table, key: tuple[str, ...]) -> RuleResult:
    """Every key column is non-null and no key appears twice."""
    cols = list(key)
    null_mask = None
    for c in cols:
        m = pc.is_null(table[c])
        null_mask = m if null_mask is None else pc.or_(null_mask, m)
    nulls = int(pc.sum(null_mask).as_py() or 0) if table.num_rows else 0
    counts = table.select(cols).group_by(cols).aggregate([([], "count_all")])
    dup_groups = counts.filter(pc.greater(counts["count_all"], 1))
    dup_rows = int(pc.sum(dup_groups["count_all"]).as_py() or 0) if dup_groups.num_rows else 0
    examples = [tuple(r[c] for c in cols) for r in dup_groups.slice(0, EXAMPLES).to_pylist()]
    failing = nulls + dup_rows
    return RuleResult(
        failing == 0,
        failing,
        f"{nulls} rows with a null key, {dup_groups.num_rows} keys ({dup_rows} rows) duplicated on {', '.join(cols)}",
        examples,
    )


def references_exist(
    child: pa.Table, column: str, parent: pa.Table, parent_column: str, *, where: pa.ChunkedArray | None = None
) -> RuleResult:
    """Every non-null ``child.column`` (optionally only rows matching ``where``) exists in the parent."""
    values = child[column]
    mask = pc.and_(pc.is_valid(values), pc.invert(pc.is_in(values, value_set=parent[parent_column].combine_chunks())))
    if where is not None:
        mask = pc.and_(mask, where)
    mask = pc.fill_null(mask, False)
    failing = int(pc.sum(mask).as_py() or 0)
    return RuleResult(
        failing == 0,
        failing,
        f"{failing} rows whose {column} is missing from the parent's {parent_column}",
        _examples(child, mask, [column]) if failing else [],
    )


def within_range(table: pa.Table, column: str, low=None, high=None) -> RuleResult:
    """Non-null values of ``column`` lie within [low, high] (either bound optional)."""
    values = table[column]
    bad = None
    if low is not None:
        bad = pc.less(values, pa.scalar(low, type=values.type))
    if high is not None:
        over = pc.greater(values, pa.scalar(high, type=values.type))
        bad = over if bad is None else pc.or_(bad, over)
    bad = pc.fill_null(bad, False)
    failing = int(pc.sum(bad).as_py() or 0)
    bounds = f"[{low if low is not None else '-inf'}, {high if high is not None else '+inf'}]"
    return RuleResult(
        failing == 0, failing, f"{failing} rows with {column} outside {bounds}", _examples(table, bad, [column])
    )


def not_after(table: pa.Table, column: str, day: dt.date) -> RuleResult:
    return within_range(table, column, high=day)


def relative_change(current: int, previous: int | None) -> float | None:
    """|current − previous| / previous, or None with no usable previous value."""
    if not previous:
        return None
    return abs(current - previous) / previous


def schema_differences(current: pa.Schema, previous: pa.Schema) -> list[str]:
    """Human-readable differences between two schemas (names and types; metadata ignored)."""
    before = {f.name: f.type for f in previous}
    after = {f.name: f.type for f in current}
    diffs = [f"added {n} ({after[n]})" for n in after if n not in before]
    diffs += [f"removed {n}" for n in before if n not in after]
    diffs += [f"{n}: {before[n]} -> {after[n]}" for n in after if n in before and before[n] != after[n]]
    return diffs
