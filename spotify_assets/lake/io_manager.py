"""The lake as a Dagster IO manager: Python assets load published tables as pandas or Arrow, and may store
their own daily outputs in the lake.

Registered as ``lake_io_manager`` (:mod:`spotify_assets.defs.resources`) and attached to every transformed and
analytics asset, so an asset that names one of them as a parameter gets its published rows with no other
wiring. Dagster's default ``io_manager`` is left alone: other assets' outputs keep working as usual.

**Loading** (any transformed or analytics table, or an ``insights`` table this IO manager stored):

* the type annotation chooses the object: ``pd.DataFrame`` (also for an unannotated parameter; columns
  use pandas' Arrow-backed dtypes, so nullable integers stay integers) or ``pa.Table``;
* the partitions are the ones Dagster maps the asset's partition to: the same day by default, a window of
  days with ``dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-6, end_offset=0))``,
  every day for an unpartitioned asset. Rows come day by day, oldest first, each day read through its
  manifest (never ``_staging/``, never a folder listing of versions). All the inputs of one step read the
  manifests once: every table of a day comes from the same day version, even when the day is published
  again between two of them;
* the listening history tables (``streams``, ``listens``: not partitioned in Dagster, by month in the lake)
  load whole, every published month, oldest first (their rows carry ``dt`` themselves);
* when more than one day is asked for, a ``dt`` column (``YYYY-MM-DD`` string) says which day a row is of;
  ``AssetIn(metadata={"dt_column": True})`` adds it for a single day too;
* a day without a published version fails the step (:class:`~spotify_assets.lake.parquet.MissingPartitionsError`)
  unless the input says ``dg.AssetIn(metadata={"allow_missing_partitions": True})``: such days are then
  skipped. A day published empty is not missing; it has no rows;
* ``dg.AssetIn(metadata={"columns": ["track_id", "name"]})`` reads only those columns;
* a wrong ``SPOTIFY_LAKE_URI`` or a damaged manifest of a day asked for fails the step naming the setting or
  the manifest's path, without a retry (neither can be cured by one).

The step records which version of which day it read and how many rows: as the metadata of the "loaded
input" event for one day, as a log line for several (Dagster attaches input metadata to one partition only).

**Storing** (``io_manager_key="lake_io_manager"`` on a daily-partitioned Python asset that returns a
``pd.DataFrame`` or ``pa.Table``): the partition is written as zstd Parquet to the run's staging folder and
published as a content-named version under ``insights/<asset>/dt=<day>/`` (manifest switch, as every other
zone). The transformed and analytics assets are not stored this way: their steps stage, audit and publish
the eight tables (or a query's result) together, which one output at a time cannot do.
"""

from __future__ import annotations

import typing

import dagster as dg
import pandas as pd
import pyarrow as pa
from pydantic import PrivateAttr

from ..tables import ANALYTICS_TABLES, HISTORY_TABLES, TABLES
from .parquet import MissingPartitionsError, read_published, write_arrow_file
from .paths import safe_name, validate_partition
from .publication.manifests import CorruptManifestError, Manifests
from .publication.publish import publish
from .publication.staging import Staging
from .publication.superseded import remove_superseded
from .resource import LakeResource

LAKE_IO_MANAGER_KEY = "lake_io_manager"
ALLOW_MISSING_PARTITIONS = "allow_missing_partitions"
DT_COLUMN = "dt_column"
COLUMNS = "columns"
INSIGHTS_ZONE = "insights"


def zone_of(table: str) -> str:
    """The lake zone a table is published in: ``transformed``, ``analytics``, or ``insights`` (any other)."""
    if table in TABLES or table in HISTORY_TABLES:
        return "transformed"
    if table in ANALYTICS_TABLES:
        return "analytics"
    return INSIGHTS_ZONE


def _contract_schema(table: str) -> pa.Schema | None:
    spec = TABLES.get(table) or ANALYTICS_TABLES.get(table) or HISTORY_TABLES.get(table)
    return spec.schema if spec else None


def _wants_arrow(context: dg.InputContext) -> bool:
    wanted = context.dagster_type.typing_type
    if wanted is pa.Table:
        return True
    if wanted is pd.DataFrame or wanted in (typing.Any, object):
        return False
    raise TypeError(
        f"input {context.name!r} of {context.asset_key.to_user_string()}: the lake IO manager loads a "
        f"pd.DataFrame or a pa.Table; annotate the parameter with one of them (got {wanted!r})"
    )


