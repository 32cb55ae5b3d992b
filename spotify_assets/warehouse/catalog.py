"""One catalog interface for the catalog assets: Glue on AWS (:class:`~spotify_assets.warehouse.glue.GlueCatalog`),
DuckDB views locally (:class:`DuckDBCatalog`).

Locally "registering" a table or partition means rebuilding the DuckDB views so they see the new files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..lake.publication.manifests import published_partitions
from ..tables import TableSpec
from .duckdb_engine import DuckDBEngine


@dataclass(frozen=True)
class DayRegistration:
    """What :meth:`Catalog.register_day` did: per table ``(table action, partition action)``, the day
    version the partitions now show (None: the day has no day manifest), and what was skipped on the way
    (damaged manifests, folders that are not ``dt=YYYY-MM-DD``)."""

    actions: dict[str, tuple[str, str]]
    day_version: str | None
    problems: list[str] = field(default_factory=list)


@runtime_checkable
class Catalog(Protocol):
    name: str

    def ensure_database(self) -> None: ...

    def ensure_table(self, spec: TableSpec, *, zone: str = "transformed") -> str:
        """``"created"``, ``"updated"`` or ``"unchanged"``."""
        ...

    def register_partition(self, spec: TableSpec, dt: str, *, zone: str = "transformed") -> str:
        """``"created"``, ``"updated"``, ``"not published"`` or ``"refreshed"``."""
        ...

    def register_day(self, specs: Sequence[TableSpec], dt: str, *, zone: str = "transformed") -> DayRegistration:
        """Create or update each table and switch its partition ``dt`` to the day's published version, all
        of the day's tables as close together as the catalog allows."""
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
        """Build the catalog file if there is none yet (registering tables rebuilds it)."""
        self.engine.ensure_file()

    def ensure_table(self, spec: TableSpec, *, zone: str = "transformed") -> str:
        self.engine.refresh_table(spec, zone)
        return "updated"

    def register_partition(self, spec: TableSpec, dt: str, *, zone: str = "transformed") -> str:
        self.engine.refresh_table(spec, zone)
        return "refreshed"

    def sync_partitions(self, spec: TableSpec, values: Iterable[str], *, zone: str = "transformed") -> dict[str, int]:
        self.engine.refresh_table(spec, zone)  # the view lists every published partition's current object
        return {"refreshed": len(list(values))}

    def register_day(self, specs: Sequence[TableSpec], dt: str, *, zone: str = "transformed") -> DayRegistration:
        """One new catalog file, switched in at once: for the transformed tables every view rebuilt from one
        reading of the day manifests, so a reader opening the file after the switch sees the whole day at its
        new version; for analytics tables, their views."""
        for spec in specs:
            (self.engine.tables if zone == "transformed" else self.engine.analytics)[spec.name] = spec
        actions = {spec.name: ("updated", "refreshed") for spec in specs}
        if zone != "transformed":
            return DayRegistration(actions, None, [p for spec in specs for p in self.engine.refresh_table(spec, zone)])
        problems = self.engine.refresh_tables()
        day = self.engine.last_build.day(dt)
        return DayRegistration(actions, day.version if day is not None else None, problems)

    def list_partitions(self, table: str, *, zone: str = "transformed") -> list[str]:
        spec = self.engine.tables.get(table) if zone == "transformed" else None
        return published_partitions(self.engine.lake, zone, table, spec.partition_key if spec else "dt")

