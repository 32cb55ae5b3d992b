"""Analytics SQL: one Trino (Athena) source per query, run on DuckDB by sqlglot translation.

Templating: ``{{ name }}`` placeholders only, replaced by SQL literals after validation (dates must be
``YYYY-MM-DD``, counts positive integers). Athena receives the rendered source text unchanged; DuckDB
receives ``sqlglot.transpile(rendered, read="trino", write="duckdb")``.

Which queries exist, what they read, their parameters and their output schema are declared once, in
:data:`spotify_assets.tables.ANALYTICS_QUERIES`; this module runs them.

Materialization: every analytics query is a **table partitioned by ``dt``**, one zstd Parquet object per
day, published as a version ``analytics/<name>/dt=YYYY-MM-DD/v-<hash>/part-00000.parquet`` named by the
day's manifest ``analytics/<name>/dt=YYYY-MM-DD/_published.json`` (see ``README.md`` next to the SQL files
for why a table and not a view). A day goes through the same gate as the transformed tables
(:mod:`spotify_assets.lake.publication`): its result is staged in the run's staging folder, cast to the
query's declared schema (:mod:`spotify_assets.tables.analytics`), and only then published in one step, so a
failed or killed run leaves the previous result of that day — and every other day — as it was.

* **DuckDB**: the translated query runs and its result is staged, published, and its view refreshed (in a new
  catalog file switched in whole, see :mod:`spotify_assets.warehouse.duckdb_engine`).
* **Athena**: the Glue table is created or updated from the declared schema; ``UNLOAD (<query>) TO
  '<staging folder>'`` writes the result as Parquet into the run's staging folder (Athena may write
  several files); they are read back, staged as the one file of the day, published, and the Glue
  partition registered.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot

from ..lake.parquet import write_table_file
from ..lake.paths import validate_partition
from ..lake.publication.publish import publish
from ..lake.publication.staging import Staging
from ..lake.publication.superseded import remove_superseded
from ..lake.storage import Lake
from ..tables import ANALYTICS_QUERIES, AnalyticsQuery
from ..warehouse.engine import QueryEngine, QueryResult, sql_literal

SQL_DIR = Path(__file__).parent
ANALYTICS = tuple(ANALYTICS_QUERIES)  # in declaration order
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@cache
def load_sql(name: str) -> str:
    """The source text of ``spotify_assets/sql/<name>.sql``."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"bad SQL name {name!r}")
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise KeyError(f"no analytics SQL named {name!r} (known: {', '.join(ANALYTICS)})")
    return path.read_text()


def placeholders(sql: str) -> set[str]:
    return set(_PLACEHOLDER.findall(sql))


def _literal(name: str, value: Any) -> str:
    if name == "dt" or name.endswith("_dt"):
        return sql_literal(validate_partition(value.isoformat() if isinstance(value, _dt.date) else value))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"parameter {name} must be a non-negative integer, got {value!r}")
    return str(value)


def render(sql: str, **params: Any) -> str:
    """Replace each ``{{ name }}`` by the validated literal of ``params[name]``."""
    missing = placeholders(sql) - params.keys()
    if missing:
        raise KeyError(f"missing SQL parameters: {', '.join(sorted(missing))}")
    return _PLACEHOLDER.sub(lambda m: _literal(m.group(1), params[m.group(1)]), sql)


def analytics_params(name: str, dt: str, **overrides: Any) -> dict[str, Any]:
    """The parameters of analytics query ``name`` for partition ``dt``: its declared defaults (see
    :data:`spotify_assets.tables.ANALYTICS_QUERIES`), then ``overrides``."""
    return _query(name).parameters(_dt.date.fromisoformat(validate_partition(dt)), **overrides)


def _query(name: str) -> AnalyticsQuery:
    if name not in ANALYTICS_QUERIES:
        raise KeyError(f"unknown analytics query {name!r} (known: {', '.join(ANALYTICS)})")
    return ANALYTICS_QUERIES[name]


def render_analytics(name: str, dt: str, **overrides: Any) -> str:
    """The Athena (Trino) text of analytics query ``name`` for ``dt``: the source file, parameters filled."""
    return render(load_sql(name), **analytics_params(name, dt, **overrides))


def to_engine_sql(sql: str, engine: QueryEngine | str) -> str:
    """Trino source text → the text ``engine`` executes (unchanged for Athena)."""
    dialect = engine if isinstance(engine, str) else engine.dialect
    if dialect == "trino":
        return sql
    return ";\n".join(sqlglot.transpile(sql, read="trino", write=dialect))


