"""Insights: Python assets over the published tables, loaded and stored by the lake IO manager.

They are the example of what a user's own asset looks like: parameters named after a table, annotated
``pd.DataFrame`` or ``pa.Table``, with an ``AssetIn`` for a window of days — no other wiring.
"""

import dagster as dg
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ...lake.io_manager import ALLOW_MISSING_PARTITIONS, COLUMNS, DT_COLUMN, LAKE_IO_MANAGER_KEY
from ...tables import Column, TableSpec
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..metadata import column_schema, markdown_preview
from ..partitions import daily_partitions

MOVERS_WINDOW_DAYS = 7
MOVERS_TOP_N = 50

WEEKLY_MOVERS = TableSpec(
    name="weekly_movers",
    key=("track_id",),
    description=f"The {MOVERS_TOP_N} tracks whose playlist appearances rose most over the last "
    f"{MOVERS_WINDOW_DAYS} days: appearances on the day against the earliest published day of the window.",
    columns=(
        Column("mover_rank", pa.int64(), "1 for the track whose appearances rose most.", nullable=False),
        Column("track_id", pa.string(), "Spotify ID of the track.", nullable=False),
        Column("name", pa.string(), "Track name on the day (null if the track is not in the day's tracks)."),
        Column("appearances", pa.int64(), "Playlist positions holding the track on the day."),
        Column("baseline_appearances", pa.int64(), "Playlist positions holding it on the baseline day."),
        Column("change", pa.int64(), "appearances - baseline_appearances (> 0)."),
        Column("baseline_dt", pa.string(), "The baseline day: the earliest published day of the window."),
    ),
    source="defs/insights/weekly_movers.py (playlist_items over 7 days, tracks)",
)


def _appearances(items: pa.Table, day: str) -> pa.Table:
    """``item_id`` → playlist positions holding that track on ``day``."""
    on_day = items.filter(pc.and_(pc.equal(items["dt"], day), pc.equal(items["item_type"], "track")))
    counted = on_day.group_by("item_id").aggregate([("item_id", "count")])
    return counted.rename_columns({"item_id": "track_id", "item_id_count": "n"})


def compute_weekly_movers(playlist_items: pa.Table, tracks: pd.DataFrame, day: str, top_n: int = MOVERS_TOP_N) -> tuple[pa.Table, str | None]:
    """The movers of ``day`` from a window of ``playlist_items`` (with ``dt``) and the day's ``tracks``;
    returns the table (``WEEKLY_MOVERS`` schema) and the baseline day (None: no earlier day published)."""
    days = sorted(d for d in pc.unique(playlist_items["dt"]).to_pylist() if d is not None)
    baseline = next((d for d in days if d < day), None)
    if baseline is None:
        return WEEKLY_MOVERS.schema.empty_table(), None
    now = _appearances(playlist_items, day).to_pandas(types_mapper=pd.ArrowDtype)
    before = _appearances(playlist_items, baseline).to_pandas(types_mapper=pd.ArrowDtype)
    movers = now.merge(before, on="track_id", how="left", suffixes=("", "_baseline"))
    movers["appearances"] = movers["n"]
    movers["baseline_appearances"] = movers["n_baseline"].fillna(0)
    movers["change"] = movers["appearances"] - movers["baseline_appearances"]
    movers = movers[movers["change"] > 0]
    movers = movers.sort_values(["change", "appearances", "track_id"], ascending=[False, False, True]).head(top_n)
    movers = movers.merge(tracks[["track_id", "name"]], on="track_id", how="left")
    movers["mover_rank"] = range(1, len(movers) + 1)
    movers["baseline_dt"] = baseline
    return pa.Table.from_pandas(movers[WEEKLY_MOVERS.schema.names], schema=WEEKLY_MOVERS.schema, preserve_index=False), baseline


@dg.asset(
    partitions_def=daily_partitions,
    hooks=RUN_HOOKS,
    group_name=groups.INSIGHTS,
    io_manager_key=LAKE_IO_MANAGER_KEY,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),  # the IO manager stores one day per output
    kinds={"python", "pandas", "parquet"},
    ins={
        "playlist_items": dg.AssetIn(
            partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(MOVERS_WINDOW_DAYS - 1), end_offset=0),
            metadata={
                ALLOW_MISSING_PARTITIONS: True,  # days before the first crawl, or never crawled
                DT_COLUMN: True,
                COLUMNS: ["item_type", "item_id"],
            },
        ),
        "tracks": dg.AssetIn(metadata={COLUMNS: ["track_id", "name"]}),
    },
    metadata={"dagster/column_schema": column_schema(WEEKLY_MOVERS), "dagster/table_name": WEEKLY_MOVERS.name},
    # eager, but a window with days never crawled must not block it (plain eager waits for every parent day)
    automation_condition=conditions.follow_parents(),
)
def weekly_movers(context: dg.AssetExecutionContext, playlist_items: pa.Table, tracks: pd.DataFrame) -> dg.Output[pa.Table]:
    """The tracks whose playlist appearances rose most over the last 7 days.

    For the partition's day, each track's playlist appearances (positions holding it, from
    `playlist_items`) are compared with the earliest published day of the 7-day window; the 50 largest
    rises are kept, ranked, with the track's name from `tracks`. Days of the window that were never
    published are skipped; with no earlier day the result is empty. Stored under
    `insights/weekly_movers/dt=<day>/` by the lake IO manager.
    """
    day = context.partition_key
    movers, baseline = compute_weekly_movers(playlist_items, tracks, day)
    days = sorted(set(playlist_items["dt"].to_pylist()))
    context.log.info(
        f"weekly_movers {day}: {movers.num_rows} risers against {baseline or 'no baseline'} "
        f"({len(days)} published days in the window)"
    )
    return dg.Output(
        movers,
        metadata={
            "dagster/column_schema": column_schema(WEEKLY_MOVERS),
            "preview": dg.MetadataValue.md(markdown_preview(movers)),
            "baseline_dt": baseline or "none (no earlier published day in the window)",
            "days_in_window": len(days),
        },
    )
