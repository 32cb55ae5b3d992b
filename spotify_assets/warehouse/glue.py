"""The AWS Glue Data Catalog: one database, one external Parquet table per transformed table.

* Columns and types come from the Arrow schemas in :mod:`spotify_assets.transform.schemas` (string,
  bigint, int, boolean, date, timestamp, double, decimal(p,s), array<…>), each with its description as
  the column comment; the table comment is the TableSpec description.
* Storage: ``ParquetHiveSerDe`` with the Mapred Parquet input/output formats, location
  ``s3://…/transformed/<table>/``, partition key ``dt`` (string, ``YYYY-MM-DD``), parameters
  ``classification=parquet``, ``EXTERNAL=TRUE``.
* :meth:`GlueCatalog.ensure_table` creates or updates. Adding a (nullable) column updates the table only:
  existing partitions keep their own column list and Athena reads Parquet by column name, so old files
  return NULL for the new column. Changing a column's type is refused (:class:`SchemaChangeError`) — that
  needs a new column name or a rewrite of the old partitions.
* :meth:`GlueCatalog.register_partition` is idempotent: BatchCreatePartition, and on
  ``AlreadyExistsException`` UpdatePartition with the current storage descriptor.

Partition projection (option ``partition_projection=True``): the table gets ``projection.enabled=true``,
``projection.dt.type=date``, ``projection.dt.format=yyyy-MM-dd``, ``projection.dt.range=<start>,NOW``,
``projection.dt.interval=1``/``days`` and ``storage.location.template=<location>dt=${dt}/``. Athena then
computes partitions from the query's ``dt`` predicate instead of reading them from Glue: no partition
registration (``register_partition`` becomes a no-op) and faster planning with many partitions. Caveats:
days without data are read as empty partitions, and Glue-based tools that list partitions (Glue ETL,
``list_partitions``) see none — so it is off by default.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from ..lake.paths import table_root, validate_partition
from ..transform.schemas import TableSpec

log = logging.getLogger(__name__)

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARTITION_KEYS = [{"Name": "dt", "Type": "string", "Comment": "Snapshot date (partition), YYYY-MM-DD."}]
MAX_COMMENT = 255
DATABASE_NAME = re.compile(r"[a-z0-9_]{1,255}")


def check_database_name(name: str) -> str:
    """``name`` if Glue and Athena take it as a database name unquoted — 1 to 255 lower-case letters,
    digits and underscores (Glue lower-cases names; Athena needs quotes for anything else) — else
    ``ValueError``."""
    if not isinstance(name, str) or not DATABASE_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a valid Glue database name: use 1 to 255 lower-case letters, digits "
                         "or underscores")
    return name


class SchemaChangeError(ValueError):
    """An incompatible change to an existing Glue table (a column changed type)."""


def arrow_to_glue_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_int64(t):
        return "bigint"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_int16(t):
        return "smallint"
    if pa.types.is_int8(t):
        return "tinyint"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_float32(t):
        return "float"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"array<{arrow_to_glue_type(t.value_type)}>"
    if pa.types.is_struct(t):
        inner = ",".join(f"{f.name}:{arrow_to_glue_type(f.type)}" for f in t)
        return f"struct<{inner}>"
    if pa.types.is_map(t):
        return f"map<{arrow_to_glue_type(t.key_type)},{arrow_to_glue_type(t.item_type)}>"
    raise TypeError(f"no Glue type for Arrow type {t}")


def glue_columns(schema: pa.Schema) -> list[dict[str, str]]:
    columns = []
    for f in schema:
        if f.name == "dt":
            continue  # the partition key, never a data column
        col = {"Name": f.name, "Type": arrow_to_glue_type(f.type)}
        comment = (f.metadata or {}).get(b"description", b"").decode()
        if comment:
            col["Comment"] = comment[:MAX_COMMENT]
        columns.append(col)
    return columns


class GlueCatalog:
    """Keeps the Glue database and tables in step with the table specs.

    ``lake_uri`` is the ``s3://bucket/prefix`` root of the lake; tables live at
    ``<lake_uri>/transformed/<table>/`` (or ``<lake_uri>/<root>/`` via :meth:`ensure_table`'s ``root``).
    """

    def __init__(
        self,
        *,
        database: str,
        lake_uri: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        partition_projection: bool = False,
        projection_start: str = "2020-01-01",
        client: Any = None,
    ):
        if not lake_uri.startswith("s3://"):
            raise ValueError(f"the Glue catalog needs an s3:// lake, got {lake_uri!r}")
        self.database = check_database_name(database)
        self.lake_uri = lake_uri.rstrip("/")
        self.partition_projection = partition_projection
        self.projection_start = validate_partition(projection_start)
        if client is None:
            import boto3

            client = boto3.client("glue", region_name=region, endpoint_url=endpoint_url or None)
        self.client = client

    # -- locations ------------------------------------------------------------------------------------
    def table_location(self, table: str, root: str | None = None) -> str:
        return f"{self.lake_uri}/{root or table_root(table)}/"

    def partition_location(self, table: str, dt: str, root: str | None = None) -> str:
        return f"{self.table_location(table, root)}dt={validate_partition(dt)}/"

    # -- database -------------------------------------------------------------------------------------
    def ensure_database(self, description: str = "Spotify catalog snapshots (spotify_assets).") -> None:
        try:
            self.client.create_database(DatabaseInput={"Name": self.database, "Description": description})
            log.info("created Glue database %s", self.database)
        except self.client.exceptions.AlreadyExistsException:
            pass

    # -- tables ---------------------------------------------------------------------------------------
    def table_input(self, spec: TableSpec, *, root: str | None = None) -> dict[str, Any]:
        location = self.table_location(spec.name, root)
        parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD"}
        if self.partition_projection:
            parameters.update(
                {
                    "projection.enabled": "true",
                    "projection.dt.type": "date",
                    "projection.dt.format": "yyyy-MM-dd",
                    "projection.dt.range": f"{self.projection_start},NOW",
                    "projection.dt.interval": "1",
                    "projection.dt.interval.unit": "DAYS",
                    "storage.location.template": location + "dt=${dt}/",
                }
            )
        return {
            "Name": spec.name,
            "Description": spec.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": copy.deepcopy(PARTITION_KEYS),
            "StorageDescriptor": self._storage_descriptor(spec, location),
        }

    def _storage_descriptor(self, spec: TableSpec, location: str) -> dict[str, Any]:
        return {
            "Columns": glue_columns(spec.schema),
            "Location": location,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "Compressed": True,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        }

    def get_table(self, name: str) -> dict[str, Any] | None:
        try:
            return self.client.get_table(DatabaseName=self.database, Name=name)["Table"]
        except self.client.exceptions.EntityNotFoundException:
            return None

    def ensure_table(self, spec: TableSpec, *, root: str | None = None) -> str:
        """Create the table, or update it when the schema or settings changed.

        Returns ``"created"``, ``"updated"`` or ``"unchanged"``.
        """
        wanted = self.table_input(spec, root=root)
        current = self.get_table(spec.name)
        if current is None:
            try:
                self.client.create_table(DatabaseName=self.database, TableInput=wanted)
                log.info("created Glue table %s.%s", self.database, spec.name)
                return "created"
            except self.client.exceptions.AlreadyExistsException:
                current = self.get_table(spec.name)  # lost a race with another run: update instead
                assert current is not None
        old_types = {c["Name"]: c["Type"] for c in current.get("StorageDescriptor", {}).get("Columns", [])}
        changed = [
            f"{c['Name']}: {old_types[c['Name']]} -> {c['Type']}"
            for c in wanted["StorageDescriptor"]["Columns"]
            if c["Name"] in old_types and old_types[c["Name"]].lower() != c["Type"].lower()
        ]
        if changed:
            raise SchemaChangeError(
                f"Glue table {self.database}.{spec.name}: column type changes are not compatible with "
                f"existing partitions ({'; '.join(changed)}); add a new column instead"
            )
        if _same_table(current, wanted):
            return "unchanged"
        self.client.update_table(DatabaseName=self.database, TableInput=wanted)
        log.info("updated Glue table %s.%s", self.database, spec.name)
        return "updated"

    def delete_table(self, name: str) -> None:
        try:
            self.client.delete_table(DatabaseName=self.database, Name=name)
        except self.client.exceptions.EntityNotFoundException:
            pass

    # -- partitions -----------------------------------------------------------------------------------
    def partition_input(self, spec: TableSpec, dt: str, *, root: str | None = None) -> dict[str, Any]:
        return {
            "Values": [validate_partition(dt)],
            "StorageDescriptor": self._storage_descriptor(spec, self.partition_location(spec.name, dt, root)),
            "Parameters": {"classification": "parquet"},
        }

    def register_partition(self, spec: TableSpec, dt: str, *, root: str | None = None) -> str:
        """Register (or refresh) partition ``dt``; returns ``"created"``, ``"updated"`` or ``"projected"``."""
        return self.register_partitions(spec, [dt], root=root).get(dt, "projected")

    def register_partitions(self, spec: TableSpec, dts: Iterable[str], *, root: str | None = None) -> dict[str, str]:
        dts = [validate_partition(d) for d in dts]
        if self.partition_projection:
            return dict.fromkeys(dts, "projected")
        outcome: dict[str, str] = {}
        for start in range(0, len(dts), 100):  # BatchCreatePartition takes at most 100
            chunk = dts[start : start + 100]
            inputs = {d: self.partition_input(spec, d, root=root) for d in chunk}
            response = self.client.batch_create_partition(
                DatabaseName=self.database, TableName=spec.name, PartitionInputList=list(inputs.values())
            )
            failed = {e["PartitionValues"][0]: e.get("ErrorDetail", {}) for e in response.get("Errors", [])}
            for d in chunk:
                if d not in failed:
                    outcome[d] = "created"
                    continue
                if failed[d].get("ErrorCode") != "AlreadyExistsException":
                    raise RuntimeError(
                        f"Glue could not register {spec.name} dt={d}: {failed[d].get('ErrorMessage', failed[d])}"
                    )
                self.client.update_partition(
                    DatabaseName=self.database,
                    TableName=spec.name,
                    PartitionValueList=[d],
                    PartitionInput=inputs[d],
                )
                outcome[d] = "updated"
        return outcome

    def list_partitions(self, table: str) -> list[str]:
        values: list[str] = []
        paginator = self.client.get_paginator("get_partitions")
        for page in paginator.paginate(DatabaseName=self.database, TableName=table):
            values.extend(p["Values"][0] for p in page.get("Partitions", []))
        return sorted(values)

    def get_partition(self, table: str, dt: str) -> dict[str, Any] | None:
        try:
            return self.client.get_partition(DatabaseName=self.database, TableName=table, PartitionValues=[dt])[
                "Partition"
            ]
        except self.client.exceptions.EntityNotFoundException:
            return None

    def delete_partition(self, table: str, dt: str) -> None:
        try:
            self.client.delete_partition(DatabaseName=self.database, TableName=table, PartitionValues=[dt])
        except self.client.exceptions.EntityNotFoundException:
            pass


def _same_table(current: dict[str, Any], wanted: dict[str, Any]) -> bool:
    cur_sd, want_sd = current.get("StorageDescriptor", {}), wanted["StorageDescriptor"]
    return (
        [(c["Name"], c["Type"].lower(), c.get("Comment")) for c in cur_sd.get("Columns", [])]
        == [(c["Name"], c["Type"].lower(), c.get("Comment")) for c in want_sd["Columns"]]
        and cur_sd.get("Location") == want_sd["Location"]
        and cur_sd.get("SerdeInfo", {}).get("SerializationLibrary") == PARQUET_SERDE
        and {k: v for k, v in (current.get("Parameters") or {}).items() if k in wanted["Parameters"] or k.startswith("projection.")}
        == wanted["Parameters"]
        and current.get("Description") == wanted["Description"]
    )
