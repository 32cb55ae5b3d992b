"""``python -m spotify_assets.sql [SQL]``: one query in Athena's dialect on the warehouse, its rows printed.

Without an argument the SQL is read from stdin (``… < query.sql``). The engine is the one the pipeline uses:
DuckDB over the local lake (``SPOTIFY_DUCKDB_PATH``, default ``./data/spotify.duckdb``, which ``make demo``
fills), or Athena with ``SPOTIFY_ASSETS_ENV=aws`` (database ``SPOTIFY_GLUE_DATABASE``, results in
``SPOTIFY_ATHENA_OUTPUT``). The same text runs on both: DuckDB gets it translated by sqlglot.
"""

from __future__ import annotations

import argparse
import sys

import pyarrow as pa

from ..warehouse.engine import QueryError
from .analytics import run_sql


def format_rows(table: pa.Table) -> str:
    """The rows as an aligned text table (every row: the caller chose the query's LIMIT)."""
    if table.num_columns == 0:
        return "(no columns)"
    return table.to_pandas(types_mapper=None).to_string(index=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m spotify_assets.sql",
        description="Run one SQL statement (Athena's dialect) on the warehouse: DuckDB locally, Athena with "
        "SPOTIFY_ASSETS_ENV=aws. Without SQL, the statement is read from stdin.",
    )
    parser.add_argument("sql", nargs="?", help="the statement (default: read from stdin)")
    args = parser.parse_args(argv)
    sql = (args.sql if args.sql is not None else sys.stdin.read()).strip().rstrip(";").strip()
    if not sql:
        parser.error("no SQL given (an argument, or a statement on stdin)")
    from ..warehouse.resources import build_query_engine  # after parsing: --help needs no settings

    engine = build_query_engine()
    try:
        result = run_sql(engine, sql)
    except QueryError as error:
        print(f"{engine.name}: {error}", file=sys.stderr)
        return 1
    finally:
        engine.close()
    print(format_rows(result.table))
    print(f"({result.num_rows} row{'' if result.num_rows == 1 else 's'}, {engine.name})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
