"""Asset checks on the transformed tables.

Blocking checks (severity ERROR) stop a bad partition from reaching the catalog and analytics: keys,
referential integrity and value ranges. Warning checks flag drift a person should look at: row counts
that jump, a high quarantine share, a changed column schema.

All checks of a partition run in one step (one process under the multiprocess executor, each table read
once); each check is still its own result in the UI and can be run alone.
"""


import datetime as dt
import os
import warnings

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from . import quality
from .lake.parquet import read_table_partitions
from .lake.paths import table_root
from .lake.quarantine import read_quarantine
from .lake.resource import LakeResource
from .partitions import daily_partitions
from .transform.schemas import TABLES

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
]

# table -> [(column, low, high)]; high "partition" means "not after the partition's day"
RANGES = {
    "tracks": [("popularity", 0, 100), ("duration_ms", 0, None), ("disc_number", 0, None)],
    "albums": [("popularity", 0, 100), ("total_tracks", 0, None), ("release_date", None, "partition")],
    "artists": [("popularity", 0, 100), ("followers", 0, None)],
    "playlists": [("followers", 0, None), ("total_items", 0, None)],
    "playlist_items": [("position", 0, None)],
}


class _PartitionTables:
    """Loads each table of one partition at most once while the checks run."""

    def __init__(self, lake: LakeResource, partition: str):
        self.lake = lake
        self.partition = partition
        self._tables: dict[str, pa.Table] = {}

    def __getitem__(self, table: str) -> pa.Table:
        if table not in self._tables:
            self._tables[table] = read_table_partitions(self.lake.get_lake(), table, [self.partition])
        return self._tables[table]


def _result(rules: list[tuple[str, quality.RuleResult]]) -> tuple[bool, str, dict]:
    failing = [(name, r) for name, r in rules if not r.passed]
    metadata = {f"{name}/failing_rows": r.failing_rows for name, r in rules}
    for name, r in failing:
        metadata[f"{name}/detail"] = r.description
        metadata[f"{name}/examples"] = ", ".join(map(str, r.examples)) or "none"
    description = "; ".join(r.description for _, r in failing) if failing else "all rows pass"
    return not failing, description, metadata


def _check_keys(table: str, tables: _PartitionTables):
    return _result([("keys", quality.keys_unique_and_not_null(tables[table], TABLES[table].key))])


def _check_references(table: str, tables: _PartitionTables):
    child = tables[table]
    rules = []
    for _, column, parent, parent_column, where in (r for r in REFERENCES if r[0] == table):
        mask = pc.equal(child[where[0]], where[1]) if where else None
        rules.append(
            (f"{column}->{parent}", quality.references_exist(child, column, tables[parent], parent_column, where=mask))
        )
    return _result(rules)


def _check_ranges(table: str, tables: _PartitionTables):
    data = tables[table]
    day = dt.date.fromisoformat(tables.partition)
    return _result(
        [
            (column, quality.within_range(data, column, low, day if high == "partition" else high))
            for column, low, high in RANGES[table]
        ]
    )


def _check_drift(table: str, tables: _PartitionTables):
    current = tables[table]
    previous_partition = tables.lake.get_lake().previous_partition(table_root(table), tables.partition)
    if previous_partition is None:
        return True, "no previous partition to compare", {}
    previous = read_table_partitions(tables.lake.get_lake(), table, [previous_partition])
    change = quality.relative_change(current.num_rows, previous.num_rows)
    schema_diff = quality.schema_differences(current.schema, previous.schema)
    problems = []
    if change is not None and change > ROW_COUNT_MAX_CHANGE:
        problems.append(f"row count {previous.num_rows} → {current.num_rows} ({change:.0%})")
    if schema_diff:
        problems.append("schema changed: " + "; ".join(schema_diff))
    metadata = {
        "previous_partition": previous_partition,
        "rows": current.num_rows,
        "previous_rows": previous.num_rows,
        "relative_change": float(change) if change is not None else 0.0,
        "schema_changes": "; ".join(schema_diff) or "none",
    }
    return not problems, "; ".join(problems) or f"stable against {previous_partition}", metadata


