"""The declared columns (:mod:`spotify_assets.tables`) applied to Spotify JSON, the same way on both paths.

* :class:`RowReader` — the Python path: a table's path columns read from one JSON object and coerced
  (``Bad`` on a wrong type), then the row built in schema order with the columns the transform computes
  passed by name, so no value can land in the wrong column.
* :func:`projection` — the fast path: the ``pyarrow.json`` struct type of a source object, made of the
  table's path columns (their JSON types) merged with the fields the transform itself needs; the fast
  path reads the same paths out of the parsed Arrow arrays (:func:`spotify_assets.transform.fast`).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from ..tables import TableSpec
from .coerce import Bad, timestamp_us, to_bool, to_int, to_str


def _timestamp(v, what: str):
    return timestamp_us(v, what, epoch_is_null=True)  # Spotify sends 1970-01-01T00:00:00Z for "unknown"


PYTHON_COERCE: dict[str, Callable] = {"string": to_str, "int": to_int, "bool": to_bool, "timestamp": _timestamp}
JSON_TYPE: dict[str, pa.DataType] = {"string": pa.string(), "int": pa.int64(), "bool": pa.bool_(),
                                     "timestamp": pa.string()}


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
    ``simplified=False`` are not read and stay null.
    """

    def __init__(self, spec: TableSpec, *, simplified: bool = False):
        self.spec = spec
        self.paths: list[tuple[tuple[str, ...], str, Callable]] = []  # (keys, what, coerce) of columns read
        self.slots: list[tuple[str, int | None]] = []  # (column, index in read values | None: computed)
        for c in spec.columns:
            if c.path is None:
                self.slots.append((c.name, None))
            elif simplified and not c.simplified:
                self.slots.append((c.name, -1))
            else:
                self.slots.append((c.name, len(self.paths)))
                self.paths.append((c.keys, c.path, PYTHON_COERCE[c.coerce]))
        self.computed = tuple(name for name, i in self.slots if i is None)

    def read(self, obj: dict) -> list:
        """The path columns' values of ``obj``, coerced; ``Bad`` names the first column that is wrong."""
        out = []
        for keys, what, coerce in self.paths:
            v = obj.get(keys[0]) if len(keys) == 1 else _get(obj, keys, what)
            out.append(coerce(v, what))
        return out

    def build(self, values: list, last: int, **computed) -> tuple:
        """The row: ``values`` from :meth:`read`, the computed columns by name (all of them, no others)."""
        if len(computed) != len(self.computed):
            raise TypeError(f"{self.spec.name}: computed columns {sorted(computed)}, expected {self.computed}")
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
