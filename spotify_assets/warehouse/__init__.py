"""Glue catalog, Athena and DuckDB query engines behind one interface (no Dagster imports here;
the Dagster resources are in :mod:`spotify_assets.warehouse.resources`)."""

from .athena import AthenaEngine, AthenaQueryError
from .catalog import Catalog, DuckDBCatalog
from .duckdb_engine import DuckDBEngine
from .engine import QueryEngine, QueryError, QueryResult
from .glue import GlueCatalog, SchemaChangeError

__all__ = [
    "AthenaEngine",
    "AthenaQueryError",
    "Catalog",
    "DuckDBCatalog",
    "DuckDBEngine",
    "GlueCatalog",
    "QueryEngine",
    "QueryError",
    "QueryResult",
    "SchemaChangeError",
]