class LakeIOManager(dg.ConfigurableIOManager):
    """Loads published lake tables into Python assets as pandas DataFrames or Arrow tables (by the
    parameter's annotation), one day or a window of days; stores daily outputs of Python assets under
    ``insights/``. Input metadata: ``allow_missing_partitions`` (skip days never published instead of
    failing), ``columns`` (read only these), ``dt_column`` (add the day column for a single day too)."""

    lake: LakeResource

    # The manifests each step's inputs are read through: (run id, step key) → one reading of the day manifests.
    _manifests: dict[tuple[str, str], Manifests] = PrivateAttr(default_factory=dict)

    def _manifests_of(self, context: dg.InputContext, lake) -> Manifests:
        try:
            step = (context.step_context.run_id, context.step_context.step.key)
        except dg.DagsterInvariantViolationError:  # a context built by hand (build_input_context)
            step = ("", "")
        if step not in self._manifests:
            self._manifests = {step: Manifests(lake)}  # a new step: nothing read before is kept
        return self._manifests[step]

    # -- loading ----------------------------------------------------------------------------------------
    def load_input(self, context: dg.InputContext) -> pd.DataFrame | pa.Table:
        asset_key = context.asset_key
        table = asset_key.path[-1]
        zone = zone_of(table)
        if table in HISTORY_TABLES and not context.has_asset_partitions:
            return self._load_history(context, table)
        if not context.has_asset_partitions:
            raise dg.Failure(
                f"{asset_key.to_user_string()} is not partitioned: the lake IO manager loads daily-partitioned tables"
            )
        days = [validate_partition(d) for d in context.asset_partition_keys]
        metadata = context.definition_metadata or {}
        arrow = _wants_arrow(context)
        columns = metadata.get(COLUMNS)
        if columns is not None and (isinstance(columns, str) or not all(isinstance(c, str) for c in columns)):
            raise TypeError(f"input {context.name!r}: metadata {COLUMNS!r} must be a list of column names")
        allow_missing = bool(metadata.get(ALLOW_MISSING_PARTITIONS, False))
        lake = self.lake.ready_lake()
        try:
            read = read_published(
                lake,
                zone,
                table,
                days,
                columns=list(columns) if columns is not None else None,
                allow_missing=allow_missing,
                add_dt=len(days) > 1 or bool(metadata.get(DT_COLUMN, False)),
                schema=_contract_schema(table),
                manifests=self._manifests_of(context, lake),
            )
        except CorruptManifestError as exc:
            raise dg.Failure(description=f"Cannot load input {context.name!r}: {exc}", allow_retries=False) from exc
        except MissingPartitionsError as exc:
            raise dg.Failure(
                description=f"Cannot load input {context.name!r}: {exc}. Materialize those days first, or let "
                f'this input skip them: dg.AssetIn(metadata={{"{ALLOW_MISSING_PARTITIONS}": True}}).',
                metadata={"missing_days": ", ".join(exc.missing)},
                allow_retries=False,
            ) from exc
        if read.missing:
            context.log.warning(
                f"{table}: {len(read.missing)} of {len(days)} days have no published version and were skipped: "
                + ", ".join(read.missing[:10])
            )
        loaded = f"{table}: {read.table.num_rows} published rows of {len(read.versions)} day(s) as {'pa.Table' if arrow else 'pd.DataFrame'}"
        if len(days) == 1:
            context.add_input_metadata(
                {
                    "zone": zone,
                    "days_loaded": len(read.versions),
                    "versions": dg.MetadataValue.json(read.versions),
                    "dagster/row_count": read.table.num_rows,
                },
                description=loaded,
            )
        else:  # Dagster 1.13 cannot attach input metadata to an input of several partitions: a log line then
            context.log.info(f"Loaded {loaded}, versions {read.versions}")
        if arrow:
            return read.table
        return read.table.to_pandas(types_mapper=pd.ArrowDtype)

    def _load_history(self, context: dg.InputContext, table: str) -> pd.DataFrame | pa.Table:
        """Every published month of a history table (see the module docstring)."""
        lake = self.lake.ready_lake()
        columns = (context.definition_metadata or {}).get(COLUMNS)
        manifests = Manifests(lake)  # one listing of the table's months, for both the months and the read
        months = manifests.partitions("transformed", table, key="month")
        read = read_published(lake, "transformed", table, months, columns=list(columns) if columns else None,
                              schema=HISTORY_TABLES[table].schema, manifests=manifests)
        context.log.info(f"Loaded {table}: {read.table.num_rows} published rows of {len(months)} month(s)")
        return read.table if _wants_arrow(context) else read.table.to_pandas(types_mapper=pd.ArrowDtype)

    # -- storing ----------------------------------------------------------------------------------------
    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | pa.Table | None) -> None:
        if obj is None:
            return  # an asset that returned nothing (e.g. a MaterializeResult): there is nothing to store
        table_name = safe_name(context.asset_key.path[-1])
        if zone_of(table_name) != INSIGHTS_ZONE:
            raise dg.Failure(
                f"{table_name} is published by its own step (stage, audit, publish); the lake IO manager only "
                "loads it. Return a MaterializeResult from that step, not a table."
            )
        if isinstance(obj, pd.DataFrame):
            rows = pa.Table.from_pandas(obj, preserve_index=False)
        elif isinstance(obj, pa.Table):
            rows = obj
        else:
            raise TypeError(
                f"{table_name}: the lake IO manager stores a pd.DataFrame or a pa.Table, got {type(obj).__name__}"
            )
        if not context.has_partition_key:
            raise dg.Failure(
                f"{table_name}: the lake IO manager stores one day per output; give the asset the daily "
                "partitions (spotify_assets.defs.partitions.daily_partitions) and run one partition per run"
            )
        day = validate_partition(context.partition_key)
        lake = self.lake.ready_lake()
        # A staging folder of its own: other steps of the run (analytics) stage and discard the run's folder.
        staging = Staging(lake, day, f"{context.run_id}.{table_name}"[:128])
        staging.reset()
        written = write_arrow_file(lake, staging.file(INSIGHTS_ZONE, table_name), rows)
        published = publish(staging, [(INSIGHTS_ZONE, table_name)])[0]
        staging.discard()
        remove_superseded(lake, INSIGHTS_ZONE, table_name, day)  # keeps the version just replaced
        context.add_output_metadata(
            {
                "publication": "published",
                "publish_action": published.action,
                "version": published.version.version,
                "path": dg.MetadataValue.path(lake.uri(published.version.file)),
                "bytes_written": written.bytes,
                "dagster/row_count": rows.num_rows,
            }
        )
