"""The AWS Glue Data Catalog: one database, one external Parquet table per transformed and analytics table.

* Columns and types come from the Arrow schemas of the table contracts (string, bigint, int, boolean,
  date, timestamp, double, decimal(p,s), array<…>), each with its description as the column comment; the
  table comment is the TableSpec description.
* Storage: ``ParquetHiveSerDe`` with the Mapred Parquet input/output formats, table location
  ``s3://…/<zone>/<table>/``, partition key ``dt`` (string, ``YYYY-MM-DD``; ``month``, ``YYYY-MM``, for the
  listening history: ``TableSpec.partition_key``), parameters
  ``classification=parquet``, ``EXTERNAL=TRUE``.
* :meth:`GlueCatalog.ensure_table` creates or updates. Adding a (nullable) column updates the table only:
  existing partitions keep their own column list and Athena reads Parquet by column name, so old files
  return NULL for the new column. Changing a column's type is refused (:class:`SchemaChangeError`) — that
  needs a new column name or a rewrite of the old partitions.
* :meth:`GlueCatalog.register_partition` points partition ``dt`` at the folder of the day's *published
  version* (``…/dt=YYYY-MM-DD/v-<hash>/``, see :mod:`spotify_assets.lake.publication`): BatchCreatePartition,
  or UpdatePartition when it exists. That one call is what switches Athena to a newly published version;
  a day that was never published is not registered.
* :meth:`GlueCatalog.register_day` does it for all of a day's tables, back to back, from one reading of the
  day manifest. Glue has no transaction across tables, so for the second or so that takes, a query joining
  two tables may see one at the new day version and one at the previous; each partition carries the day
  version it shows (parameter ``spotify_day_version``), so a reader can tell whether a day's tables agree.
* :meth:`GlueCatalog.sync_partitions` points many partitions at their versions at once (the history's
  months, ``month`` instead of ``dt``), touching only those whose version changed.

Partition projection is deliberately not offered: a projected location is a template (``…/dt=${dt}/``),
and a day's published version lives in a folder named after its content, which only a registered
partition can point at.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import re
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from ..aws import clients as aws
from ..lake.paths import partition_folder
from ..lake.publication.layout import zone_root
from ..lake.publication.manifests import Manifests, Version
from ..lake.storage import Lake
from ..tables import PARTITION_KEYS as PARTITION_KEY_COMMENTS
from ..tables import TableSpec
from .catalog import DayRegistration

log = logging.getLogger(__name__)

PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"


def partition_keys(spec: TableSpec) -> list[dict[str, str]]:
    """The Glue partition keys of ``spec``'s table: ``dt`` (a day) or ``month``, as strings."""
    key = spec.partition_key
    return [{"Name": key, "Type": "string", "Comment": PARTITION_KEY_COMMENTS[key]}]


def _validate(value: str) -> str:
    partition_folder(value)  # a day or a month, else ValueError
    return value

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


def glue_columns(schema: pa.Schema, partition_key: str = "dt") -> list[dict[str, str]]:
    columns = []
    for f in schema:
        if f.name == partition_key:
            continue  # the partition key, never a data column
        col = {"Name": f.name, "Type": arrow_to_glue_type(f.type)}
        comment = (f.metadata or {}).get(b"description", b"").decode()
        if comment:
            col["Comment"] = comment[:MAX_COMMENT]
        columns.append(col)
    return columns


