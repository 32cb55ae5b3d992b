"""Tests' stand-in for Athena's query execution: moto accepts Athena API calls but runs no SQL, so this
patches the (in-process) moto server to execute the ``UNLOAD`` statements our analytics send — the same
Trino text, translated by sqlglot and run by DuckDB over the published tables of the S3 lake — and write
the result as Parquet where Athena would, in two files (as Athena may); with ``answer_selects`` a plain
``SELECT``/``WITH`` query gets its rows back through ``GetQueryResults`` (header row first, values as
text, as Athena answers). Everything else about the AWS path stays real: boto3 calls to moto's Athena,
Glue and S3 APIs, from this process or any other that talks to the moto server.
"""

from __future__ import annotations

import contextlib
import re
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

UNLOAD = re.compile(r"^UNLOAD \(SELECT \* FROM \(\n(?P<source>.*)\n\)\) TO '(?P<location>[^']+)'", re.DOTALL)
SELECT = re.compile(r"^\s*(--[^\n]*\n\s*)*(SELECT|WITH)\b", re.IGNORECASE)  # after any leading comments
# Arrow type → the type name Athena reports in ResultSetMetadata (what rows_to_arrow parses back)
_ATHENA_TYPES = ((pa.types.is_string, "varchar"), (pa.types.is_int64, "bigint"), (pa.types.is_integer, "integer"),
                 (pa.types.is_floating, "double"), (pa.types.is_boolean, "boolean"), (pa.types.is_date, "date"),
                 (pa.types.is_timestamp, "timestamp"))


def _athena_type(arrow_type: pa.DataType) -> str:
    return next((name for test, name in _ATHENA_TYPES if test(arrow_type)), "varchar")


def _as_query_results(rows: pa.Table):
    """``rows`` as moto's QueryResults: Athena's header row, then every value as text (null: an empty cell)."""
    from moto.athena.models import QueryResults

    names = rows.column_names
    header = {"Data": [{"VarCharValue": name} for name in names]}
    data = [{"Data": [{} if row[n] is None else {"VarCharValue": str(row[n])} for n in names]}
            for row in rows.to_pylist()]
    info = [{"Name": f.name, "Label": f.name, "Type": _athena_type(f.type), "Precision": 0, "Scale": 0,
             "Nullable": "NULLABLE"} for f in rows.schema]
    return QueryResults(rows=[header, *data], column_info=info)


@contextlib.contextmanager
def athena_runs_on_duckdb(lake_uri: str, *, fail_when=None, answer_selects: bool = False):
    """While active, moto's Athena executes UNLOAD (and with ``answer_selects``, SELECT) over ``lake_uri``;
    ``fail_when(sql)`` True makes moto answer that call with an error instead (the query fails)."""
    from moto.athena.models import AthenaBackend

    from spotify_assets.lake.storage import Lake
    from spotify_assets.sql import to_engine_sql
    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    lake = Lake(lake_uri)
    real = AthenaBackend.start_query_execution
    statements: list[str] = []

    def run_on_duckdb(trino_sql: str) -> pa.Table:
        with tempfile.TemporaryDirectory() as tmp:
            engine = DuckDBEngine(lake, f"{tmp}/athena.duckdb")
            engine.refresh_tables()
            return engine.query(to_engine_sql(trino_sql, engine)).table

    def start_query_execution(self, query, *args, **kwargs):
        statements.append(query)
        if fail_when is not None and fail_when(query):
            raise RuntimeError("injected Athena failure")
        if answer_selects and SELECT.match(query):
            self.query_results_queue.append(_as_query_results(run_on_duckdb(query)))  # taken by this query
        m = UNLOAD.match(query)
        if m:
            rows = run_on_duckdb(m["source"])
            folder = m["location"].removeprefix("s3://").rstrip("/")
            half = rows.num_rows // 2
            for i, part in enumerate((rows.slice(0, half), rows.slice(half))):
                with lake.fs.open_output_stream(f"{folder}/part-{i}-athena", compression=None) as out:
                    pq.write_table(pa.Table.from_batches(part.to_batches(), schema=rows.schema), out)
        return real(self, query, *args, **kwargs)

    AthenaBackend.start_query_execution = start_query_execution
    try:
        yield statements
    finally:
        AthenaBackend.start_query_execution = real
