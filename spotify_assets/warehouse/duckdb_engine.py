"""The local query engine: DuckDB with one view per lake table, over the lake's Parquet files.

* Database file: ``SPOTIFY_DUCKDB_PATH`` (default ``./data/spotify.duckdb``). It holds only view
  definitions; the data stays in the lake (a local directory or ``s3://`` via the bundled httpfs
  extension, loaded from the ``duckdb-extension-httpfs`` package — nothing is downloaded at run time).
* Views: ``<table>`` over the list of the table's *published* objects, one per day (each day's current
  version, see :mod:`spotify_assets.lake.publication`), with Hive partitioning, so ``dt`` is a column. A
  published object never changes, so a query reads the versions its view named even while a newer one is
  published; a refresh (the catalog step) switches the view to the newer versions. A run's staging area,
  superseded versions and any other file in a partition folder are never read. **``dt`` is a VARCHAR** (``'YYYY-MM-DD'``), exactly like the Glue/Athena partition key (``string``):
  the analytics SQL compares it with string literals and is identical on both engines. Each view selects the
  columns of the table's Arrow schema, unioned *by name* with an empty relation typed from that schema:
  a table with no partition yet is an empty typed view (queries still work), and files written before a
  nullable column was added read that column as NULL (as Athena does with Parquet by name).
  Analytics tables (:data:`spotify_assets.sql.tables.ANALYTICS_TABLES`, published under
  ``<lake>/analytics/<name>/``) get typed views the same way, and so do the listening history tables
  (:data:`spotify_assets.tables.HISTORY_TABLES`), whose partition column is ``month`` (``YYYY-MM``) instead of
  ``dt`` (they carry a ``dt`` day column in their rows).
* Locking: DuckDB locks the database file per process, so this engine never keeps a connection: every call
  opens the file, does its work and closes it (retrying briefly while another process holds the lock).
  It is safe to keep a ``DuckDBEngine`` in a resource across Dagster steps.
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from .. import aws
from ..lake.publication import published_file, published_partitions
from ..lake.storage import Lake
from ..tables import ANALYTICS_TABLES, HISTORY_TABLES, TABLES, TableSpec
from .engine import QueryError, QueryResult

DEFAULT_DUCKDB_PATH = "./data/spotify.duckdb"


def httpfs_extension_path() -> str:
    """Path of the httpfs extension shipped by the ``duckdb-extension-httpfs`` package."""
    import duckdb_extension_httpfs

    base = list(duckdb_extension_httpfs.__path__)[0]
    found = sorted(glob.glob(f"{base}/extensions/v{duckdb.__version__}/httpfs.duckdb_extension")) or sorted(
        glob.glob(f"{base}/extensions/*/httpfs.duckdb_extension")
    )
    if not found:
        raise RuntimeError("duckdb-extension-httpfs is installed but holds no httpfs.duckdb_extension")
    return found[-1]


def arrow_to_duckdb_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "VARCHAR"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_int32(t):
        return "INTEGER"
    if pa.types.is_int16(t):
        return "SMALLINT"
    if pa.types.is_int8(t):
        return "TINYINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_float32(t):
        return "FLOAT"
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMPTZ" if t.tz else "TIMESTAMP"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "BLOB"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"{arrow_to_duckdb_type(t.value_type)}[]"
    raise TypeError(f"no DuckDB type for Arrow type {t}")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DuckDBEngine:
    """DuckDB behind the :class:`~spotify_assets.warehouse.engine.QueryEngine` interface."""

    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        lake: Lake | str,
        db_path: str | None = None,
        *,
        tables: Mapping[str, TableSpec] | None = None,
        analytics: Mapping[str, TableSpec] | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        lock_timeout_s: float = 30.0,
        threads: int | None = None,
    ):
        self.endpoint_url = aws.endpoint_url("s3", endpoint_url)
        self.region = aws.region(region)
        self.lake = lake if isinstance(lake, Lake) else Lake(lake, endpoint_url=self.endpoint_url, region=self.region)
        self.db_path = os.path.abspath(db_path or os.environ.get("SPOTIFY_DUCKDB_PATH") or DEFAULT_DUCKDB_PATH)
        self.tables = dict(tables if tables is not None else {**TABLES, **HISTORY_TABLES})
        self.analytics = dict(analytics if analytics is not None else ANALYTICS_TABLES)
        self.lock_timeout_s = lock_timeout_s
        self.threads = threads

    def __repr__(self) -> str:
        return f"DuckDBEngine(lake={self.lake.root_uri!r}, db_path={self.db_path!r})"

    # -- connections ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open the database file (configured for the lake), yield, and always close it."""
        if read_only and not os.path.exists(self.db_path):
            read_only = False
        os.makedirs(os.path.dirname(self.db_path), exist_ok=True)
        config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        if self.threads:
            config["threads"] = self.threads
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(self.db_path, read_only=read_only, config=config)
                break
            except duckdb.IOException as exc:  # "Could not set lock on file": another process writes
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
        try:
            con.execute("SET TimeZone = 'UTC'")
            if not self.lake.is_local:
                self._configure_s3(con)
            yield con
        finally:
            con.close()

    def _configure_s3(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"LOAD {_str(httpfs_extension_path())}")
        options = {"TYPE": "s3", "REGION": _str(self.region)}
        creds = aws.frozen_credentials()
        if creds:
            options["KEY_ID"] = _str(creds[0])
            options["SECRET"] = _str(creds[1])
            if creds[2]:
                options["SESSION_TOKEN"] = _str(creds[2])
        if self.endpoint_url:
            scheme, _, host = self.endpoint_url.partition("://")
            if not host:
                scheme, host = "https", self.endpoint_url
            options["ENDPOINT"] = _str(host.rstrip("/"))
            options["URL_STYLE"] = "'path'"
            options["USE_SSL"] = "true" if scheme == "https" else "false"
        body = ", ".join(f"{k} {v}" for k, v in options.items())
        con.execute(f"CREATE OR REPLACE TEMPORARY SECRET spotify_lake ({body})")

    # -- the QueryEngine interface --------------------------------------------------------------------
    def query(self, sql: str, *, params: Sequence[Any] | None = None) -> QueryResult:
        if not os.path.exists(self.db_path):
            self.refresh_tables()
        query_id = f"duckdb-{uuid.uuid4().hex}"
        started = time.perf_counter()
        with self.connect(read_only=True) as con:
            try:
                cursor = con.execute(sql, list(params) if params else None)
                table = cursor.to_arrow_table() if cursor.description is not None else pa.table({})
            except duckdb.Error as exc:
                raise QueryError("DuckDB query failed", sql=sql, query_id=query_id, reason=str(exc)) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        return QueryResult(table=table, query_id=query_id, sql=sql, bytes_scanned=None, engine_ms=elapsed_ms)

    def refresh_tables(self, partitions: Iterable[str] | None = None) -> None:
        """(Re)create every table view (``partitions`` is accepted for interface parity; views read all
        partitions through a glob, so only a table's first partition or a schema change needs a refresh)."""
        with self.connect() as con:
            for zone, spec in self.views():
                con.execute(self.view_sql(spec, zone))

    def refresh_table(self, spec: TableSpec, zone: str = "transformed") -> None:
        with self.connect() as con:
            con.execute(self.view_sql(spec, zone))

    def close(self) -> None:
        """Nothing is held open between calls."""

    # -- helpers --------------------------------------------------------------------------------------
    def views(self) -> list[tuple[str, TableSpec]]:
        """``(zone, spec)`` of every view: the transformed tables, then the analytics tables."""
        return [("transformed", s) for s in self.tables.values()] + [("analytics", s) for s in self.analytics.values()]

    def view_sql(self, spec: TableSpec, zone: str = "transformed") -> str:
        key = spec.partition_key
        cols = [f.name for f in spec.schema if f.name != key]
        empty = ", ".join(
            f"CAST(NULL AS {arrow_to_duckdb_type(f.type)}) AS {_ident(f.name)}" for f in spec.schema if f.name != key
        )
        empty_rel = f"SELECT {empty}, CAST(NULL AS VARCHAR) AS {_ident(key)} WHERE false"
        files = [published_file(self.lake, zone, spec.name, day) for day in published_partitions(self.lake, zone, spec.name)]
        files = [self.lake.uri(f) for f in files if f]
        if files:
            source = (
                f"SELECT * FROM read_parquet([{', '.join(map(_str, files))}], hive_partitioning = true, "
                f"hive_types = {{{_str(key)}: 'VARCHAR'}}, union_by_name = true) UNION ALL BY NAME {empty_rel}"
            )
        else:
            source = empty_rel
        select = ", ".join(_ident(c) for c in [*cols, key])
        return f"CREATE OR REPLACE VIEW {_ident(spec.name)} AS SELECT {select} FROM ({source})"