class GlueCatalog:
    """Keeps the Glue database and tables in step with the table specs.

    ``lake_uri`` is the ``s3://bucket/prefix`` root of the lake; a table lives at ``<lake_uri>/<zone>/<table>/``
    (zone ``transformed`` or ``analytics``), each partition at its day's published version.
    """

    name = "glue"  # the Catalog protocol's name

    def __init__(
        self,
        *,
        database: str,
        lake_uri: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        client: Any = None,
    ):
        if not lake_uri.startswith("s3://"):
            raise ValueError(f"the Glue catalog needs an s3:// lake, got {lake_uri!r}")
        self.database = check_database_name(database)
        self.lake_uri = lake_uri.rstrip("/")
        self.lake = Lake(self.lake_uri, endpoint_url=endpoint_url, region=region)
        if client is None:
            client = aws.client("glue", region_name=region, endpoint=endpoint_url)
        self.client = client

    # -- locations ------------------------------------------------------------------------------------
    def table_location(self, table: str, zone: str = "transformed") -> str:
        return f"{self.lake_uri}/{zone_root(zone, table)}/"

    def partition_location(self, table: str, dt: str, zone: str = "transformed") -> str | None:
        """The folder of the day's published version, or None if the day was never published."""
        return self._location(Manifests(self.lake).version(zone, table, _validate(dt)))

    def _location(self, version: Version | None) -> str | None:
        return self.lake.uri(version.folder) + "/" if version and version.folder else None

    # -- database -------------------------------------------------------------------------------------
    def ensure_database(self, description: str = "Spotify catalog snapshots (spotify_assets).") -> None:
        try:
            self.client.create_database(DatabaseInput={"Name": self.database, "Description": description})
            log.info("created Glue database %s", self.database)
        except self.client.exceptions.AlreadyExistsException:
            pass

    # -- tables ---------------------------------------------------------------------------------------
    def table_input(self, spec: TableSpec, *, zone: str = "transformed") -> dict[str, Any]:
        location = self.table_location(spec.name, zone)
        parameters = {"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "ZSTD"}
        return {
            "Name": spec.name,
            "Description": spec.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": partition_keys(spec),
            "StorageDescriptor": self._storage_descriptor(spec, location),
        }

    def _storage_descriptor(self, spec: TableSpec, location: str) -> dict[str, Any]:
        return {
            "Columns": glue_columns(spec.schema, spec.partition_key),
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

    def ensure_table(self, spec: TableSpec, *, zone: str = "transformed") -> str:
        """Create the table, or update it when the schema or settings changed.

        Returns ``"created"``, ``"updated"`` or ``"unchanged"``.
        """
        wanted = self.table_input(spec, zone=zone)
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
    def partition_input(self, spec: TableSpec, dt: str, location: str, day_version: str | None = None) -> dict[str, Any]:
        parameters = {"classification": "parquet"}
        if day_version:
            parameters["spotify_day_version"] = day_version
        return {
            "Values": [_validate(dt)],
            "StorageDescriptor": self._storage_descriptor(spec, location),
            "Parameters": parameters,
        }

    def register_partition(self, spec: TableSpec, dt: str, *, zone: str = "transformed") -> str:
        """Point partition ``dt`` at its published version; ``"created"``, ``"updated"`` or ``"not published"``."""
        return self.register_partitions(spec, [dt], zone=zone)[dt]

    def register_day(self, specs, dt: str, *, zone: str = "transformed"):
        """Create or update each of ``specs`` and point its partition ``dt`` at the day's published version:
        the partitions one after the other, as fast as Glue takes them, from one reading of the manifests."""

        manifests = Manifests(self.lake)
        day = manifests.day(_validate(dt)) if zone == "transformed" else None
        table_actions = {spec.name: self.ensure_table(spec, zone=zone) for spec in specs}
        actions = {
            spec.name: (table_actions[spec.name], self.register_partitions(spec, [dt], zone=zone, manifests=manifests)[dt])
            for spec in specs
        }
        return DayRegistration(actions, day.version if day is not None else None, list(manifests.problems))

    def register_partitions(
        self, spec: TableSpec, dts: Iterable[str], *, zone: str = "transformed", manifests: Manifests | None = None
    ) -> dict[str, str]:
        manifests = manifests or Manifests(self.lake)
        versions = {_validate(d): manifests.version(zone, spec.name, d) for d in dts}
        locations = {d: self._location(v) for d, v in versions.items()}
        outcome: dict[str, str] = {d: "not published" for d, loc in locations.items() if loc is None}
        dts = [d for d, loc in locations.items() if loc is not None]
        for start in range(0, len(dts), 100):  # BatchCreatePartition takes at most 100
            chunk = dts[start : start + 100]
            inputs = {d: self.partition_input(spec, d, locations[d], versions[d].day_version) for d in chunk}
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

    def sync_partitions(self, spec: TableSpec, values: Iterable[str], *, zone: str = "transformed") -> dict[str, int]:
        """Point each partition of ``values`` at its published version, for many partitions at once: one
        listing of what Glue holds, then BatchCreatePartition for the new ones and UpdatePartition only for
        those whose version changed. Returns how many were ``created``, ``updated``, ``unchanged`` and ``not
        published`` (no version, or published empty: such a partition is left as Glue has it)."""
        existing: dict[str, str | None] = {}
        paginator = self.client.get_paginator("get_partitions")
        for page in paginator.paginate(DatabaseName=self.database, TableName=spec.name):
            for p in page.get("Partitions", []):
                existing[p["Values"][0]] = p.get("StorageDescriptor", {}).get("Location")
        counts = {"created": 0, "updated": 0, "unchanged": 0, "not published": 0}
        values = sorted(set(values))
        with cf.ThreadPoolExecutor(max_workers=16) as pool:  # one manifest read per partition, independent
            wanted = dict(zip(values, pool.map(lambda v: self.partition_location(spec.name, v, zone), values),
                              strict=True))
        new = [v for v, loc in wanted.items() if loc is not None and v not in existing]
        changed = [v for v, loc in wanted.items() if loc is not None and v in existing and existing[v] != loc]
        counts["not published"] = sum(loc is None for loc in wanted.values())
        counts["unchanged"] = sum(loc is not None and existing.get(v) == loc for v, loc in wanted.items())
        for start in range(0, len(new), 100):  # BatchCreatePartition takes at most 100
            chunk = new[start : start + 100]
            response = self.client.batch_create_partition(
                DatabaseName=self.database, TableName=spec.name,
                PartitionInputList=[self.partition_input(spec, v, wanted[v]) for v in chunk],
            )
            failed = {e["PartitionValues"][0]: e.get("ErrorDetail", {}) for e in response.get("Errors", [])}
            for v in chunk:
                if v not in failed:
                    counts["created"] += 1
                elif failed[v].get("ErrorCode") == "AlreadyExistsException":  # created meanwhile: update it
                    changed.append(v)
                else:
                    raise RuntimeError(
                        f"Glue could not register {spec.name} {spec.partition_key}={v}: "
                        f"{failed[v].get('ErrorMessage', failed[v])}"
                    )
        for v in changed:
            self.client.update_partition(
                DatabaseName=self.database, TableName=spec.name, PartitionValueList=[v],
                PartitionInput=self.partition_input(spec, v, wanted[v]),
            )
            counts["updated"] += 1
        return counts

    def list_partitions(self, table: str, *, zone: str = "transformed") -> list[str]:
        """Partition values Glue holds for ``table`` (the zone does not matter: table names are unique)."""
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
        and {k: v for k, v in (current.get("Parameters") or {}).items() if k in wanted["Parameters"]}
        == wanted["Parameters"]
        # a table made with partition projection by an earlier version: update it, Athena must use the partitions
        and "projection.enabled" not in (current.get("Parameters") or {})
        and current.get("Description") == wanted["Description"]
    )
