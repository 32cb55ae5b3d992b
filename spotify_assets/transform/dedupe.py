"""One row per key per partition, chosen deterministically, in Arrow (no per-row Python).

Entity tables: sort by key, then ``_rank`` descending (full object over simplified, then latest
``fetched_at``), then ``_seq`` ascending (first in source → file → line → position order) and keep the
first row of each key. Link tables keep only rows whose ``_pseq`` is a chosen parent row's ``_seq``,
then one row per link key (lowest position). Memory: the candidate rows as Arrow columns plus index
arrays — bounded by the partition's (small, columnar) table size, never by Python objects.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def first_of_each_key(table: pa.Table, key: tuple[str, ...]) -> pa.Array:
    """Boolean mask: True on the first row of every run of equal keys (``table`` sorted by ``key``)."""
    n = table.num_rows
    if n == 0:
        return pa.array([], pa.bool_())
    differs = None
    for k in key:
        col = table[k].combine_chunks()
        d = pc.not_equal(col.slice(1), col.slice(0, n - 1))
        differs = d if differs is None else pc.or_(differs, d)
    return pa.concat_arrays([pa.array([True]), differs])


def pick_rows(table: pa.Table, key: tuple[str, ...], order: list[tuple[str, str]]) -> pa.Table:
    """Sort by ``key`` then ``order`` and keep the first row of each key (the other columns are gathered
    once, for the kept rows only)."""
    if table.num_rows == 0:
        return table
    sort_keys = [(k, "ascending") for k in key] + order
    idx = pc.sort_indices(table.select([k for k, _ in sort_keys]), sort_keys=sort_keys)
    kept = idx.filter(first_of_each_key(table.select(list(key)).take(idx), key))
    return table.take(kept)


def dedupe_entities(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    return pick_rows(table, key, [("_rank", "descending"), ("_seq", "ascending")])


def dedupe_links(table: pa.Table, key: tuple[str, ...], parents: pa.Table) -> pa.Table:
    """Links of the chosen parents only, one per link key (lowest ``position`` when there is one)."""
    if table.num_rows == 0:
        return table
    kept = table.filter(pc.is_in(table["_pseq"], value_set=parents["_seq"].combine_chunks()))
    order = [("position", "ascending")] if "position" in table.column_names else []
    return pick_rows(kept, key, order + [("_pseq", "ascending")])
