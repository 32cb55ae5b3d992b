"""Arrow building blocks of the fast path: the checks a chunk must pass, and column helpers.

Every check raises :class:`Fallback` when it fails: the chunk is then fed line by line to the
record-by-record path, which quarantines or excludes exactly what is wrong.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..coerce import SPOTIFY_ID, Bad, release_date

ID_PATTERN = f"^{SPOTIFY_ID.pattern}$"  # (RE2 search anchored: the same IDs SPOTIFY_ID.fullmatch accepts)
_TS_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
_I = pa.int64()
_S = pa.string()


class Fallback(Exception):
    """The chunk is not clean: feed it to the Python path."""



def check(cond) -> None:
    if not cond:
        raise Fallback


def valid_ids(arr) -> None:
    """Every value is a valid Spotify ID (no nulls)."""
    if len(arr):
        check(pc.all(pc.fill_null(pc.match_substring_regex(arr, ID_PATTERN), False)).as_py())


def valid_ids_or_null(arr) -> None:
    if len(arr):
        check(pc.all(pc.match_substring_regex(arr, ID_PATTERN), skip_nulls=True).as_py() is not False)


def within(v, valid) -> None:
    """Every non-null value of ``v`` (an Arrow or numpy array) lies within ``valid``
    (:class:`~..columns.Bounds`); else the Python path quarantines what is not."""
    if valid.low is None and valid.high is None or v is None or len(v) == 0:
        return
    if isinstance(v, np.ndarray):
        low, high = v.min(), v.max()
    else:
        if pa.types.is_date(v.type):
            v = v.cast(pa.int32())
        elif pa.types.is_timestamp(v.type):
            v = v.cast(_I)
        mm = pc.min_max(v)
        low, high = mm["min"].as_py(), mm["max"].as_py()
        if low is None:  # all null
            return
    check((valid.low is None or low >= valid.low) and (valid.high is None or high <= valid.high))


def none_true(arr) -> None:
    if len(arr):
        check(not pc.any(arr).as_py())


def field(arr, *names):
    """The field at ``names`` of a struct array (null where any step is null: ``struct_field`` keeps the
    parents' nulls)."""
    for n in names:
        arr = pc.struct_field(arr, n)
    return arr


def flatten(lists: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """``(values, parent index, index within the parent list)`` of a list array (null lists → no values)."""
    values = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    lens = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.cumsum(lens) - lens
    within = np.arange(len(parents), dtype=np.int64) - starts[parents] if len(parents) else parents
    return values, parents, within


# The fast path's half of each coercion of :mod:`spotify_assets.tables` (the Python half is in .columns):
# pyarrow.json already parsed strings, int64s and booleans strictly (anything else fails the chunk).
def _as_parsed(v: pa.Array) -> pa.Array:
    return v


ARROW_COERCE = {"string": _as_parsed, "int": _as_parsed, "bool": _as_parsed, "timestamp": lambda v: timestamps(v)}



def timestamps(v: pa.Array) -> pa.Array:
    """``timestamp_us(v, epoch_is_null=True)`` for strings of the shape ``YYYY-MM-DDTHH:MM:SSZ`` (nulls pass)."""
    if v.null_count == len(v):
        return pa.nulls(len(v), pa.timestamp("us", tz="UTC"))
    enc = pc.dictionary_encode(v)
    return _distinct_timestamps(enc.dictionary).take(enc.indices)


def _distinct_timestamps(v: pa.Array) -> pa.Array:
    check(pc.all(pc.match_substring_regex(v, _TS_RE), skip_nulls=True).as_py() is not False)
    check(not pc.any(pc.starts_with(v, "0000"), skip_nulls=True).as_py())
    ts = pc.strptime(v, format="%Y-%m-%dT%H:%M:%SZ", unit="us", error_is_null=False)
    check(pc.all(pc.equal(pc.strftime(ts.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%SZ"), v), skip_nulls=True).as_py() is not False)
    ts = ts.cast(pa.timestamp("us", tz="UTC"))
    return pc.if_else(pc.equal(ts.cast(_I), 0), pa.scalar(None, ts.type), ts)




def release_dates(raw: pa.Array, prec: pa.Array) -> tuple[pa.Array, pa.Array]:
    """:func:`~..coerce.release_date` per distinct (value, precision) pair."""
    n = len(raw)
    if n == 0:
        return pa.array([], pa.date32()), pa.array([], _S)
    er, ep = pc.dictionary_encode(raw), pc.dictionary_encode(prec)
    rv, pv = er.dictionary.to_pylist() + [None], ep.dictionary.to_pylist() + [None]
    ri = pc.fill_null(er.indices, len(rv) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    pi = pc.fill_null(ep.indices, len(pv) - 1).to_numpy(zero_copy_only=False).astype(np.int64)
    pairs, idx = np.unique(ri * len(pv) + pi, return_inverse=True)
    days, precs = [], []
    for code in pairs.tolist():
        try:
            d, pr = release_date(rv[code // len(pv)], pv[code % len(pv)])
        except Bad:
            raise Fallback from None
        days.append(d)
        precs.append(pr)
    idx = pa.array(idx.reshape(-1).astype(np.int64))
    return pa.array(days, pa.date32()).take(idx), pa.array(precs, _S).take(idx)




def one_value(data: pa.Buffer, type_: pa.DataType) -> pa.Array:
    """``data`` as a one-value ``large_binary``/``large_string`` array, zero-copy and not validated."""
    return pa.Array.from_buffers(type_, 1, [None, pa.py_buffer(np.array([0, len(data)], np.int64)), data])


def contains(data: pa.Buffer, pattern: str) -> bool:
    """RE2 search in ``data`` (a chunk validated as UTF-8), outside the GIL."""
    return pc.match_substring_regex(one_value(data, pa.large_string()), pattern)[0].as_py()


def as_column(v, typ: pa.DataType, n: int) -> pa.Array:
    """``v`` (None: all null, a numpy array, an Arrow array) as an Arrow array of ``typ`` with ``n`` values."""
    if v is None:
        return pa.nulls(n, typ)
    if isinstance(v, pa.ChunkedArray):
        v = v.combine_chunks()
    if isinstance(v, np.ndarray):
        return pa.array(v, type=typ)
    if v.type != typ:
        v = v.cast(typ)
    return v

