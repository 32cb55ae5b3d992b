"""Transformed zone assets: the raw responses of a day become eight normalized Parquet tables."""


import datetime as dt
import os

import dagster as dg

from ..lake.resource import LakeResource
from ..partitions import daily_partitions
from ..transform.pipeline import transform_partition
from ..transform.schemas import TABLES, TableSpec
from .metadata import column_schema, markdown_preview
from .raw import raw_asset_key

TRANSFORMED_GROUP = "transformed"
# A day's tables are expected by 09:00 UTC (the schedule runs at 06:00); past that the UI shows them late.
FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=os.environ.get("SPOTIFY_FRESHNESS_DEADLINE_CRON", "0 9 * * *"), lower_bound_delta=dt.timedelta(hours=24)
)

# Which raw sources feed which table (the lineage graph shows these edges).
TABLE_SOURCES = {
    "playlists": ["playlists"],
    "playlist_items": ["playlists", "playlist_items"],
    "tracks": ["playlists", "playlist_items", "tracks"],
    "track_artists": ["playlists", "playlist_items", "tracks"],
    "albums": ["albums", "tracks", "playlist_items", "playlists"],
    "album_artists": ["albums"],
    "artists": ["artists", "tracks", "playlist_items", "playlists", "albums"],
    "artist_genres": ["artists"],
}


def _spec(table: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        table.name,
        deps=[raw_asset_key(s) for s in TABLE_SOURCES[table.name]],
        group_name=TRANSFORMED_GROUP,
        description=f"{table.description} Key: {', '.join(table.key)}. "
        f"Parquet at `transformed/{table.name}/dt=<partition>/`.",
        kinds={"python", "parquet", "s3"},
        freshness_policy=FRESHNESS,
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": table.name,
            "key": ", ".join(table.key),
        },
    )


@dg.multi_asset(
    specs=[_spec(t) for t in TABLES.values()],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def transformed_tables(context: dg.AssetExecutionContext, lake: LakeResource):
    """Parse, validate and normalize one day of raw responses into the eight tables of DESIGN.md.

    Records that cannot be parsed go to the quarantine zone with their reason and origin; the
    accounting (records in = rows out + quarantined + documented exclusions) is checked and reported.
    Each table's partition is replaced atomically, so re-running never duplicates rows.
    """
    partition = context.partition_key
    the_lake = lake.get_lake()
    result = transform_partition(the_lake, partition, write=True)
    context.log.info(
        f"Transformed {result.raw_files} raw files ({result.raw_bytes} bytes): rows {result.row_counts}, "
        f"quarantined {result.quarantined}"
    )
    for name, spec in TABLES.items():
        table = result.tables[name]
        written = result.written[name]
        quarantine_path = result.quarantine_written.get(name)
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                "dagster/row_count": written.rows,
                "dagster/column_schema": column_schema(spec),
                "preview": dg.MetadataValue.md(markdown_preview(table)),
                "quarantined": len(result.quarantine.get(name, [])),
                "quarantine_path": the_lake.uri(quarantine_path) if quarantine_path else "",
                "bytes_written": written.bytes,
                "path": dg.MetadataValue.path(the_lake.uri(written.path)),
                "accounting": dg.MetadataValue.json(result.accounting["tables"][name]),
            },
        )
