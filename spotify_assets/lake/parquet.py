"""Tables on the lake as zstd Parquet: one file per table and day, readable back as Arrow or pandas.

Files are written with rows sorted by the table's key, column descriptions in the Arrow field metadata
(stored in the file's ``ARROW:schema``) and row groups capped at about 128 MB / 1M rows for Athena,
through :meth:`Lake.atomic_writer` (a failure leaves the previous file untouched). A file holds no
timestamps, so writing the same table twice gives byte-identical files. Where a file goes — a run's
staging folder or a published path — is the caller's choice (:mod:`.publication`); readers of published
data use :func:`read_table_partitions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spotify_assets.tables import TABLES, TableSpec

from .publication.manifests import Manifests
from .storage import Lake

ROW_GROUP_BYTES = 128 * 1024 * 1024
ROW_GROUP_MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class WriteResult:
    path: str
    rows: int
    bytes: int


def _as_table(data: pa.Table | Iterable[pa.RecordBatch], schema: pa.Schema | None) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    batches = list(data)  # one sorted file needs the whole partition (columnar, compact)
    if not batches and schema is None:
        raise ValueError("no batches and no schema")
    return pa.Table.from_batches(batches, schema=schema or batches[0].schema)


def conform(table: pa.Table, spec: TableSpec, schema: pa.Schema | None = None) -> pa.Table:
    """``table`` with exactly the target schema (the spec's, or ``schema`` when it extends it):
    columns in order, types cast, descriptions attached; missing nullable columns become nulls."""
    target = schema or spec.schema
    missing_contract = [f.name for f in spec.schema if f.name not in target.names]
    if missing_contract:
        raise ValueError(f"schema lacks contract columns {missing_contract} of table {spec.name}")
    if schema is None:
        # keep added columns the data carries: the contract lets tables gain columns, never lose or rename them
        extra = [f for f in table.schema if f.name not in target.names and not f.name.startswith("_")]
        target = pa.schema(list(target) + extra)
    arrays = []
    for f in target:
        if f.name in table.column_names:
            col = table[f.name]
            if col.type != f.type:
                col = col.cast(f.type)
        elif f.nullable:
            col = pa.nulls(table.num_rows, f.type)
        else:
            raise ValueError(f"table {spec.name} has no column {f.name!r}")
        if not f.nullable and col.null_count:
            raise ValueError(f"key column {spec.name}.{f.name} has {col.null_count} nulls")
        arrays.append(col)
    meta = dict(target.metadata or {})
    meta.setdefault(b"description", spec.description.encode())
    return pa.Table.from_arrays(arrays, schema=target.with_metadata(meta))


def sort_by_key(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    if table.num_rows < 2:
        return table
    return table.take(pc.sort_indices(table, sort_keys=[(k, "ascending") for k in key]))


# Columns unique (or nearly) within a partition: a dictionary page would repeat every value plus an index,
# so they are written plain — 6-8% fewer bytes for random IDs, 30-37% for names: less for Athena to scan.
_MOSTLY_DISTINCT = frozenset({"name"})


def dictionary_columns(spec: TableSpec, schema: pa.Schema) -> list[str]:
    """Columns written with dictionary encoding: all but the single-column key and mostly-distinct ones."""
    plain = set(_MOSTLY_DISTINCT) | (set(spec.key) if len(spec.key) == 1 else set())
    return [f.name for f in schema if f.name not in plain]


def write_table_file(
    lake: Lake,
    rel: str,
    spec: TableSpec,
    table: pa.Table | Iterable[pa.RecordBatch],
    *,
    schema: pa.Schema | None = None,
    presorted: bool = False,
) -> WriteResult:
    """Write ``table`` as ``spec``'s Parquet file at ``rel`` (atomically replacing what was there).

    Rows are sorted by the key here unless the caller guarantees it (``presorted=True``, e.g. the
    transform's dedupe output). ``schema`` (a superset of the spec's) keeps added columns in order.
    """
    t = conform(_as_table(table, schema), spec, schema)
    if not presorted:
        t = sort_by_key(t, spec.key)
    rows_per_group = ROW_GROUP_MAX_ROWS
    if t.num_rows and t.nbytes:
        rows_per_group = max(1, min(ROW_GROUP_MAX_ROWS, ROW_GROUP_BYTES * t.num_rows // t.nbytes))
    with lake.atomic_writer(rel) as out:
        with pq.ParquetWriter(
            out, t.schema, compression="zstd", compression_level=3, write_statistics=True,
            store_schema=True, use_dictionary=dictionary_columns(spec, t.schema),
        ) as w:
            for start in range(0, max(t.num_rows, 1), rows_per_group):
                w.write_table(t.slice(start, rows_per_group), row_group_size=rows_per_group)
    size = lake.fs.get_file_info(lake.full_path(rel)).size or 0
    return WriteResult(rel, t.num_rows, size)


def read_table_file(lake: Lake, rel: str) -> pa.Table:
    return pq.read_table(lake.full_path(rel), filesystem=lake.fs)


def read_table_partitions(
    lake: Lake,
    table: str,
    partitions: list[str] | None = None,
    *,
    zone: str = "transformed",
    manifests: Manifests | None = None,
) -> pa.Table:
    """Published rows of ``table`` for ``partitions`` (all when None), with a ``dt`` string column appended.

    Days without a published file are skipped, and so are days whose manifest is damaged (reported in
    ``manifests.problems``). Files written with fewer (older) columns are unified to the union of columns
    (missing values null). Pass the ``manifests`` other tables of the same days were read with to read
    every table from the same day version.
    """
    manifests = manifests or Manifests(lake)
    parts = []
    for version in manifests.readable(zone, table, partitions):
        if version.file is not None:
            t = read_table_file(lake, version.file)
            parts.append(t.append_column("dt", pa.array([version.partition] * t.num_rows, pa.string())))
    if not parts:
        spec = TABLES.get(table)
        fields = list(spec.schema) if spec else []
        return pa.table({f.name: pa.array([], f.type) for f in fields} | {"dt": pa.array([], pa.string())})
    return pa.concat_tables(parts, promote_options="default")


def read_table_partitions_pandas(lake: Lake, table: str, partitions: list[str] | None = None):
    """:func:`read_table_partitions` as a pandas DataFrame (nullable ints stay nullable)."""
    import pandas as pd

    return read_table_partitions(lake, table, partitions).to_pandas(types_mapper=pd.ArrowDtype)


class MissingPartitionsError(LookupError):
    """Days asked for that have no published version."""

    def __init__(self, lake: Lake, zone: str, table: str, missing: list[str]):
        self.zone, self.table, self.missing = zone, table, missing
        shown = ", ".join(missing[:10]) + (f" … ({len(missing)} days)" if len(missing) > 10 else "")
        super().__init__(f"{table} has no published version for {shown} (zone {zone} of {lake.uri()})")


@dataclass(frozen=True)
class PublishedRead:
    """What :func:`read_published` read: the rows, and which version of which day they came from."""

    table: pa.Table
    versions: dict[str, str | None]  # day → version read (None: published empty)
    missing: list[str]  # days asked for without a published version (skipped)


def read_published(
    lake: Lake,
    zone: str,
    table: str,
    partitions: list[str],
    *,
    columns: list[str] | None = None,
    allow_missing: bool = False,
    add_dt: bool = False,
    schema: pa.Schema | None = None,
    manifests: Manifests | None = None,
) -> PublishedRead:
    """The published rows of ``table`` for ``partitions``, in that order, read through each day's manifest.

    * A day without a published version raises :class:`MissingPartitionsError`, or is skipped with
      ``allow_missing``; a day published empty contributes no rows.
    * ``columns`` reads only those columns (a column a day's file lacks, written before the column was
      added, is null there); ``add_dt`` appends the day as a ``dt`` string column.
    * ``schema`` (the table's contract) types the result when no day has a file; without it such a
      result has only the requested columns, as strings.
    * ``manifests``: pass the one other tables of the same days were read with, so that every table of a
      day comes from the same day version. A damaged manifest of a day asked for raises
      :class:`~spotify_assets.lake.publication.manifests.CorruptManifestError` naming it.
    """
    manifests = manifests or Manifests(lake)
    key = "month" if partitions and len(partitions[0]) == 7 else "dt"  # the listening history's months
    available = set(manifests.partitions(zone, table, key)) if partitions else set()
    missing = [day for day in partitions if day not in available]
    if missing and not allow_missing:
        raise MissingPartitionsError(lake, zone, table, missing)
    parts, versions = [], {}
    for day in partitions:
        if day in missing:
            continue
        version = manifests.version(zone, table, day)
        if version is None:  # unpublished since the listing: as missing
            if not allow_missing:
                raise MissingPartitionsError(lake, zone, table, [day])
            missing.append(day)
            continue
        versions[day] = version.version
        if version.file is None:
            continue
        with lake.open_random_access(version.file) as f:
            pf = pq.ParquetFile(f)
            present = pf.schema_arrow.names
            wanted = columns if columns is not None else present
            part = pf.read(columns=[c for c in wanted if c in present])
        for name in wanted:
            if name not in part.column_names:
                type_ = schema.field(name).type if schema is not None and name in schema.names else pa.string()
                part = part.append_column(name, pa.nulls(part.num_rows, type_))
        part = part.select(wanted)
        if add_dt:
            part = part.append_column("dt", pa.array([day] * part.num_rows, pa.string()))
        parts.append(part)
    if parts:
        result = pa.concat_tables(parts, promote_options="default")
    else:
        fields = list(schema) if schema is not None else []
        if columns is not None:
            by_name = {f.name: f for f in fields}
            fields = [by_name.get(c, pa.field(c, pa.string())) for c in columns]
        if add_dt:
            fields.append(pa.field("dt", pa.string()))
        result = pa.table({f.name: pa.array([], f.type) for f in fields})
    return PublishedRead(result, versions, missing)


def write_arrow_file(lake: Lake, rel: str, table: pa.Table) -> WriteResult:
    """Write any Arrow table as one zstd Parquet object at ``rel`` (atomically, no timestamps: the same
    rows give the same bytes) — for tables without a :class:`TableSpec` (Python assets' outputs)."""
    with lake.atomic_writer(rel) as out:
        pq.write_table(table, out, compression="zstd", compression_level=3, write_statistics=True, store_schema=True)
    return WriteResult(rel, table.num_rows, lake.size(rel))
