"""How a table of the lake is declared: one :class:`Column` per column, in one place.

A column says its name, Arrow type, description and nullability — what Glue, Athena, the DuckDB views,
the Dagster UI's column schema and the Parquet files show — and, for the transformed tables, where its
value comes from: a dotted ``path`` into the table's source object in the Spotify JSON (the same in both
quota modes; where the modes differ in shape, the transform resolves the object before reading paths),
read and coerced the same way by both transform paths. Columns the transform computes (keys, positions,
references to other tables, values built from several fields) say so in ``filled_by`` instead.

Adding a column read from the JSON is one :class:`Column` with a ``path``: the Arrow schema, the JSON
projection of the fast path, both extraction paths, Glue's columns and the UI pick it up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property

import pyarrow as pa

# How a JSON value becomes a column value (both transform paths implement each kind):
#   "string", "int" (int64; integral floats and numeric strings accepted), "bool",
#   "timestamp" (ISO 8601 → UTC microseconds; 1970-01-01T00:00:00Z, Spotify's "unknown", becomes null).
COERCIONS = ("string", "int", "bool", "timestamp")

# What each partition key means (Glue's partition key comment); see TableSpec.partition_key.
PARTITION_KEYS = {
    "dt": "Snapshot date (partition), YYYY-MM-DD.",
    "month": "Month of the rows (partition), YYYY-MM, UTC.",
}
_DEFAULT_COERCION = {pa.string(): "string", pa.int64(): "int", pa.bool_(): "bool"}

PARTITION_DAY = "partition day"
"""A :class:`Range` bound relative to the day being transformed: as ``high``, its last moment (a date: the
day itself); as ``low``, its first moment."""


@dataclass(frozen=True)
class Range:
    """The values a column can hold in a valid record (bounds included; None: unbounded; nulls always pass).

    A record with a value outside is quarantined by the transform (both paths) with the reason; the audit
    checks the rows it is about to publish against the same bounds.
    """

    low: int | str | None = None
    high: int | str | None = None

    def describe(self, partition_day: Callable[[bool], str] | None = None) -> str:
        """``[low, high]`` as text; ``partition_day(is_high)`` words a bound relative to the partition day
        (by default "the partition day's start" as ``low``, "the partition day" as ``high``)."""
        def bound(value, is_high: bool) -> str:
            if value == PARTITION_DAY:
                if partition_day is not None:
                    return partition_day(is_high)
                return "the partition day" if is_high else "the partition day's start"
            if value is None:
                return "+inf" if is_high else "-inf"
            return str(value)

        return f"[{bound(self.low, False)}, {bound(self.high, True)}]"


@dataclass(frozen=True)
class Reference:
    """A column that names a row of another table (``table``.``column``), optionally only on rows where
    ``when`` = ``(column, value)`` holds. A row whose referenced row was quarantined is quarantined too
    ("parent quarantined"); the audit checks that every reference among the rows it publishes resolves."""

    table: str
    column: str
    when: tuple[str, str] | None = None


@dataclass(frozen=True)
class Column:
    """One column of a table contract."""

    name: str
    type: pa.DataType
    description: str
    nullable: bool = True
    path: str | None = None
    """Dotted JSON path in the table's source object (e.g. ``external_ids.isrc``); None: computed."""
    coerce: str | None = None
    """One of :data:`COERCIONS`; by default the one of the column's type."""
    simplified: bool = True
    """Read from simplified objects too (an artist inside a track); False: null there, only full objects."""
    filled_by: str | None = None
    """For a computed column: where its value comes from (shown with the description)."""
    valid: Range | None = None
    """The range of values a valid record has (out of it: the record is quarantined)."""
    references: Reference | None = None
    """The row of another table this column names."""

    def __post_init__(self):
        if self.path is not None:
            kind = self.coerce or _DEFAULT_COERCION.get(self.type)
            if kind not in COERCIONS:
                raise ValueError(f"column {self.name}: no coercion for {self.type}; set coerce to one of {COERCIONS}")
            object.__setattr__(self, "coerce", kind)
        elif self.filled_by is None:
            object.__setattr__(self, "filled_by", "")

    @property
    def keys(self) -> tuple[str, ...]:
        """The path as keys, outermost first."""
        return tuple(self.path.split(".")) if self.path else ()

    @property
    def field(self) -> pa.Field:
        return pa.field(self.name, self.type, nullable=self.nullable, metadata={"description": self.description})


@dataclass(frozen=True)
class TableSpec:
    """A table of the lake: name, primary key, columns and a description for the UI and Glue."""

    name: str
    key: tuple[str, ...]
    description: str
    columns: tuple[Column, ...] = field(default_factory=tuple)
    source: str = ""
    """What a row comes from, in words (the UI shows it)."""
    partition_key: str = "dt"
    """The Hive partition key of its files, Glue table and DuckDB view: ``dt`` (a day, ``YYYY-MM-DD``: the
    daily tables) or ``month`` (``YYYY-MM``: the listening history, see :mod:`.history`)."""

    def __post_init__(self):
        if self.partition_key not in PARTITION_KEYS:
            raise ValueError(f"table {self.name}: partition key {self.partition_key!r} is not one of {list(PARTITION_KEYS)}")

    @cached_property
    def schema(self) -> pa.Schema:
        return pa.schema([c.field for c in self.columns])

    @cached_property
    def path_columns(self) -> tuple[Column, ...]:
        """The columns read from the JSON (the others the transform computes)."""
        return tuple(c for c in self.columns if c.path is not None)

    @cached_property
    def ranges(self) -> tuple[tuple[str, Range], ...]:
        """``(column, valid range)`` of the columns that declare one."""
        return tuple((c.name, c.valid) for c in self.columns if c.valid is not None)

    @cached_property
    def references(self) -> tuple[tuple[str, Reference], ...]:
        """``(column, reference)`` of the columns that name rows of other tables."""
        return tuple((c.name, c.references) for c in self.columns if c.references is not None)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name!r}")

    def column_descriptions(self) -> dict[str, str]:
        return {c.name: c.description for c in self.columns}

    def with_columns(self, *columns: Column) -> TableSpec:
        """This table with ``columns`` appended (schema evolution: columns are added, never renamed)."""
        return replace(self, columns=self.columns + tuple(columns))

