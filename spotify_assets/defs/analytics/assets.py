"""Analytics assets: SQL written once (Athena's dialect) and run on Athena or, locally, on DuckDB.

The assets are derived from :data:`spotify_assets.tables.ANALYTICS_QUERIES`; nothing here names a query."""

from collections.abc import Mapping

import dagster as dg

from ...lake.io_manager import LAKE_IO_MANAGER_KEY
from ...sql.analytics import load_sql, materialize_analytics
from ...tables import ANALYTICS_QUERIES, AnalyticsQuery
from ...warehouse.resources import WarehouseResource
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..catalog.assets import catalog_asset_key
from ..metadata import column_schema, markdown_preview
from ..partitions import daily_partitions


def analytics_specs(queries: Mapping[str, AnalyticsQuery] = ANALYTICS_QUERIES) -> list[dg.AssetSpec]:
    """One asset per analytics query, everything read from its :class:`AnalyticsQuery`: the lineage (the
    catalog entries of the tables it reads), the description, the SQL and the column schema."""
    return [
        dg.AssetSpec(
            name,
            deps=[catalog_asset_key(t) for t in query.reads],
            group_name=groups.ANALYTICS,
            description=f"{query.description} Source: `spotify_assets/sql/{query.sql_file}`; "
            f"published at `analytics/{name}/dt=<partition>/` (the manifest `_published.json` names the current "
            "version). Python assets load it as a pandas DataFrame or an Arrow table through the `lake_io_manager`.",
            kinds={"sql", "athena", "duckdb"},
            automation_condition=conditions.follow_parents(all_parents_present=True),
            metadata={
                "sql": dg.MetadataValue.md(f"```sql\n{load_sql(name)}\n```"),
                "dagster/column_schema": column_schema(query.table),
                "dagster/table_name": name,
            },
        ).with_io_manager_key(LAKE_IO_MANAGER_KEY)
        for name, query in queries.items()
    ]


@dg.multi_asset(
    specs=analytics_specs(),
    partitions_def=daily_partitions,
    hooks=RUN_HOOKS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def analytics_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Compute each selected analytics table for the partition: staged, cast to its declared schema, then
    published in one step (a failed or killed run leaves that day's previous result in place)."""
    partition = context.partition_key
    warehouse.ready()  # wrong settings fail here, naming them (not retried)
    engine = warehouse.query_engine()
    catalog = warehouse.catalog()
    try:
        for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
            name = key.path[-1]
            done = materialize_analytics(
                engine, name, partition, lake=warehouse.get_lake(), catalog=catalog, run_id=context.run_id
            )
            context.log.info(f"{name}: {done.row_count} rows published at {done.location} ({done.engine})")
            metadata = {
                "engine": done.engine,
                "publication": "published",
                "publish_action": done.publish_action,
                "path": dg.MetadataValue.path(done.location),
                "query_ids": ", ".join(done.query_ids),
                "bytes_scanned": done.bytes_scanned if done.bytes_scanned is not None else -1,
                "engine_ms": float(done.engine_ms) if done.engine_ms is not None else -1.0,
                "dagster/row_count": done.row_count,
            }
            if done.preview is not None:
                metadata["preview"] = dg.MetadataValue.md(markdown_preview(done.preview))
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    finally:
        engine.close()
