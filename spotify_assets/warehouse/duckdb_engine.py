"""The local query engine: DuckDB with one view per lake table, over the lake's Parquet files.

* Database file: ``SPOTIFY_DUCKDB_PATH`` (default ``./data/spotify.duckdb``). It holds only view
  definitions; the data stays in the lake (a local directory or ``s3://`` via the bundled httpfs
  extension, loaded from the ``duckdb-extension-httpfs`` package — nothing is downloaded at run time).
* Views: ``<table>`` over the list of the table's *published* objects, one per day (each day's current
  version, see :mod:`spotify_assets.lake.publication`), with Hive partitioning, so ``dt`` is a column. A
  published object never changes, so a query reads the versions its view named even while a newer one is
  published; a refresh (the catalog step) switches the views to the newer versions. The views of the
  transformed tables are always built together, from one reading of the day manifests, so they show every
  table of a day at the same day version. A run's staging area, superseded versions and any other file in a
  partition folder are never read. **``dt`` is a VARCHAR** (``'YYYY-MM-DD'``), exactly like the Glue/Athena
  partition key (``string``): the analytics SQL compares it with string literals and is identical on both
  engines. Each view selects the columns of the table's Arrow schema, unioned *by name* with an empty
  relation typed from that schema: a table with no partition yet is an empty typed view (queries still work),
  and files written before a nullable column was added read that column as NULL (as Athena does with Parquet
  by name). Analytics tables (:data:`spotify_assets.tables.ANALYTICS_TABLES`, published under
  ``<lake>/analytics/<name>/``) get typed views the same way, and so do the listening history tables
  (:data:`spotify_assets.tables.HISTORY_TABLES`), whose partition column is ``month`` (``YYYY-MM``) instead of
  ``dt`` (they carry a ``dt`` day column in their rows).
* **The file is never written in place.** DuckDB locks a database file per process: a writer needs it
  alone, and one reader — a notebook, a BI tool, a query of this engine — was enough to make a refresh fail
  ("Could not set lock"), while a refresh made readers fail in turn. So a refresh builds a new file beside
  the live one (``<file>.building-<id>``) and renames it over the live file in one atomic step. A connection
  opened before keeps reading the file it opened (views of that moment, whose versions stay in the lake
  until the day is published again); a connection opened after sees the new views. Refreshes queue on
  ``<file>.lock`` (a lock file of their own, which readers never touch), so none loses another's views.
  Readers must open the file **read-only** (``duckdb.connect(path, read_only=True)``): a read-write
  connection locks out every other reader, and what it writes is lost at the next refresh.
* This engine never keeps a connection: every query opens the file read-only, runs and closes it. It is
  safe to keep a ``DuckDBEngine`` in a resource across Dagster steps.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa

from .. import settings
from ..aws import clients as aws
from ..lake.publication.manifests import Manifests
from ..lake.storage import Lake
from ..settings import BY_NAME
from ..tables import ANALYTICS_TABLES, HISTORY_TABLES, TABLES, TableSpec
from .engine import QueryError, QueryResult

DEFAULT_DUCKDB_PATH = BY_NAME["SPOTIFY_DUCKDB_PATH"].default


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
        refresh_wait_s: float = 600.0,
        threads: int | None = None,
    ):
        self.endpoint_url = aws.endpoint_url("s3", endpoint_url)
        self.region = aws.region(region)
        self.lake = lake if isinstance(lake, Lake) else Lake(lake, endpoint_url=self.endpoint_url, region=self.region)
        self.db_path = os.path.abspath(db_path or settings.load().duckdb_path)
        self.tables = dict(tables if tables is not None else {**TABLES, **HISTORY_TABLES})
        self.analytics = dict(analytics if analytics is not None else ANALYTICS_TABLES)
        self.lock_timeout_s = lock_timeout_s  # opening the file while someone holds a read-write connection on it
        self.refresh_wait_s = refresh_wait_s  # waiting for another refresh of the file to finish
        self.threads = threads
        self.problems: list[str] = []  # what the last refresh skipped (damaged manifests, stray folders)
        self.last_build: Manifests | None = None

    def __repr__(self) -> str:
        return f"DuckDBEngine(lake={self.lake.root_uri!r}, db_path={self.db_path!r})"

    # -- connections ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the catalog file (built first if there is none), configured for the
        lake; always closed afterwards."""
        self.ensure_file()
        with self._open(self.db_path, read_only=True) as con:
            yield con

    def ensure_file(self) -> None:
        """Build the catalog file if there is none yet."""
        if not os.path.exists(self.db_path):
            self.refresh_tables()

    @contextlib.contextmanager
    def _open(self, path: str, *, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        config: dict[str, Any] = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        if self.threads:
            config["threads"] = self.threads
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                con = duckdb.connect(path, read_only=read_only, config=config)
                break
            except duckdb.IOException as exc:  # a read-write connection someone else opened on the file
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
        query_id = f"duckdb-{uuid.uuid4().hex}"
        started = time.perf_counter()
        with self.connect() as con:
            try:
                cursor = con.execute(sql, list(params) if params else None)
                table = cursor.to_arrow_table() if cursor.description is not None else pa.table({})
            except duckdb.Error as exc:
                raise QueryError("DuckDB query failed", sql=sql, query_id=query_id, reason=str(exc)) from exc
        elapsed_ms = (time.perf_counter() - started) * 1000
        return QueryResult(table=table, query_id=query_id, sql=sql, bytes_scanned=None, engine_ms=elapsed_ms)

    def refresh_tables(self, partitions: Iterable[str] | None = None) -> list[str]:
        """Build the catalog file anew with every view and switch it in (``partitions`` is accepted for
        interface parity: views list every published day). Returns what was skipped on the way (damaged
        manifests, folders that are not ``dt=YYYY-MM-DD``), as :attr:`problems` does."""
        return self._rebuild(None)

    def refresh_table(self, spec: TableSpec, zone: str = "transformed") -> list[str]:
        """Switch in a catalog file where ``spec``'s view is rebuilt (with the other transformed tables' views
        when it is one of them: they always show the same day versions); the other views are kept as they are."""
        (self.tables if zone == "transformed" else self.analytics)[spec.name] = spec
        views = [v for v in self.views() if v[0] == "transformed"] if zone == "transformed" else [(zone, spec)]
        return self._rebuild(views)

    def close(self) -> None:
        """Nothing is held open between calls."""

    # -- building the catalog file -------------------------------------------------------------------
    def _rebuild(self, views: list[tuple[str, TableSpec]] | None) -> list[str]:
        """Build a catalog file beside the live one — every view (``views`` None), or a copy of the live file
        with ``views`` replaced — then rename it over the live file: one atomic switch for its readers."""
        manifests = Manifests(self.lake)
        with self._writer_lock():
            for leftover in glob.glob(glob.escape(self.db_path) + ".building-*"):  # of a refresh that died
                with contextlib.suppress(FileNotFoundError):
                    os.remove(leftover)
            building = f"{self.db_path}.building-{uuid.uuid4().hex[:12]}"
            try:
                if views is not None and os.path.exists(self.db_path):
                    shutil.copyfile(self.db_path, building)  # never written after its switch: a consistent copy
                else:
                    views = self.views()
                with self._open(building, read_only=False) as con:
                    for zone, spec in views:
                        con.execute(self.view_sql(spec, zone, manifests))
                    con.execute("CHECKPOINT")
                os.replace(building, self.db_path)
            finally:
                for path in (building, building + ".wal"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(path)
        self.problems = list(manifests.problems)
        self.last_build = manifests  # what the views were built from (day versions included)
        return self.problems

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        """One refresh at a time (runs of different days refresh side by side), on a file readers never open."""
        os.makedirs(os.path.dirname(self.db_path), exist_ok=True)
        path = self.db_path + ".lock"
        with open(path, "a+b") as f:
            deadline = time.monotonic() + self.refresh_wait_s
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"another refresh of {self.db_path} has held {path} for more than "
                            f"{self.refresh_wait_s:.0f} s"
                        ) from None
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    # -- helpers --------------------------------------------------------------------------------------
    def views(self) -> list[tuple[str, TableSpec]]:
        """``(zone, spec)`` of every view: the transformed tables, then the analytics tables."""
        return [("transformed", s) for s in self.tables.values()] + [("analytics", s) for s in self.analytics.values()]

    def view_sql(self, spec: TableSpec, zone: str = "transformed", manifests: Manifests | None = None) -> str:
        """The view of ``spec`` over its published objects (``manifests``: the reading shared by the views
        built together; days whose manifest is damaged are left out and reported there)."""
        key = spec.partition_key
        cols = [f.name for f in spec.schema if f.name != key]
        empty = ", ".join(
            f"CAST(NULL AS {arrow_to_duckdb_type(f.type)}) AS {_ident(f.name)}" for f in spec.schema if f.name != key
        )
        empty_rel = f"SELECT {empty}, CAST(NULL AS VARCHAR) AS {_ident(key)} WHERE false"
        versions = (manifests or Manifests(self.lake)).readable(zone, spec.name, key=key)
        files = [self.lake.uri(v.file) for v in versions if v.file]
        if files:
            source = (
                f"SELECT * FROM read_parquet([{', '.join(map(_str, files))}], hive_partitioning = true, "
                f"hive_types = {{{_str(key)}: 'VARCHAR'}}, union_by_name = true) UNION ALL BY NAME {empty_rel}"
            )
        else:
            source = empty_rel
        select = ", ".join(_ident(c) for c in [*cols, key])
        return f"CREATE OR REPLACE VIEW {_ident(spec.name)} AS SELECT {select} FROM ({source})"
