"""Athena client: moto server for submission, polling, typed results and stopping; botocore Stubber where
moto cannot simulate (FAILED state, pagination, CANCELLED by someone else)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import boto3
import pyarrow as pa
import pytest
from botocore.stub import Stubber

from spotify_assets.lake.storage import Lake
from spotify_assets.sql import materialize_analytics, render_analytics
from spotify_assets.warehouse.athena import AthenaEngine, AthenaQueryError, rows_to_arrow
from spotify_assets.warehouse.engine import QueryResult

OUTPUT = "s3://athena-results/spotify/"


@pytest.fixture
def athena(aws_env):
    return boto3.client("athena", endpoint_url=aws_env, region_name="us-east-1")


def make_engine(aws_env, sleeps=None, **kw):
    sleeps = sleeps if sleeps is not None else []
    kw.setdefault("workgroup", "primary")
    return AthenaEngine(
        database="spotify", output_location=OUTPUT, region="us-east-1", endpoint_url=aws_env,
        poll_initial_s=0.01, poll_max_s=0.04, sleep=sleeps.append, **kw,
    )


def canned(moto_api, columns, rows):
    """Queue one canned result (Athena-style: a header row first) for the next query."""
    header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
    data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    info = [{"Name": n, "Label": n, "Type": t, "Precision": 10 if t == "decimal" else 0, "Scale": 2 if t == "decimal" else 0,
             "Nullable": "NULLABLE"} for n, t in columns]
    moto_api("/moto-api/static/athena/query-results",
             {"region": "us-east-1", "results": [{"rows": [header, *data], "column_info": info}]})


def test_submission_carries_output_workgroup_database(aws_env, athena, moto_api):
    wg = f"wg-{uuid.uuid4().hex[:6]}"
    athena.create_work_group(Name=wg, Configuration={"ResultConfiguration": {"OutputLocation": OUTPUT}})
    engine = make_engine(aws_env, workgroup=wg)
    result = engine.query("SELECT 1")
    execution = athena.get_query_execution(QueryExecutionId=result.query_id)["QueryExecution"]
    assert execution["ResultConfiguration"]["OutputLocation"].startswith(OUTPUT)
    assert execution["QueryExecutionContext"]["Database"] == "spotify"
    assert execution["WorkGroup"] == wg
    assert execution["Query"] == "SELECT 1"
    assert result.bytes_scanned == 0 and result.engine_ms == 0.0


def test_polls_with_capped_backoff_until_succeeded(aws_env, moto_api):
    moto_api("/moto-api/state-manager/set-transition",
             {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 3}})
    sleeps: list[float] = []
    result = make_engine(aws_env, sleeps).query("SELECT 1")
    assert len(sleeps) >= 4  # QUEUED and RUNNING for several polls each
    assert sleeps[:3] == [0.01, 0.02, 0.04] and max(sleeps) == 0.04  # exponential, capped
    assert result.table.num_rows == 0


def test_typed_results(aws_env, moto_api):
    columns = [("track_id", "varchar"), ("n", "bigint"), ("i", "integer"), ("share", "double"), ("ok", "boolean"),
               ("day", "date"), ("at", "timestamp"), ("price", "decimal")]
    canned(moto_api, columns, [
        ["t1", "42", "7", "0.25", "true", "2024-03-01", "2024-03-01 06:00:01.123", "12.50"],
        ["t2", None, None, None, "false", None, None, None],
    ])
    table = make_engine(aws_env).query("SELECT …").table
    assert table.schema.types == [pa.string(), pa.int64(), pa.int32(), pa.float64(), pa.bool_(), pa.date32(),
                                  pa.timestamp("us"), pa.decimal128(10, 2)]
    assert table.to_pylist() == [
        {"track_id": "t1", "n": 42, "i": 7, "share": 0.25, "ok": True, "day": dt.date(2024, 3, 1),
         "at": dt.datetime(2024, 3, 1, 6, 0, 1, 123000), "price": decimal.Decimal("12.50")},
        {"track_id": "t2", "n": None, "i": None, "share": None, "ok": False, "day": None, "at": None, "price": None},
    ]


def test_timeout_stops_the_query(aws_env, athena, moto_api):
    moto_api("/moto-api/state-manager/set-transition",
             {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 10_000}})
    clock = iter(range(0, 1000, 1))
    engine = make_engine(aws_env, timeout_s=5, clock=lambda: float(next(clock)))
    with pytest.raises(AthenaQueryError) as err:
        engine.query("SELECT slow")
    assert err.value.state == "TIMEOUT" and err.value.sql == "SELECT slow"
    status = athena.get_query_execution(QueryExecutionId=err.value.query_id)["QueryExecution"]["Status"]
    assert status["State"] == "CANCELLED"


@pytest.mark.parametrize("interrupt", ["keyboard", "dagster"])
def test_interrupt_during_polling_stops_the_query_and_reraises(aws_env, athena, moto_api, interrupt):
    from dagster._core.errors import DagsterExecutionInterruptedError

    moto_api("/moto-api/state-manager/set-transition",
             {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 10_000}})
    exc_type = KeyboardInterrupt if interrupt == "keyboard" else DagsterExecutionInterruptedError

    def sleep(_):
        raise exc_type()

    engine = make_engine(aws_env)
    engine._sleep = sleep
    query_id = engine.start("SELECT long")
    with pytest.raises(exc_type):
        engine.wait(query_id, sql="SELECT long")
    assert athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] == "CANCELLED"
    assert not engine._running


def test_cancel_stops_running_queries(aws_env, athena, moto_api):
    moto_api("/moto-api/state-manager/set-transition",
             {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 10_000}})
    engine = make_engine(aws_env)
    query_id = engine.start("SELECT long")
    engine.cancel()
    assert athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] == "CANCELLED"
    with pytest.raises(AthenaQueryError) as err:
        engine.wait(query_id, sql="SELECT long")
    assert err.value.state == "CANCELLED"


# -- Stubber: states and paging moto cannot produce -------------------------------------------------------------
def stubbed_engine():
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    return AthenaEngine(database="spotify", workgroup="wg", output_location=OUTPUT, client=client,
                        poll_initial_s=0, sleep=lambda s: None), Stubber(client)


def execution(state, reason=None, stats=None):
    status = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": "q-1", "StatementType": "DML", "Status": status,
                               "Statistics": stats or {}}}


def test_failed_query_raises_with_reason_sql_and_id():
    engine, stub = stubbed_engine()
    sql = "SELECT nope FROM tracks"
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, {
        "QueryString": sql, "QueryExecutionContext": {"Database": "spotify", "Catalog": "AwsDataCatalog"},
        "WorkGroup": "wg", "ResultConfiguration": {"OutputLocation": OUTPUT}})
    stub.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", execution("FAILED", "COLUMN_NOT_FOUND: line 1:8: Column 'nope' cannot be resolved"))
    with stub, pytest.raises(AthenaQueryError) as err:
        engine.query(sql)
    assert err.value.state == "FAILED" and err.value.query_id == "q-1" and err.value.sql == sql
    assert "COLUMN_NOT_FOUND" in str(err.value) and sql in str(err.value) and "q-1" in str(err.value)


def test_pagination_statistics_and_header_row():
    engine, stub = stubbed_engine()
    meta = {"ColumnInfo": [{"Name": "n", "Label": "n", "Type": "bigint"}]}
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", execution(
        "SUCCEEDED", stats={"DataScannedInBytes": 12345, "EngineExecutionTimeInMillis": 678}))
    stub.add_response("get_query_results", {"ResultSet": {"ResultSetMetadata": meta, "Rows": [
        {"Data": [{"VarCharValue": "n"}]}, {"Data": [{"VarCharValue": "1"}]}]}, "NextToken": "tok"})
    stub.add_response("get_query_results", {"ResultSet": {"ResultSetMetadata": meta, "Rows": [
        {"Data": [{"VarCharValue": "2"}]}, {"Data": [{}]}]}},
        {"QueryExecutionId": "q-1", "MaxResults": 1000, "NextToken": "tok"})
    with stub:
        result = engine.query("SELECT n")
    assert result.table.column("n").to_pylist() == [1, 2, None]
    assert result.bytes_scanned == 12345 and result.engine_ms == 678.0


def test_params_become_execution_parameters():
    engine, stub = stubbed_engine()
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"}, {
        "QueryString": "SELECT ? , ?", "QueryExecutionContext": {"Database": "spotify", "Catalog": "AwsDataCatalog"},
        "WorkGroup": "wg", "ResultConfiguration": {"OutputLocation": OUTPUT}, "ExecutionParameters": ["'it''s'", "3"]})
    with stub:
        assert engine.start("SELECT ? , ?", params=["it's", 3]) == "q-1"


def test_rows_to_arrow_timestamp_with_zone():
    table = rows_to_arrow([{"Name": "at", "Type": "timestamp with time zone"}], [["2024-03-01 06:00:00.000 UTC"]])
    assert table.column("at")[0].as_py() == dt.datetime(2024, 3, 1, 6, tzinfo=dt.UTC)


def test_output_location_must_be_s3():
    with pytest.raises(ValueError):
        AthenaEngine(output_location="/tmp/out", client=object())


# -- analytics materialization on the Athena path -------------------------------------------------------------------
class FakeAthena:
    """Records statements; its client says the analytics table does not exist yet."""

    name, dialect, database, catalog = "athena", "trino", "spotify", "AwsDataCatalog"

    class client:  # noqa: N801 - mimics a boto3 client
        class exceptions:  # noqa: N801
            class MetadataException(Exception):
                pass

        @classmethod
        def get_table_metadata(cls, **kw):
            raise cls.exceptions.MetadataException()

    def __init__(self):
        self.statements: list[str] = []

    def query(self, sql, *, params=None):
        self.statements.append(sql)
        return QueryResult(table=pa.table({}), query_id=f"q{len(self.statements)}", sql=sql, bytes_scanned=99,
                           extra={"update_count": 7})


def test_materialize_on_athena_deletes_partition_then_inserts(aws_env, s3_bucket):
    lake = Lake(f"s3://{s3_bucket}/lake")
    lake.write_bytes("analytics/genre_share/dt=2024-03-02/stale.parquet", b"old")
    engine = FakeAthena()
    info = materialize_analytics(engine, "genre_share", "2024-03-02", lake=lake)
    ctas, drop, insert = engine.statements
    source = render_analytics("genre_share", "2024-03-02")
    assert ctas.startswith('CREATE TABLE "spotify"."genre_share"') and ctas.endswith("WITH NO DATA")
    assert f"external_location = 's3://{s3_bucket}/lake/analytics/genre_share/'" in ctas
    assert "partitioned_by = ARRAY['dt']" in ctas and "format = 'PARQUET'" in ctas and source in ctas
    assert drop == """ALTER TABLE "spotify"."genre_share" DROP IF EXISTS PARTITION (dt = '2024-03-02')"""
    assert insert == f'INSERT INTO "spotify"."genre_share"\n{source}'
    assert not lake.list_files("analytics/genre_share")
    assert info.row_count == 7 and info.bytes_scanned == 99 and info.query_ids == ["q1", "q2", "q3"]
