"""Athena client: moto server for submission, polling, typed results and stopping; botocore Stubber where
moto cannot simulate (FAILED state, pagination, CANCELLED by someone else); analytics through UNLOAD,
staging and publishing on S3 (moto), with DuckDB executing the SQL moto cannot."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid

import boto3
import pyarrow as pa
import pytest
from botocore.stub import Stubber

from spotify_assets.lake.parquet import read_table_file
from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets.sql import materialize_analytics, render_analytics, run_analytics
from spotify_assets.tables import ANALYTICS_TABLES
from spotify_assets.warehouse.athena import AthenaEngine, AthenaQueryError, rows_to_arrow
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.glue import GlueCatalog
from spotify_assets_tests.athena_on_duckdb import athena_runs_on_duckdb

from .conftest import write_dataset

OUTPUT = "s3://athena-results/spotify/"


@pytest.fixture
def athena(aws_env):
    return boto3.client("athena", endpoint_url=aws_env, region_name="us-east-1")


def make_engine(aws_env, sleeps=None, **kw):
    sleeps = sleeps if sleeps is not None else []
    kw.setdefault("workgroup", "primary")
    kw.setdefault("database", "spotify")
    return AthenaEngine(
        output_location=OUTPUT, region="us-east-1", endpoint_url=aws_env,
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
# moto runs no SQL: the UNLOAD statements are executed by DuckDB over the same S3 lake (athena_on_duckdb).
DAY = "2024-03-02"


@pytest.fixture
def s3_lake(aws_env, s3_bucket, dataset):
    lake = Lake(f"s3://{s3_bucket}/lake")
    write_dataset(lake, dataset)
    return lake


def _athena_and_glue(aws_env, lake, glue_db):
    engine = make_engine(aws_env, database=glue_db)
    catalog = GlueCatalog(database=glue_db, lake_uri=lake.uri(), endpoint_url=aws_env, region="us-east-1")
    catalog.ensure_database()
    return engine, catalog


def test_analytics_on_athena_are_unloaded_staged_and_published(aws_env, s3_lake, glue_db, tmp_path):
    engine, catalog = _athena_and_glue(aws_env, s3_lake, glue_db)
    stray = f"analytics/genre_share/dt={DAY}/20240302_old_athena_file"
    s3_lake.write_bytes(stray, b"left by the INSERT INTO of an earlier version")
    with athena_runs_on_duckdb(s3_lake.uri()) as statements:
        info = materialize_analytics(engine, "genre_share", DAY, lake=s3_lake, catalog=catalog, run_id="run-1")
    assert statements[0].startswith("UNLOAD (SELECT * FROM (\n" + render_analytics("genre_share", DAY))
    assert f"TO 's3://{s3_lake.base}/_staging/dt={DAY}/run-1/unload/genre_share/'" in statements[0]
    published = published_file(s3_lake, "analytics", "genre_share", DAY)
    assert info.location == s3_lake.uri(published) and info.publish_action == "created"
    assert [f.path for f in s3_lake.list_files(f"analytics/genre_share/dt={DAY}", include_hidden=True)] == [
        f"analytics/genre_share/dt={DAY}/_published.json", published,  # the stray file of an earlier layout is gone
    ]
    assert s3_lake.list_files("_staging", include_hidden=True) == []
    # the same rows as the local engine computes, cast to the declared schema
    duck = DuckDBEngine(s3_lake, str(tmp_path / "duck.duckdb"))
    duck.refresh_tables()
    expected = run_analytics(duck, "genre_share", DAY).table.drop_columns(["dt"]).sort_by("genre")
    got = read_table_file(s3_lake, published)
    assert got.schema.equals(ANALYTICS_TABLES["genre_share"].schema) and got.to_pylist() == expected.to_pylist()
    table = catalog.get_table("genre_share")
    assert table["StorageDescriptor"]["Location"] == f"s3://{s3_lake.base}/analytics/genre_share/"
    assert [c["Name"] for c in table["StorageDescriptor"]["Columns"]] == ANALYTICS_TABLES["genre_share"].schema.names
    location = catalog.get_partition("genre_share", DAY)["StorageDescriptor"]["Location"]
    assert location == s3_lake.uri(published.rsplit("/", 1)[0]) + "/"  # the published version's folder


def test_failed_athena_query_leaves_every_published_day_intact(aws_env, s3_lake, glue_db):
    engine, catalog = _athena_and_glue(aws_env, s3_lake, glue_db)
    with athena_runs_on_duckdb(s3_lake.uri()):
        for day in ("2024-03-01", DAY):
            materialize_analytics(engine, "daily_top_tracks", day, lake=s3_lake, catalog=catalog)
    before = {f.path: s3_lake.read_bytes(f.path) for f in s3_lake.list_files("analytics", include_hidden=True)}
    catalog.delete_table("daily_top_tracks")  # e.g. a renamed SPOTIFY_GLUE_DATABASE: Glue lacks the table
    with athena_runs_on_duckdb(s3_lake.uri(), fail_when=lambda sql: sql.startswith("UNLOAD")), \
            pytest.raises(Exception, match="StartQueryExecution"):
        materialize_analytics(engine, "daily_top_tracks", DAY, lake=s3_lake, catalog=catalog, top_n=3)
    assert {f.path: s3_lake.read_bytes(f.path) for f in s3_lake.list_files("analytics", include_hidden=True)} == before
    with athena_runs_on_duckdb(s3_lake.uri()):  # the rerun recreates the table and replaces only its day
        info = materialize_analytics(engine, "daily_top_tracks", DAY, lake=s3_lake, catalog=catalog, top_n=3)
    assert info.row_count == 3 and info.publish_action == "replaced"
    after = {f.path: s3_lake.read_bytes(f.path) for f in s3_lake.list_files("analytics", include_hidden=True)}
    changed = sorted(p for p in after if after[p] != before.get(p))
    new_version = published_file(s3_lake, "analytics", "daily_top_tracks", DAY)
    assert changed == [f"analytics/daily_top_tracks/dt={DAY}/_published.json", new_version]
    # the replaced version stays (for readers in flight), every other day is untouched
    assert all(after[p] == data for p, data in before.items() if not p.endswith("_published.json"))
    assert catalog.list_partitions("daily_top_tracks") == [DAY]


@pytest.mark.parametrize("name", ["listening_by_hour", "top_artists_by_plays", "discoveries"])
def test_listening_analytics_on_athena_match_duckdb(aws_env, s3_lake, glue_db, tmp_path, name):
    """The listening queries go through UNLOAD like the others and publish what DuckDB computes, typed as
    declared (discoveries' first_played_at is a timestamp: Athena's Parquet and DuckDB's must both cast)."""
    engine, catalog = _athena_and_glue(aws_env, s3_lake, glue_db)
    day = "2024-03-03"
    with athena_runs_on_duckdb(s3_lake.uri()) as statements:
        info = materialize_analytics(engine, name, day, lake=s3_lake, catalog=catalog, run_id="run-1")
    assert statements[0].startswith("UNLOAD (SELECT * FROM (\n" + render_analytics(name, day))
    duck = DuckDBEngine(s3_lake, str(tmp_path / "duck.duckdb"))
    duck.refresh_tables()
    spec = ANALYTICS_TABLES[name]
    expected = run_analytics(duck, name, day).table.drop_columns(["dt"]).sort_by([(k, "ascending") for k in spec.key])
    got = read_table_file(s3_lake, published_file(s3_lake, "analytics", name, day))
    assert info.row_count == got.num_rows == expected.num_rows > 0
    assert got.schema.equals(spec.schema) and got.to_pylist() == expected.cast(spec.schema).to_pylist()
    assert catalog.list_partitions(name) == [day]
