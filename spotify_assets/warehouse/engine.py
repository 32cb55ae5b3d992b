"""The query interface both engines implement (Athena on AWS, DuckDB locally).

Callers (assets, checks, analytics) hold a :class:`QueryEngine` and never ask which one it is. SQL is
written in Athena's dialect (Trino); an engine whose :attr:`QueryEngine.dialect` is not ``"trino"`` gets
the text translated by :func:`spotify_assets.sql.to_engine_sql` before it is submitted.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa


@dataclass
class QueryResult:
    """A finished query: typed rows plus what the engine reports about the run."""

    table: pa.Table
    query_id: str
    sql: str
    bytes_scanned: int | None = None
    engine_ms: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    def to_pylist(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()

    def scalar(self) -> Any:
        """The first column of the first row (None when there are no rows)."""
        if self.table.num_rows == 0 or self.table.num_columns == 0:
            return None
        return self.table.column(0)[0].as_py()


@runtime_checkable
class QueryEngine(Protocol):
    """One query interface, two backends."""

    name: str
    """``"athena"`` or ``"duckdb"`` (for metadata and logs)."""
    dialect: str
    """sqlglot dialect the engine executes: ``"trino"`` (Athena) or ``"duckdb"``."""

    def query(self, sql: str, *, params: Sequence[Any] | None = None) -> QueryResult:
        """Run one statement; ``params`` bind positional ``?`` placeholders."""
        ...

    def refresh_tables(self, partitions: Iterable[str] | None = None) -> None:
        """Make newly written partitions visible (DuckDB: rebuild views; Athena: no-op, Glue does it)."""
        ...

    def close(self) -> None: ...


class QueryError(RuntimeError):
    """A query failed; carries the engine's reason, the SQL and the query id."""

    def __init__(self, message: str, *, sql: str, query_id: str | None = None, reason: str | None = None):
        self.sql = sql
        self.query_id = query_id
        self.reason = reason
        short_sql = sql if len(sql) <= 2000 else sql[:2000] + " …"
        super().__init__(f"{message} (query id {query_id}): {reason}\n--- SQL ---\n{short_sql}")


def sql_literal(value: Any) -> str:
    """Render a Python value as a SQL literal valid in Trino and DuckDB (strings quoted, ' doubled)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | _decimal.Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, _dt.datetime):
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}'"
    if isinstance(value, _dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot render {type(value).__name__} as a SQL literal")
