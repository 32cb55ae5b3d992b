"""``catalog_streams``, ``catalog_listens``: the history tables in the catalog — Glue tables partitioned by
``month`` on AWS (every published month registered: years of history are queryable in Athena by day, with
``dt``), DuckDB views locally — once the table's blocking checks passed."""

import concurrent.futures as cf
import functools

import dagster as dg

from ...history.wap import io_threads
from ...lake.publication.manifests import published_partitions
from ...lake.publication.superseded import remove_superseded
from ...tables.history import HISTORY_TABLES
from ...warehouse.resources import WarehouseResource
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..catalog.assets import catalog_specs


@dg.multi_asset(
    specs=catalog_specs(
        HISTORY_TABLES,
        group_name=groups.HISTORY,
        description=lambda name: (
            f"The `{name}` table in the catalog: a Glue table partitioned by `month` (YYYY-MM), one partition per "
            "published month pointing at its current version, on AWS; a DuckDB view over the published files "
            f"locally. Query a day with `WHERE dt = 'YYYY-MM-DD'` (add `month = 'YYYY-MM'` on Athena to read that "
            "month's file only). Runs only after the table's blocking checks passed."
        ),
        automation_condition=conditions.history(after_blocking_checks=True),
    ),
    hooks=RUN_HOOKS,
    can_subset=True,
)
def history_catalog(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Create or update each selected history table in the catalog and point every month at its published
    version (only months whose version changed are touched on Glue); then remove the versions superseded."""
    lake = warehouse.ready().get_lake()
    catalog = warehouse.catalog()
    catalog.ensure_database()
    for key in sorted(context.selected_asset_keys, key=lambda k: k.to_user_string()):
        table = key.path[-1].removeprefix("catalog_")
        spec = HISTORY_TABLES[table]
        table_action = catalog.ensure_table(spec)
        months = published_partitions(lake, "transformed", table, key="month")
        outcome = catalog.sync_partitions(spec, months)
        with cf.ThreadPoolExecutor(max_workers=io_threads(lake)) as pool:
            superseded = pool.map(functools.partial(remove_superseded, lake, "transformed", table), months)
            removed = [r for found in superseded for r in found]
        removed += remove_superseded(lake, "quarantine", table, None)
        context.log.info(f"{catalog.name}: table {table} {table_action}, {len(months)} months {outcome}"
                         + (f"; removed {len(removed)} superseded versions" if removed else ""))
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                "catalog": catalog.name,
                "table_action": table_action,
                "months_published": len(months),
                "first_month": months[0] if months else "",
                "last_month": months[-1] if months else "",
                "partitions": dg.MetadataValue.json(outcome),
                "partitions_registered": len(catalog.list_partitions(table)),
                "superseded_removed": len(removed),
            },
        )

