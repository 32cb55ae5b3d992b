"""Analytics SQL: one Trino (Athena) source per query, run on DuckDB by sqlglot translation.

Templating: ``{{ name }}`` placeholders only, replaced by SQL literals after validation (dates must be
``YYYY-MM-DD``, counts positive integers). Athena receives the rendered source text unchanged; DuckDB
receives ``sqlglot.transpile(rendered, read="trino", write="duckdb")``.

Materialization (decision — see ``README.md`` next to the SQL files): every analytics query becomes a
**table partitioned by ``dt``** stored as zstd Parquet at ``<lake>/analytics/<name>/dt=YYYY-MM-DD/``, not a
view. Rationale: the results are small and read often (dashboards, the UI preview), a view would re-scan
up to 30 days of source partitions on every read, and a table keeps each day's result as it was computed
(reproducible history). Idempotent per ``dt``:

* **Athena**: the table ``<database>.<name>`` is created once by ``CREATE TABLE … WITH (format='PARQUET',
  write_compression='ZSTD', external_location='<lake>/analytics/<name>/', partitioned_by=ARRAY['dt']) AS
  <query> WITH NO DATA``; each run deletes the S3 prefix ``analytics/<name>/dt=<dt>/``, runs ``ALTER TABLE …
  DROP IF EXISTS PARTITION (dt='<dt>')`` and then ``INSERT INTO <name> <query>`` (the query's last column is
  ``dt``, as Athena requires for a partitioned insert; INSERT INTO registers the partition in Glue).
* **DuckDB**: the translated query runs, its result is written with the lake's atomic writer to
  ``analytics/<name>/dt=<dt>/part-00000.parquet`` (without the ``dt`` column, which is the path's) and the
  engine's view ``<name>`` over ``analytics/<name>/`` is refreshed — same table name, same columns as Athena.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot

from ..lake.paths import validate_partition
from ..lake.storage import Lake
from ..warehouse.engine import QueryEngine, QueryResult, sql_literal

SQL_DIR = Path(__file__).parent
ANALYTICS = ("daily_top_tracks", "artist_trend", "genre_share", "playlist_churn")
ANALYTICS_ROOT = "analytics"
DEFAULT_TOP_N = 50
DEFAULT_TREND_DAYS = 30
DEFAULT_CHURN_LOOKBACK_DAYS = 7
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


def days_before(dt: str, days: int) -> str:
    return (_dt.date.fromisoformat(validate_partition(dt)) - _dt.timedelta(days=days)).isoformat()


def analytics_params(name: str, dt: str, **overrides: Any) -> dict[str, Any]:
    """The parameters of analytics query ``name`` for partition ``dt`` (defaults, then ``overrides``).

    ``top_n`` (daily_top_tracks, default 50); ``days`` (artist_trend: window length, default 30 →
    ``start_dt = dt - (days - 1)``); ``lookback_days`` (playlist_churn, default 7 → ``start_dt = dt - days``).
    """
    validate_partition(dt)
    params: dict[str, Any] = {"dt": dt}
    if name == "daily_top_tracks":
        params["top_n"] = overrides.pop("top_n", DEFAULT_TOP_N)
    elif name == "artist_trend":
        days = overrides.pop("days", DEFAULT_TREND_DAYS)
        params["start_dt"] = days_before(dt, max(int(days), 1) - 1)
    elif name == "playlist_churn":
        params["start_dt"] = days_before(dt, max(int(overrides.pop("lookback_days", DEFAULT_CHURN_LOOKBACK_DAYS)), 1))
    params.update(overrides)
    return params


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
    row_count: int | None
    bytes_scanned: int | None
    engine_ms: float | None
    query_ids: list[str] = field(default_factory=list)
    sql: str = ""
    preview: pa.Table | None = None


def materialize_analytics(
    engine: QueryEngine, name: str, dt: str, *, lake: Lake, table_name: str | None = None, **overrides: Any
) -> AnalyticsMaterialization:
    """(Re)compute analytics table ``name`` for partition ``dt``; idempotent per ``dt``.

    ``engine`` is an :class:`~spotify_assets.warehouse.athena.AthenaEngine` (dialect ``trino``) or a
    :class:`~spotify_assets.warehouse.duckdb_engine.DuckDBEngine`; ``lake`` is the lake the results live in.
    """
    if name not in ANALYTICS:
        raise KeyError(f"unknown analytics query {name!r} (known: {', '.join(ANALYTICS)})")
    validate_partition(dt)
    table = table_name or name
    source = render_analytics(name, dt, **overrides)
    table_rel = f"{ANALYTICS_ROOT}/{table}"
    partition_rel = f"{table_rel}/dt={dt}"
    if engine.dialect == "trino":
        return _materialize_athena(engine, name, table, dt, source, lake, table_rel, partition_rel)
    result = run_sql(engine, source)
    data = result.table
    if "dt" in data.column_names:
        data = data.drop_columns(["dt"])
    buffer = io.BytesIO()
    pq.write_table(data, buffer, compression="zstd")
    lake.write_bytes(f"{partition_rel}/part-00000.parquet", buffer.getvalue())
    engine.refresh_tables([dt])
    return AnalyticsMaterialization(
        name=name,
        dt=dt,
        engine=engine.name,
        location=lake.uri(partition_rel) + "/",
        row_count=result.table.num_rows,
        bytes_scanned=result.bytes_scanned,
        engine_ms=result.engine_ms,
        query_ids=[result.query_id],
        sql=source,
        preview=result.table.slice(0, 10),
    )


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _materialize_athena(
    engine: Any, name: str, table: str, dt: str, source: str, lake: Lake, table_rel: str, partition_rel: str
) -> AnalyticsMaterialization:
    if lake.is_local:
        raise ValueError("Athena analytics need an s3:// lake")
    database = getattr(engine, "database", None)
    qualified = f"{_quote(database)}.{_quote(table)}" if database else _quote(table)
    query_ids: list[str] = []
    if not _athena_table_exists(engine, table):
        lake.delete_dir(table_rel)  # CTAS needs an empty location; nothing is registered there
        ctas = (
            f"CREATE TABLE {qualified}\n"
            f"WITH (format = 'PARQUET', write_compression = 'ZSTD', "
            f"external_location = {sql_literal(lake.uri(table_rel) + '/')}, partitioned_by = ARRAY['dt'])\n"
            f"AS\n{source}\nWITH NO DATA"
        )
        query_ids.append(engine.query(ctas).query_id)
    lake.delete_dir(partition_rel)
    query_ids.append(engine.query(f"ALTER TABLE {qualified} DROP IF EXISTS PARTITION (dt = {sql_literal(dt)})").query_id)
    result = engine.query(f"INSERT INTO {qualified}\n{source}")
    query_ids.append(result.query_id)
    return AnalyticsMaterialization(
        name=name,
        dt=dt,
        engine=engine.name,
        location=lake.uri(partition_rel) + "/",
        row_count=result.extra.get("update_count"),
        bytes_scanned=result.bytes_scanned,
        engine_ms=result.engine_ms,
        query_ids=query_ids,
        sql=source,
    )


def _athena_table_exists(engine: Any, table: str) -> bool:
    """Whether Glue knows ``table`` (via the engine's Athena client: GetTableMetadata)."""
    client = engine.client
    try:
        client.get_table_metadata(CatalogName=engine.catalog, DatabaseName=engine.database, TableName=table)
        return True
    except client.exceptions.MetadataException:
        return False
