"""Catalog assets: each transformed table registered in the Glue Data Catalog (locally, a DuckDB view)."""


import dagster as dg

from ...lake.publication import remove_superseded
from ...tables import TABLES
from ...warehouse.resources import WarehouseResource
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..partitions import daily_partitions


def catalog_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"catalog_{table}")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            catalog_asset_key(name),
            deps=[name],
            group_name=groups.CATALOG,
            description=(
                f"The `{name}` table in the catalog: a Glue table (Parquet SerDe, partition key `dt`, column "
                "comments from the schema) on AWS, a DuckDB view over the lake locally, over the published "
                "files. Runs only after the table's blocking checks passed."
            ),
            kinds={"glue", "duckdb"},
            automation_condition=conditions.after_blocking_checks(),
        )
        for name in TABLES
    ],
    partitions_def=daily_partitions,
    hooks=RUN_HOOKS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def catalog_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Create or update each selected table in the catalog and point the day's partition at its published
    version (idempotent); then remove the versions of that day it superseded, once readers had time to finish."""
    partition = context.partition_key
    catalog = warehouse.catalog()
    catalog.ensure_database()
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        table = key.path[-1].removeprefix("catalog_")
        spec = TABLES[table]
        table_action = catalog.ensure_table(spec)
        partition_action = catalog.register_partition(spec, partition)
        removed = remove_superseded(warehouse.get_lake(), "transformed", table, partition)
        removed += remove_superseded(warehouse.get_lake(), "quarantine", table, partition)
        context.log.info(
            f"{catalog.name}: table {table} {table_action}, partition dt={partition} {partition_action}"
            + (f"; removed superseded {', '.join(removed)}" if removed else "")
        )
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "catalog": catalog.name,
                "table_action": table_action,
                "partition_action": partition_action,
                "partition": partition,
                "partitions_registered": len(catalog.list_partitions(table)),
                "superseded_removed": len(removed),
            },
        )
