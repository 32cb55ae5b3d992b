"""Our own Amazon Athena client: submit, poll with capped exponential backoff, time out, cancel, and
return typed Arrow results with the bytes scanned and engine time.

Why not ``dagster_aws.athena.AthenaClientResource``: it has no region, endpoint, database or output
location settings and returns rows as strings only.

Cancellation: polling runs inside ``try/except BaseException`` — a timeout, ``KeyboardInterrupt`` or
Dagster's ``DagsterExecutionInterruptedError`` (raised in the step when a run is terminated) stops the
Athena query (``StopQueryExecution``) before the exception propagates, so no orphan query keeps
scanning (and billing). :meth:`AthenaEngine.cancel` stops the running query from another thread.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyarrow as pa

from ..aws import clients as aws
from .engine import QueryError, QueryResult, sql_literal

log = logging.getLogger(__name__)

TERMINAL_STATES = ("SUCCEEDED", "FAILED", "CANCELLED")


class AthenaQueryError(QueryError):
    """An Athena query ended FAILED or CANCELLED (``state``), or timed out (``state == "TIMEOUT"``)."""

    def __init__(self, message: str, *, sql: str, query_id: str | None, reason: str | None, state: str):
        self.state = state
        super().__init__(message, sql=sql, query_id=query_id, reason=reason)


class AthenaEngine:
    """Athena behind the :class:`~spotify_assets.warehouse.engine.QueryEngine` interface.

    ``output_location`` (``s3://…``) may be omitted only when the workgroup enforces its own.
    ``client`` lets tests inject a stubbed boto3 client; ``sleep``/``clock`` make polling testable.
    """

    name = "athena"
    dialect = "trino"

    def __init__(
        self,
        *,
        database: str = "spotify",
        workgroup: str = "primary",
        output_location: str | None = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        catalog: str = "AwsDataCatalog",
        timeout_s: float = 1800.0,
        poll_initial_s: float = 0.25,
        poll_max_s: float = 5.0,
        poll_factor: float = 2.0,
        page_size: int = 1000,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if output_location is not None and not output_location.startswith("s3://"):
            raise ValueError(f"Athena output location must be an s3:// URI, got {output_location!r}")
        self.database = database
        self.workgroup = workgroup
        self.output_location = output_location
        self.catalog = catalog
        self.timeout_s = timeout_s
        self.poll_initial_s = poll_initial_s
        self.poll_max_s = poll_max_s
        self.poll_factor = poll_factor
        self.page_size = page_size
        self._sleep = sleep
        self._clock = clock
        if client is None:
            client = aws.client("athena", region_name=region, endpoint=endpoint_url)
        self.client = client
        self._lock = threading.Lock()
        self._running: set[str] = set()

    # -- the QueryEngine interface --------------------------------------------------------------------
    def query(self, sql: str, *, params: Sequence[Any] | None = None) -> QueryResult:
        query_id = self.start(sql, params=params)
        execution = self.wait(query_id, sql=sql)
        table, update_count = self._fetch(query_id, statement_type=execution.get("StatementType"))
        stats = execution.get("Statistics") or {}
        engine_ms = stats.get("EngineExecutionTimeInMillis")
        return QueryResult(
            table=table,
            query_id=query_id,
            sql=sql,
            bytes_scanned=stats.get("DataScannedInBytes"),
            engine_ms=float(engine_ms) if engine_ms is not None else None,
            extra={
                "output_location": (execution.get("ResultConfiguration") or {}).get("OutputLocation"),
                "statement_type": execution.get("StatementType"),
                "update_count": update_count,
            },
        )

    def refresh_tables(self, partitions: Iterable[str] | None = None) -> None:
        """Nothing to do: Athena reads the Glue catalog (see :class:`~.glue.GlueCatalog`)."""

    def close(self) -> None:
        self.cancel()

    # -- the steps ----------------------------------------------------------------------------------------
    def start(self, sql: str, *, params: Sequence[Any] | None = None) -> str:
        request: dict[str, Any] = {
            "QueryString": sql,
            "QueryExecutionContext": {"Database": self.database, "Catalog": self.catalog},
            "WorkGroup": self.workgroup,
        }
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        if params:
            # Athena binds ExecutionParameters as SQL literals, in order, to the ``?`` placeholders.
            request["ExecutionParameters"] = [sql_literal(p) for p in params]
        query_id = self.client.start_query_execution(**request)["QueryExecutionId"]
        with self._lock:
            self._running.add(query_id)
        log.info("athena query %s started in workgroup %s", query_id, self.workgroup)
        return query_id

    def wait(self, query_id: str, *, sql: str = "") -> dict[str, Any]:
        """Poll until the query is terminal; return its QueryExecution, raise AthenaQueryError otherwise."""
        deadline = self._clock() + self.timeout_s
        interval = self.poll_initial_s
        try:
            while True:
                execution = self.client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
                status = execution.get("Status") or {}
                state = status.get("State")
                if state in TERMINAL_STATES:
                    break
                remaining = deadline - self._clock()
                if remaining <= 0:
                    self._stop(query_id)
                    raise AthenaQueryError(
                        f"Athena query timed out after {self.timeout_s:g}s and was stopped",
                        sql=sql,
                        query_id=query_id,
                        reason=f"last state {state}",
                        state="TIMEOUT",
                    )
                self._sleep(min(interval, remaining))
                interval = min(interval * self.poll_factor, self.poll_max_s)
        except AthenaQueryError:
            raise
        except BaseException:
            # KeyboardInterrupt, DagsterExecutionInterruptedError, network errors: don't leave it running.
            self._stop(query_id)
            raise
        with self._lock:
            self._running.discard(query_id)
        if state != "SUCCEEDED":
            reason = status.get("StateChangeReason") or (status.get("AthenaError") or {}).get("ErrorMessage")
            raise AthenaQueryError(
                f"Athena query {state}", sql=sql, query_id=query_id, reason=reason or "no reason given", state=state
            )
        return execution

    def cancel(self) -> None:
        """Stop every query this engine started that has not finished (safe from another thread)."""
        with self._lock:
            running = list(self._running)
        for query_id in running:
            self._stop(query_id)

    def _stop(self, query_id: str) -> None:
        try:
            self.client.stop_query_execution(QueryExecutionId=query_id)
            log.warning("athena query %s stopped", query_id)
        except Exception:  # best effort: the original exception matters more
            log.exception("could not stop athena query %s", query_id)
        finally:
            with self._lock:
                self._running.discard(query_id)

    def fetch_results(self, query_id: str, *, statement_type: str | None = "DML") -> pa.Table:
        """All result pages, converted to Arrow with the ResultSetMetadata column types."""
        return self._fetch(query_id, statement_type=statement_type)[0]

    def _fetch(self, query_id: str, *, statement_type: str | None) -> tuple[pa.Table, int | None]:
        update_count = None
        columns: list[dict[str, Any]] | None = None
        rows: list[list[str | None]] = []
        token: str | None = None
        first_page = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": self.page_size}
            if token:
                kwargs["NextToken"] = token
            page = self.client.get_query_results(**kwargs)
            result_set = page.get("ResultSet") or {}
            if columns is None:
                columns = (result_set.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
            page_rows = [[d.get("VarCharValue") for d in r.get("Data", [])] for r in result_set.get("Rows", [])]
            if first_page and page_rows and statement_type in (None, "DML"):
                # SELECT results repeat the column labels as the first row of the first page.
                labels = [c.get("Label") or c.get("Name") for c in columns]
                if page_rows[0] == labels:
                    page_rows = page_rows[1:]
            first_page = False
            rows.extend(page_rows)
            if page.get("UpdateCount") is not None:
                update_count = int(page["UpdateCount"])
            token = page.get("NextToken")
            if not token:
                break
        return rows_to_arrow(columns or [], rows), update_count


# -- typed results ------------------------------------------------------------------------------------------
def athena_type_to_arrow(column: dict[str, Any]) -> pa.DataType:
    t = (column.get("Type") or "varchar").lower()
    base = t.split("(")[0].strip()
    if base in ("varchar", "char", "string", "json", "uuid", "ipaddress"):
        return pa.string()
    if base == "bigint":
        return pa.int64()
    if base in ("integer", "int"):
        return pa.int32()
    if base == "smallint":
        return pa.int16()
    if base == "tinyint":
        return pa.int8()
    if base == "double":
        return pa.float64()
    if base in ("float", "real"):
        return pa.float32()
    if base == "boolean":
        return pa.bool_()
    if base == "date":
        return pa.date32()
    if base == "timestamp with time zone":
        return pa.timestamp("us", tz="UTC")
    if base == "timestamp":
        return pa.timestamp("us")
    if base == "decimal":
        precision = int(column.get("Precision") or 38)
        scale = int(column.get("Scale") or 0)
        return pa.decimal128(min(max(precision, 1), 38), scale)
    if base == "varbinary":
        return pa.binary()
    return pa.string()  # array, map, row, interval…: Athena's text rendering


def _parse_timestamp(text: str) -> dt.datetime:
    text = text.strip()
    tz = None
    if text.endswith(" UTC") or text.endswith("Z"):
        text = text[:-4] if text.endswith(" UTC") else text[:-1]
        tz = dt.UTC
    value = dt.datetime.fromisoformat(text.replace("T", " "))
    return value.replace(tzinfo=tz) if tz else value


def _converter(arrow_type: pa.DataType) -> Callable[[str], Any]:
    if pa.types.is_integer(arrow_type):
        return int
    if pa.types.is_floating(arrow_type):
        return lambda s: float({"Infinity": "inf", "-Infinity": "-inf"}.get(s, s))
    if pa.types.is_boolean(arrow_type):
        return lambda s: s.strip().lower() == "true"
    if pa.types.is_date(arrow_type):
        return lambda s: dt.date.fromisoformat(s.strip())
    if pa.types.is_timestamp(arrow_type):
        return _parse_timestamp
    if pa.types.is_decimal(arrow_type):
        return decimal.Decimal
    if pa.types.is_binary(arrow_type):
        return lambda s: bytes.fromhex(s.replace(" ", ""))
    return str


def rows_to_arrow(columns: list[dict[str, Any]], rows: list[list[str | None]]) -> pa.Table:
    """Athena's string cells → a typed Arrow table (a missing VarCharValue is NULL)."""
    fields, arrays = [], []
    for i, column in enumerate(columns):
        arrow_type = athena_type_to_arrow(column)
        convert = _converter(arrow_type)
        values = []
        for row in rows:
            cell = row[i] if i < len(row) else None
            values.append(None if cell is None else convert(cell))
        name = column.get("Name") or column.get("Label") or f"_col{i}"
        fields.append(pa.field(name, arrow_type))
        arrays.append(pa.array(values, type=arrow_type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))
