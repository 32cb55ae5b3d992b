"""One catalog interface for the catalog assets: Glue on AWS, DuckDB views locally.

Locally "registering" a table or partition means refreshing the DuckDB view so it sees the new files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from ..lake.publication import published_partitions
from ..tables import TableSpec
from .duckdb_engine import DuckDBEngine
from .glue import GlueCatalog


@runtime_checkable
class Catalog(Protocol):
    name: str

    def ensure_database(self) -> None: ...

    def ensure_table(self, spec: TableSpec, *, zone: str = "transformed") -> str:
        """``"created"``, ``"updated"`` or ``"unchanged"``."""
        ...

    def register_partition(self, spec: TableSpec, dt: str, *, zone: str = "transformed") -> str:
        """``"created"``, ``"updated"``, ``"projected"`` or ``"refreshed"``."""
        ...

    def sync_partitions(self, spec: TableSpec, values: Iterable[str], *, zone: str = "transformed") -> dict[str, int]:
        """Register many partitions at once (the history's months); counts by outcome."""
        ...

    def list_partitions(self, table: str, *, zone: str = "transformed") -> list[str]: ...


class DuckDBCatalog:
    """The local catalog: DuckDB views over the lake (see :class:`DuckDBEngine`)."""

    name = "duckdb"

    def __init__(self, engine: DuckDBEngine):
        self.engine = engine

    def ensure_database(self) -> None:
        self.engine.refresh_tables()

    def ensure_table(self, spec: TableSpec, *, zone: str = "transformed") -> str:
        (self.engine.tables if zone == "transformed" else self.engine.analytics)[spec.name] = spec
        self.engine.refresh_table(spec, zone)
        return "updated"

    def register_partition(self, spec: TableSpec, dt: str, *, zone: str = "transformed") -> str:
        self.engine.refresh_table(spec, zone)
        return "refreshed"

    def sync_partitions(self, spec: TableSpec, values: Iterable[str], *, zone: str = "transformed") -> dict[str, int]:
        self.engine.refresh_table(spec, zone)  # the view lists every published partition's current object
        return {"refreshed": len(list(values))}

    def list_partitions(self, table: str, *, zone: str = "transformed") -> list[str]:
        return published_partitions(self.engine.lake, zone, table)


GlueCatalog.name = "glue"  # satisfies the Catalog protocol

__all__ = ["Catalog", "DuckDBCatalog", "GlueCatalog"]
