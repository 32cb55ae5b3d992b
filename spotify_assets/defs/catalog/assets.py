"""Catalog assets: each transformed table registered in the Glue Data Catalog (locally, a DuckDB view)."""

from collections.abc import Callable, Iterable

import dagster as dg

from ...lake.publication.superseded import remove_superseded
from ...tables import TABLES
from ...warehouse.resources import WarehouseResource
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..partitions import daily_partitions


def catalog_asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(f"catalog_{table}")


def catalog_specs(tables: Iterable[str], *, group_name: str, description: Callable[[str], str],
                  automation_condition: dg.AutomationCondition) -> list[dg.AssetSpec]:
    """One catalog asset per table, downstream of the table: ``catalog_<table>`` in ``group_name``."""
    return [
        dg.AssetSpec(catalog_asset_key(name), deps=[name], group_name=group_name, description=description(name),
                     kinds={"glue", "duckdb"}, automation_condition=automation_condition)
        for name in tables
    ]


@dg.multi_asset(
    specs=catalog_specs(
        TABLES,
        group_name=groups.CATALOG,
        description=lambda name: (
            f"The `{name}` table in the catalog: a Glue table (Parquet SerDe, partition key `dt`, column "
            "comments from the schema) on AWS, a DuckDB view over the lake locally, over the published "
            "files. Runs only after the table's blocking checks passed."
        ),
        automation_condition=conditions.after_blocking_checks(),
    ),
    partitions_def=daily_partitions,
    hooks=RUN_HOOKS,
    can_subset=True,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def catalog_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Create or update each selected table in the catalog and point the day's partition at its published
    version, all of the day's tables together (DuckDB: one new catalog file switched in at once; Glue: the
    partitions back to back, each carrying the day version it shows); idempotent. Then remove the versions of
    that day the switch superseded (the version just replaced stays for queries planned on it). Days the
    catalog cannot read (a damaged manifest) and folders that are not `dt=YYYY-MM-DD` are left out and
    reported in the metadata (`skipped`) and the log; they stop no other day."""
    partition = context.partition_key
    lake = warehouse.ready().get_lake()
    catalog = warehouse.catalog()
    catalog.ensure_database()
    tables = sorted(key.path[-1].removeprefix("catalog_") for key in context.selected_asset_keys)
    registered = catalog.register_day([TABLES[t] for t in tables], partition)
    for problem in registered.problems:
        context.log.warning(f"{catalog.name}: skipped {problem}")
    context.log.info(
        f"{catalog.name}: dt={partition} of {len(tables)} tables switched to day version "
        f"{registered.day_version or '(none: published before day manifests)'}"
    )
    for table in tables:
        table_action, partition_action = registered.actions[table]
        removed = remove_superseded(lake, "transformed", table, partition)
        removed += remove_superseded(lake, "quarantine", table, partition)
        context.log.info(
            f"{catalog.name}: table {table} {table_action}, partition dt={partition} {partition_action}"
            + (f"; removed superseded {', '.join(removed)}" if removed else "")
        )
        yield dg.MaterializeResult(
            asset_key=catalog_asset_key(table),
            metadata={
                "catalog": catalog.name,
                "table_action": table_action,
                "partition_action": partition_action,
                "partition": partition,
                "day_version": registered.day_version or "none",
                "partitions_registered": len(catalog.list_partitions(table)),
                "superseded_removed": len(removed),
                "skipped": dg.MetadataValue.json(registered.problems),
            },
        )
