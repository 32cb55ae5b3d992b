"""Tests' stand-in for Athena's query execution: moto accepts Athena API calls but runs no SQL, so this
patches the (in-process) moto server to execute the ``UNLOAD`` statements our analytics send — the same
Trino text, translated by sqlglot and run by DuckDB over the published tables of the S3 lake — and write
the result as Parquet where Athena would, in two files (as Athena may). Everything else about the AWS
path stays real: boto3 calls to moto's Athena, Glue and S3 APIs.
"""

from __future__ import annotations

import contextlib
import re
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

UNLOAD = re.compile(r"^UNLOAD \(SELECT \* FROM \(\n(?P<source>.*)\n\)\) TO '(?P<location>[^']+)'", re.DOTALL)


@contextlib.contextmanager
def athena_runs_on_duckdb(lake_uri: str, *, fail_when=None):
    """While active, moto's Athena executes UNLOAD over ``lake_uri``; ``fail_when(sql)`` True makes moto
    answer that call with an error instead (the query fails)."""
    from moto.athena.models import AthenaBackend

    from spotify_assets.lake.storage import Lake
    from spotify_assets.sql import to_engine_sql
    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    lake = Lake(lake_uri)
    real = AthenaBackend.start_query_execution
    statements: list[str] = []

    def start_query_execution(self, query, *args, **kwargs):
        statements.append(query)
        if fail_when is not None and fail_when(query):
            raise RuntimeError("injected Athena failure")
        m = UNLOAD.match(query)
        if m:
            with tempfile.TemporaryDirectory() as tmp:
                engine = DuckDBEngine(lake, f"{tmp}/athena.duckdb")
                engine.refresh_tables()
                rows = engine.query(to_engine_sql(m["source"], engine)).table
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
