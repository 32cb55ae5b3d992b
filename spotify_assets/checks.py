"""Asset checks on the transformed tables.

Blocking checks (severity ERROR) stop a bad partition from reaching the catalog and analytics: keys,
referential integrity and value ranges. Warning checks flag drift a person should look at: row counts
that jump, a high quarantine share, a changed column schema.
"""


import datetime as dt
import os

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from . import quality
from .lake.parquet import read_table_partitions
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


def _load(lake: LakeResource, table: str, partition: str) -> pa.Table:
    return read_table_partitions(lake.get_lake(), table, [partition])


def _result(rules: list[tuple[str, quality.RuleResult]], severity=dg.AssetCheckSeverity.ERROR):
    failing = [(name, r) for name, r in rules if not r.passed]
    metadata = {f"{name}/failing_rows": r.failing_rows for name, r in rules}
    for name, r in failing:
        metadata[f"{name}/detail"] = r.description
        metadata[f"{name}/examples"] = ", ".join(map(str, r.examples)) or "none"
    return dg.AssetCheckResult(
        passed=not failing,
        severity=severity,
        metadata=metadata,
        description="; ".join(r.description for _, r in failing) if failing else "all rows pass",
    )


def _keys_check(table: str) -> dg.AssetChecksDefinition:
    spec = TABLES[table]

    @dg.asset_check(
        asset=table,
        name="keys_unique_and_not_null",
        blocking=True,
        partitions_def=daily_partitions,
        description=f"Every row has a non-null, unique key ({', '.join(spec.key)}).",
    )
    def check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        data = _load(lake, table, context.partition_key)
        return _result([("keys", quality.keys_unique_and_not_null(data, spec.key))])

    return check


def _references_check(table: str) -> dg.AssetChecksDefinition:
    refs = [r for r in REFERENCES if r[0] == table]
    parents = sorted({r[2] for r in refs})
    described = "; ".join(f"{c}.{col} → {p}.{pcol}" + (f" (where {w[0]} = {w[1]})" if w else "") for c, col, p, pcol, w in refs)

    @dg.asset_check(
        asset=table,
        name="references_exist",
        blocking=True,
        partitions_def=daily_partitions,
        additional_deps=[dg.AssetKey(p) for p in parents if p != table],
        description=f"Referential integrity: {described}.",
    )
    def check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        partition = context.partition_key
        child = _load(lake, table, partition)
        loaded = {p: _load(lake, p, partition) for p in parents}
        rules = []
        for _, column, parent, parent_column, where in refs:
            mask = pc.equal(child[where[0]], where[1]) if where else None
            rules.append(
                (f"{column}->{parent}", quality.references_exist(child, column, loaded[parent], parent_column, where=mask))
            )
        return _result(rules)

    return check


def _ranges_check(table: str) -> dg.AssetChecksDefinition:
    ranges = RANGES[table]
    described = ", ".join(
        f"{c} in [{lo if lo is not None else '-inf'}, {'the partition day' if hi == 'partition' else hi if hi is not None else '+inf'}]"
        for c, lo, hi in ranges
    )

    @dg.asset_check(
        asset=table,
        name="values_in_range",
        blocking=True,
        partitions_def=daily_partitions,
        description=f"Value ranges (nulls allowed): {described}.",
    )
    def check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        partition = context.partition_key
        data = _load(lake, table, partition)
        day = dt.date.fromisoformat(partition)
        rules = [
            (column, quality.within_range(data, column, low, day if high == "partition" else high))
            for column, low, high in ranges
        ]
        return _result(rules)

    return check


def _previous_partition(lake: LakeResource, table: str, partition: str) -> str | None:
    earlier = [p for p in lake.get_lake().list_partitions(f"transformed/{table}") if p < partition]
    return earlier[-1] if earlier else None


def _drift_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table,
        name="stable_against_previous_partition",
        partitions_def=daily_partitions,
        description=(
            "Warns when the row count moved more than SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE "
            f"(now {ROW_COUNT_MAX_CHANGE:.0%}) from the previous partition, or the column schema changed."
        ),
    )
    def check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        partition = context.partition_key
        current = _load(lake, table, partition)
        previous_partition = _previous_partition(lake, table, partition)
        if previous_partition is None:
            return dg.AssetCheckResult(
                passed=True, severity=dg.AssetCheckSeverity.WARN, description="no previous partition to compare"
            )
        previous = _load(lake, table, previous_partition)
        change = quality.relative_change(current.num_rows, previous.num_rows)
        schema_diff = quality.schema_differences(current.schema, previous.schema)
        too_much = change is not None and change > ROW_COUNT_MAX_CHANGE
        problems = []
        if too_much:
            problems.append(f"row count {previous.num_rows} → {current.num_rows} ({change:.0%})")
        if schema_diff:
            problems.append("schema changed: " + "; ".join(schema_diff))
        return dg.AssetCheckResult(
            passed=not problems,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(problems) or f"stable against {previous_partition}",
            metadata={
                "previous_partition": previous_partition,
                "rows": current.num_rows,
                "previous_rows": previous.num_rows,
                "relative_change": float(change) if change is not None else 0.0,
                "schema_changes": "; ".join(schema_diff) or "none",
            },
        )

    return check


def _quarantine_check(table: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table,
        name="quarantine_share_low",
        partitions_def=daily_partitions,
        description=(
            "Warns when the share of records quarantined for this table exceeds "
            f"SPOTIFY_CHECK_QUARANTINE_MAX_SHARE (now {QUARANTINE_MAX_SHARE:.1%})."
        ),
    )
    def check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        partition = context.partition_key
        rows = _load(lake, table, partition).num_rows
        quarantined = len(read_quarantine(lake.get_lake(), table, partition))
        share = quarantined / (rows + quarantined) if rows + quarantined else 0.0
        return dg.AssetCheckResult(
            passed=share <= QUARANTINE_MAX_SHARE,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{quarantined} quarantined vs {rows} rows ({share:.2%})",
            metadata={"quarantined": quarantined, "rows": rows, "share": float(share)},
        )

    return check


def build_transformed_checks() -> list[dg.AssetChecksDefinition]:
    checks = []
    for table in TABLES:
        checks.append(_keys_check(table))
        if any(r[0] == table for r in REFERENCES):
            checks.append(_references_check(table))
        if table in RANGES:
            checks.append(_ranges_check(table))
        checks.append(_drift_check(table))
        checks.append(_quarantine_check(table))
    return checks
