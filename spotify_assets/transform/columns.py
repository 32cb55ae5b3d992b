"""The declared columns (:mod:`spotify_assets.tables`) applied to Spotify JSON, the same way on both paths.

* :class:`RowReader` — the Python path: a table's path columns read from one JSON object, coerced
  (``Bad`` on a wrong type) and checked against their valid range (``Bad`` outside it), then the row built
  in schema order with the columns the transform computes passed by name, so no value can land in the
  wrong column. It counts the values a coercion turned into null (``coerced``).
* :func:`bounds` — a table's valid ranges (:class:`spotify_assets.tables.Range`) resolved for one
  partition day, in the representation both paths compare (:class:`Bounds`).
* :func:`projection` — the fast path: the ``pyarrow.json`` struct type of a source object, made of the
  table's path columns (their JSON types) merged with the fields the transform itself needs; the fast
  path reads the same paths out of the parsed Arrow arrays (:mod:`spotify_assets.transform.fast.plan`).
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from ..tables import PARTITION_DAY, Range, TableSpec
from .coerce import Bad, timestamp_us, to_bool, to_int, to_str

_EPOCH_DAY = _dt.date(1970, 1, 1)
_DAY_US = 86_400_000_000


def _timestamp(v, what: str):
    return timestamp_us(v, what, epoch_is_null=True)  # Spotify sends 1970-01-01T00:00:00Z for "unknown"


PYTHON_COERCE: dict[str, Callable] = {"string": to_str, "int": to_int, "bool": to_bool, "timestamp": _timestamp}
JSON_TYPE: dict[str, pa.DataType] = {"string": pa.string(), "int": pa.int64(), "bool": pa.bool_(),
                                     "timestamp": pa.string()}


@dataclass(frozen=True)
class Bounds:
    """A column's valid range as the transform compares it: ``low``/``high`` in the coerced representation
    (the int64 value; days since the epoch for a date, microseconds for a timestamp), None: unbounded."""

    column: str
    low: int | None
    high: int | None
    valid: Range
    type: pa.DataType

    def check(self, v) -> None:
        """``Bad`` with the reason when ``v`` (not None) is outside."""
        if (self.low is not None and v < self.low) or (self.high is not None and v > self.high):
            raise Bad(f"{self.column} {self._show(v)} is outside {self._describe()}")

    def _show(self, v) -> str:
        if pa.types.is_date(self.type):
            return (_EPOCH_DAY + _dt.timedelta(days=v)).isoformat()
        if pa.types.is_timestamp(self.type):
            return (_dt.datetime(1970, 1, 1, tzinfo=_dt.UTC) + _dt.timedelta(microseconds=v)).isoformat()
        return str(v)

    def _describe(self) -> str:
        return self.valid.describe(
            lambda is_high: f"{self._show(self.high if is_high else self.low)} (the partition day)")


def bounds(spec: TableSpec, partition: str | None) -> dict[str, Bounds]:
    """``spec``'s valid ranges resolved for ``partition`` (``YYYY-MM-DD``); without a partition, bounds
    relative to the partition day are left open."""
    day = _dt.date.fromisoformat(partition) if partition else None

    def resolve(value, typ: pa.DataType, end: bool):
        if value != PARTITION_DAY:
            return value
        if day is None:
            return None
        days = (day - _EPOCH_DAY).days
        if pa.types.is_date(typ):
            return days
        return (days + 1) * _DAY_US - 1 if end else days * _DAY_US  # a timestamp: the day's first/last µs

    out = {}
    for name, valid in spec.ranges:
        typ = spec.column(name).type
        out[name] = Bounds(name, resolve(valid.low, typ, False), resolve(valid.high, typ, True), valid, typ)
    return out


def _get(obj: dict, keys: tuple[str, ...], what: str):
    """The value at ``keys`` in ``obj`` (None when a step is missing or null; ``Bad`` when a step is not
    an object)."""
    v = obj
    for i, k in enumerate(keys):
        if v is None:
            return None
        if type(v) is not dict:
            raise Bad(f"{'.'.join(keys[:i])} has type {type(v).__name__}, expected object")
        v = v.get(k)
    return v


class RowReader:
    """Rows of one table from JSON objects: :meth:`read` validates the path columns of an object,
    :meth:`build` makes the row tuple (schema order, then ``last``: the ``_rank`` or ``_pseq`` column).

    ``simplified``: the object is a simplified one (an artist inside a track): path columns marked
    ``simplified=False`` are not read and stay null. ``valid``: the table's :func:`bounds`; the path
    columns are checked against them (computed columns are the caller's to check).

    ``coerced`` counts, per column, the rows built whose JSON value a coercion turned into null (a
    timestamp of exactly the epoch): counted when the row is built, so a record read but then quarantined
    or merged as a duplicate is not counted — the same rows the fast path counts.
    """

    def __init__(self, spec: TableSpec, *, simplified: bool = False, valid: dict[str, Bounds] | None = None):
        self.spec = spec
        self.paths: list[tuple[tuple[str, ...], str, Callable]] = []  # (keys, what, coerce) of columns read
        self.slots: list[tuple[str, int | None]] = []  # (column, index in read values | None: computed)
        self.checks: list[tuple[int, Bounds]] = []  # (index in read values, bounds) of the ranged path columns
        self.coerced: Counter = Counter()
        self._nulled: list[str] = []  # columns the last read() turned into null
        valid = valid or {}
        for c in spec.columns:
            if c.path is None:
                self.slots.append((c.name, None))
            elif simplified and not c.simplified:
                self.slots.append((c.name, -1))
            else:
                if c.name in valid:
                    self.checks.append((len(self.paths), valid[c.name]))
                self.slots.append((c.name, len(self.paths)))
                self.paths.append((c.keys, c.path, self._coercion(c.coerce, c.name)))
        self.computed = tuple(name for name, i in self.slots if i is None)

    def _coercion(self, kind: str, column: str) -> Callable:
        coerce = PYTHON_COERCE[kind]
        if kind != "timestamp":  # the only coercion that can turn a value into null
            return coerce
        nulled = self._nulled

        def counted(v, what):
            out = coerce(v, what)
            if out is None and v is not None:
                nulled.append(column)
            return out

        return counted

    def read(self, obj: dict, *, check: bool = True) -> list:
        """The path columns' values of ``obj``, coerced and (unless ``check`` is False: call :meth:`check`)
        checked against their ranges; ``Bad`` names the first column that is wrong."""
        if self._nulled:
            self._nulled.clear()
        out = []
        for keys, what, coerce in self.paths:
            v = obj.get(keys[0]) if len(keys) == 1 else _get(obj, keys, what)
            out.append(coerce(v, what))
        if check and self.checks:
            self.check(out)
        return out

    def check(self, values: list) -> None:
        """``Bad`` when a value read is outside its column's valid range."""
        for i, b in self.checks:
            if values[i] is not None:
                b.check(values[i])

    def build(self, values: list, last: int, **computed) -> tuple:
        """The row: ``values`` from :meth:`read`, the computed columns by name (all of them, no others)."""
        if len(computed) != len(self.computed):
            raise TypeError(f"{self.spec.name}: computed columns {sorted(computed)}, expected {self.computed}")
        if self._nulled:
            self.coerced.update(self._nulled)
            self._nulled.clear()
        row = [computed[name] if i is None else (None if i < 0 else values[i]) for name, i in self.slots]
        row.append(last)
        return tuple(row)


def projection(spec: TableSpec, structural: dict[str, pa.DataType], *, simplified: bool = False) -> pa.StructType:
    """The JSON projection of ``spec``'s source object: its path columns (nested by path) merged with the
    ``structural`` fields the transform needs (a path column may share a field with them, with the same type)."""
    tree: dict = {}

    def put(node: dict, keys: tuple[str, ...], typ: pa.DataType, where: str) -> None:
        head, rest = keys[0], keys[1:]
        if not rest:
            if isinstance(typ, pa.StructType):
                for f in typ:
                    put(node.setdefault(head, {}), (f.name,), f.type, f"{where}.{f.name}")
                return
            if head in node and node[head] != typ:
                raise ValueError(f"{spec.name}: {where} is read as {node[head]} and as {typ}")
            node[head] = typ
            return
        child = node.setdefault(head, {})
        if not isinstance(child, dict):
            raise ValueError(f"{spec.name}: {where} is read as a value and as an object")
        put(child, rest, typ, where)

    for name, typ in structural.items():
        put(tree, (name,), typ, name)
    for c in spec.path_columns:
        if simplified and not c.simplified:
            continue
        put(tree, c.keys, JSON_TYPE[c.coerce], c.path)

    def struct(node: dict) -> pa.StructType:
        return pa.struct([(k, struct(v) if isinstance(v, dict) else v) for k, v in node.items()])

    return struct(tree)
