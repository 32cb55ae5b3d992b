"""Rows that name a quarantined record are quarantined too: "parent quarantined".

A record with a value no valid record can have is quarantined where it is read (:mod:`.extract`); what
depends on it cannot be published either — a reference that resolves to nothing is a broken day. After
the dedupe (one row per key), every row whose reference (:class:`spotify_assets.tables.Reference`) names a
key that is missing from the parent table *because that key's record was quarantined* is moved to its own
table's quarantine: the playlist items and artist links of a track with popularity 150, the track of an
album whose release date is after the day (and, through it, that track's items and links). The rest of
the day is published.

Reason: ``parent quarantined: <table> <key> ← <its parent> <key> (<the root record's reason>)``; the
record is the row as it would have been published; ``raw_file`` is the raw file the row came from
(``raw_line`` is not tracked for rows: the reason names the record to look at).

A quarantined record's key is its object's ``id``: the parents (playlists, tracks, albums, artists) are
keyed by the Spotify ID of their object. A key quarantined in one copy but published from another copy
is not missing, so nothing depends on it being quarantined. A reference missing for any other reason is
left alone: the audit's reference check then holds the day back (a transform bug, never data).

Runs on the deduped candidates, which both transform paths produce identically, so the paths agree here
by construction. Tables are visited parents first: a row removed here makes its key a quarantined key of
its table in turn.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from .. import tables as S
from .extract.builders import Builder

PARENT_QUARANTINED = "parent quarantined"


def _parents_first() -> list[str]:
    """The tables in an order where every table comes after the tables it references."""
    order: list[str] = []

    def visit(table: str, path: tuple[str, ...]) -> None:
        if table in order:
            return
        if table in path:
            raise ValueError(f"tables reference each other in a cycle: {' → '.join((*path, table))}")
        for _, ref in S.TABLES[table].references:
            visit(ref.table, (*path, table))
        order.append(table)

    for t in S.TABLES:
        visit(t, ())
    return order


ORDER = _parents_first()
_REFERENCED = {ref.table for spec in S.TABLES.values() for _, ref in spec.references}
assert all(S.TABLES[ref.table].key == (ref.column,) for spec in S.TABLES.values() for _, ref in spec.references), \
    "a reference names its parent's key (the cascade looks quarantined records up by their object's id)"


def quarantine_dependents(tables: dict[str, pa.Table], quarantine: dict[str, list[dict]],
                          raw_file: Callable[[int], str]) -> dict[str, int]:
    """Move the rows that depend on a quarantined record from ``tables`` (deduped candidates, ``_seq``
    still there; replaced in place) to ``quarantine`` (records appended per table); returns how many rows
    each table lost. ``raw_file(task)`` names the raw file of a row's task (``_seq >> 40``)."""
    missing: dict[str, dict[str, tuple[str, str]]] = {}  # table → key → (chain, root reason)
    for t in _REFERENCED:
        keys: dict[str, tuple[str, str]] = {}
        for r in quarantine.get(t, ()):
            key = r["record"].get("id") if type(r["record"]) is dict else None
            if type(key) is str and key not in keys:
                keys[key] = (f"{t} {key}", r["reason"])
        if keys:
            missing[t] = keys
    if not missing:
        return {}
    lost: dict[str, int] = {}
    for t in ORDER:
        if t in missing:  # keys published from another copy are not missing
            key_column = S.TABLES[t].key[0]
            present = _rows_naming(tables[t], key_column, missing[t])
            for key in tables[t][key_column].filter(present).to_pylist() if present is not None else ():
                del missing[t][key]
        refs = [(col, ref) for col, ref in S.TABLES[t].references if missing.get(ref.table)]
        if not refs:
            continue
        table = tables[t]
        hit = None
        for col, ref in refs:
            mask = _rows_naming(table, col, missing[ref.table])
            if mask is not None and ref.when is not None:
                mask = pc.and_(mask, pc.equal(table[ref.when[0]], ref.when[1]))
            if mask is not None:
                mask = pc.fill_null(mask, False)
                hit = mask if hit is None else pc.or_(hit, mask)
        if hit is None or not pc.any(hit).as_py():
            continue
        gone = table.filter(hit)
        tables[t] = table.filter(pc.invert(hit))
        lost[t] = gone.num_rows
        records = quarantine.setdefault(t, [])
        columns = S.TABLES[t].schema.names
        key_column = S.TABLES[t].key[0] if t in _REFERENCED else None
        # the rows as JSON values (ISO timestamps and dates), as the quarantine file will hold them
        rows = orjson.loads(orjson.dumps(gone.select(columns).to_pylist()))
        for row, seq in zip(rows, gone["_seq"].to_pylist(), strict=True):
            col, ref = next((c, r) for c, r in refs if row[c] in missing[r.table]
                            and (r.when is None or row[r.when[0]] == r.when[1]))
            chain, root = missing[ref.table][row[col]]
            records.append({"table": t, "reason": f"{PARENT_QUARANTINED}: {chain} ({root})",
                            "raw_file": raw_file(seq >> Builder.TASK_SHIFT), "raw_line": None, "request": None,
                            "record": row})
            if key_column is not None:
                missing.setdefault(t, {})[row[key_column]] = (f"{t} {row[key_column]} ← {chain}", root)
    return lost


def _rows_naming(table: pa.Table, column: str, keys: dict[str, tuple[str, str]]) -> pa.ChunkedArray | None:
    """Mask of the rows of ``table`` whose ``column`` is one of ``keys`` (None when there are none)."""
    if not keys or table.num_rows == 0:
        return None
    return pc.is_in(table[column], value_set=pa.array(list(keys), pa.string()))