def run_sql(engine: QueryEngine, trino_sql: str, *, params: Any = None) -> QueryResult:
    """Run Trino-dialect SQL on any engine."""
    return engine.query(to_engine_sql(trino_sql, engine), params=params)


def run_analytics(engine: QueryEngine, name: str, dt: str, **overrides: Any) -> QueryResult:
    """Run analytics query ``name`` for ``dt`` and return its rows (no materialization)."""
    return run_sql(engine, render_analytics(name, dt, **overrides))


@dataclass
class AnalyticsMaterialization:
    """What :func:`materialize_analytics` did, for asset metadata."""

    name: str
    dt: str
    engine: str
    location: str
    row_count: int
    bytes_scanned: int | None
    engine_ms: float | None
    query_ids: list[str] = field(default_factory=list)
    sql: str = ""
    preview: pa.Table | None = None
    publish_action: str = ""


def materialize_analytics(
    engine: QueryEngine,
    name: str,
    dt: str,
    *,
    lake: Lake,
    catalog: Any = None,
    run_id: str | None = None,
    **overrides: Any,
) -> AnalyticsMaterialization:
    """(Re)compute analytics table ``name`` for partition ``dt`` through stage → publish; idempotent per ``dt``.

    ``engine`` is an :class:`~spotify_assets.warehouse.athena.AthenaEngine` (dialect ``trino``, which
    also needs ``catalog``, the :class:`~spotify_assets.warehouse.glue.GlueCatalog`) or a
    :class:`~spotify_assets.warehouse.duckdb_engine.DuckDBEngine`. ``run_id`` names the staging folder
    (the Dagster run's id in a run; a fresh one otherwise).
    """
    spec = _query(name).table
    validate_partition(dt)
    source = render_analytics(name, dt, **overrides)
    staging = Staging(lake, dt, run_id or f"analytics-{uuid.uuid4().hex[:12]}")
    if engine.dialect == "trino":
        if catalog is None:
            raise ValueError("analytics on Athena need the Glue catalog (catalog=) to register the table")
        catalog.ensure_table(spec, zone="analytics")
        result, rows = _unload_on_athena(engine, name, source, staging)
    else:
        result = run_sql(engine, source)
        rows = result.table
    if "dt" in rows.column_names:
        rows = rows.drop_columns(["dt"])  # the partition, in the path
    written = write_table_file(lake, staging.file("analytics", name), spec, rows)
    published = publish(staging, [("analytics", name)])[0]
    staging.discard()
    if engine.dialect == "trino":
        catalog.register_partition(spec, dt, zone="analytics")
    else:
        engine.refresh_table(spec, "analytics")  # the other views stay as they are
    remove_superseded(lake, "analytics", name, dt)  # the catalog points at the new version now
    return AnalyticsMaterialization(
        name=name,
        dt=dt,
        engine=engine.name,
        location=lake.uri(published.version.file),
        row_count=written.rows,
        bytes_scanned=result.bytes_scanned,
        engine_ms=result.engine_ms,
        query_ids=[result.query_id],
        sql=source,
        preview=rows.slice(0, 10),
        publish_action=published.action,
    )


def unload_statement(source: str, location: str) -> str:
    """Athena's UNLOAD of ``source`` as zstd Parquet into ``location`` (an empty ``s3://…/`` folder).

    The source is wrapped in ``SELECT * FROM (…)`` because UNLOAD documents a SELECT, and the queries
    start with WITH; the order of rows is restored when the result is staged (sorted by key).
    """
    return (
        f"UNLOAD (SELECT * FROM (\n{source}\n)) TO {sql_literal(location)}\n"
        "WITH (format = 'PARQUET', compression = 'ZSTD')"
    )


def _unload_on_athena(engine: Any, name: str, source: str, staging: Staging) -> tuple[QueryResult, pa.Table]:
    """Run ``source`` on Athena into the staging folder; return the query result and the rows it wrote."""
    lake = staging.lake
    if lake.is_local:
        raise ValueError("Athena analytics need an s3:// lake")
    folder = f"{staging.root}/unload/{name}"
    lake.delete_dir(folder)  # UNLOAD refuses a location that holds data (a retried step's leftovers)
    result = engine.query(unload_statement(source, lake.uri(folder) + "/"))
    parts = [pq.read_table(lake.full_path(f.path), filesystem=lake.fs) for f in lake.list_files(folder)]
    spec = _query(name).table
    empty = pa.table({f.name: pa.array([], f.type) for f in spec.schema})
    rows = pa.concat_tables(parts, promote_options="default") if parts else empty
    lake.delete_dir(folder)
    return result, rows