def _check_quarantine(table: str, tables: _PartitionTables):
    rows = tables[table].num_rows
    quarantined = len(read_quarantine(tables.lake.get_lake(), table, tables.partition))
    share = quarantined / (rows + quarantined) if rows + quarantined else 0.0
    metadata = {"quarantined": quarantined, "rows": rows, "share": float(share)}
    return share <= QUARANTINE_MAX_SHARE, f"{quarantined} quarantined vs {rows} rows ({share:.2%})", metadata


def _describe_references(table: str) -> str:
    return "; ".join(
        f"{c}.{col} → {p}.{pcol}" + (f" (where {w[0]} = {w[1]})" if w else "")
        for c, col, p, pcol, w in REFERENCES
        if c == table
    )


def _describe_ranges(table: str) -> str:
    def bound(value, default):
        return "the partition day" if value == "partition" else default if value is None else value

    return ", ".join(f"{c} in [{bound(lo, '-inf')}, {bound(hi, '+inf')}]" for c, lo, hi in RANGES[table])


# check name -> (blocking, evaluator, description for a table)
CHECKS = {
    "keys_unique_and_not_null": (
        True, _check_keys, lambda t: f"Every row has a non-null, unique key ({', '.join(TABLES[t].key)})."
    ),
    "references_exist": (True, _check_references, lambda t: f"Referential integrity: {_describe_references(t)}."),
    "values_in_range": (True, _check_ranges, lambda t: f"Value ranges (nulls allowed): {_describe_ranges(t)}."),
    "stable_against_previous_partition": (
        False,
        _check_drift,
        lambda t: "Warns when the row count moved more than SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE "
        f"(now {ROW_COUNT_MAX_CHANGE:.0%}) from the previous partition, or the column schema changed.",
    ),
    "quarantine_share_low": (
        False,
        _check_quarantine,
        lambda t: "Warns when the share of records quarantined for this table exceeds "
        f"SPOTIFY_CHECK_QUARANTINE_MAX_SHARE (now {QUARANTINE_MAX_SHARE:.1%}).",
    ),
}


def _applies(check: str, table: str) -> bool:
    if check == "references_exist":
        return any(r[0] == table for r in REFERENCES)
    if check == "values_in_range":
        return table in RANGES
    return True


def _specs() -> list[dg.AssetCheckSpec]:
    # Partitioned checks are "preview" in Dagster 1.13, but they are what gives each day its own result.
    warnings.filterwarnings("ignore", message=".*partitions_def on an AssetCheckSpec.*", category=dg.PreviewWarning)
    specs = []
    for table in TABLES:
        parents = sorted({r[2] for r in REFERENCES if r[0] == table and r[2] != table})
        for name, (blocking, _, describe) in CHECKS.items():
            if _applies(name, table):
                specs.append(
                    dg.AssetCheckSpec(
                        name,
                        asset=table,
                        description=describe(table),
                        blocking=blocking,
                        additional_deps=[dg.AssetKey(p) for p in parents] if name == "references_exist" else None,
                        partitions_def=daily_partitions,
                    )
                )
    return specs


@dg.multi_asset_check(specs=_specs(), can_subset=True, name="transformed_table_checks")
def transformed_table_checks(context: dg.AssetCheckExecutionContext, lake: LakeResource):
    """Data-quality checks of one partition of the transformed tables (blocking ones gate the catalog)."""
    tables = _PartitionTables(lake, context.partition_key)
    for key in sorted(context.selected_asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        table = key.asset_key.path[-1]
        blocking, evaluate, _ = CHECKS[key.name]
        passed, description, metadata = evaluate(table, tables)
        yield dg.AssetCheckResult(
            asset_key=key.asset_key,
            check_name=key.name,
            passed=passed,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            description=description,
            metadata=metadata,
        )


def build_transformed_checks() -> list[dg.AssetChecksDefinition]:
    return [transformed_table_checks]
