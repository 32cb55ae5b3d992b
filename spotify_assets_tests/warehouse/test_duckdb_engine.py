"""DuckDB engine: views over the lake, dt as string, empty tables, schema evolution, S3 via httpfs."""

from __future__ import annotations

import importlib.util
import pathlib

import duckdb
import pyarrow as pa
import pytest

from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets.sql import materialize_analytics, run_analytics
from spotify_assets.tables import TABLES, Column
from spotify_assets.warehouse.catalog import DuckDBCatalog
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.engine import QueryError

_spec = importlib.util.spec_from_file_location("wh_conftest", pathlib.Path(__file__).with_name("conftest.py"))
wh = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wh)


def test_views_expose_every_table_with_dt_string(duck, dataset):
    for name, spec in TABLES.items():
        table = duck.query(f"SELECT * FROM {name}").table
        assert table.column_names == [f.name for f in spec.schema] + ["dt"]
        assert table.schema.field("dt").type == pa.string()
        expected = sum(len(rows) for rows in dataset[name].values())
        assert table.num_rows == expected, name
    tracks = duck.query("SELECT * FROM tracks").table
    assert tracks.schema.field("popularity").type == pa.int64()
    items = duck.query("SELECT added_at FROM playlist_items").table
    assert pa.types.is_timestamp(items.schema.field("added_at").type)


def test_empty_table_is_typed(duck):
    result = duck.query("SELECT * FROM albums")
    assert result.num_rows == 0
    assert result.table.schema.field("release_date").type == pa.date32()
    assert result.table.schema.field("total_tracks").type == pa.int64()
    assert duck.query("SELECT count(*) FROM albums a JOIN album_artists b USING (album_id)").scalar() == 0


def test_new_partition_of_empty_table_visible_after_refresh(duck, local_lake):
    wh.write_partition(local_lake, "albums", "2024-03-01", [{"album_id": "al0", "name": "A", "total_tracks": 3}])
    duck.refresh_tables(["2024-03-01"])
    assert duck.query("SELECT album_id, dt FROM albums").to_pylist() == [{"album_id": "al0", "dt": "2024-03-01"}]


def test_params_and_errors(duck):
    got = duck.query("SELECT count(*) FROM tracks WHERE dt = ? AND popularity > ?", params=["2024-03-01", 50])
    assert got.scalar() == 4 and got.engine_ms is not None and got.query_id.startswith("duckdb-")
    with pytest.raises(QueryError) as err:
        duck.query("SELECT no_such_column FROM tracks")
    assert "no_such_column" in str(err.value) and err.value.query_id


def test_no_connection_is_held(duck):
    duck.query("SELECT 1")
    con = duckdb.connect(duck.db_path)  # would fail with a lock error if the engine kept the file open
    con.close()


def test_schema_evolution_new_nullable_column(tmp_path, local_lake, dataset):
    spec = TABLES["artists"]
    evolved = spec.with_columns(Column("country", pa.string(), "x"))
    wh.write_partition(local_lake, "artists", "2024-03-04", [{"artist_id": "a9", "country": "SE"}], schema=evolved.schema)
    engine = DuckDBEngine(local_lake, str(tmp_path / "evolved.duckdb"), tables={**TABLES, "artists": evolved})
    catalog = DuckDBCatalog(engine)
    catalog.ensure_table(evolved)
    rows = engine.query("SELECT artist_id, country, dt FROM artists ORDER BY dt, artist_id").to_pylist()
    assert rows[0]["country"] is None and rows[-1] == {"artist_id": "a9", "country": "SE", "dt": "2024-03-04"}
    assert catalog.list_partitions("artists") == ["2024-03-01", "2024-03-02", "2024-03-03", "2024-03-04"]


def test_duckdb_over_s3(aws_env, s3_bucket, tmp_path, dataset):
    lake = Lake(f"s3://{s3_bucket}/lake")
    wh.write_dataset(lake, dataset, tables={"tracks", "playlist_items", "playlists"})
    engine = DuckDBEngine(lake, str(tmp_path / "s3.duckdb"))
    engine.refresh_tables()
    assert engine.query("SELECT count(*) FROM tracks WHERE dt = '2024-03-02'").scalar() == 10
    churn = run_analytics(engine, "playlist_churn", "2024-03-02").to_pylist()
    assert {r["playlist_id"]: r["items_added"] for r in churn} == {"p0": 2, "p1": 0, "p2": None}
    info = materialize_analytics(engine, "playlist_churn", "2024-03-02", lake=lake)
    assert info.location == lake.uri(published_file(lake, "analytics", "playlist_churn", "2024-03-02"))
    assert info.location.startswith(f"s3://{s3_bucket}/lake/analytics/playlist_churn/dt=2024-03-02/v-")
    assert engine.query("SELECT count(*) FROM playlist_churn").scalar() == 3
