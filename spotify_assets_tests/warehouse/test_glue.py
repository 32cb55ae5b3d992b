"""Glue catalog against a moto server: database, tables, columns, comments, partitions, evolution."""

from __future__ import annotations

import boto3
import pyarrow as pa
import pytest

from spotify_assets.transform.schemas import TABLES, TableSpec
from spotify_assets.warehouse.glue import PARQUET_SERDE, GlueCatalog, SchemaChangeError, arrow_to_glue_type


@pytest.fixture
def glue(aws_env):
    return boto3.client("glue", endpoint_url=aws_env, region_name="us-east-1")


@pytest.fixture
def catalog(glue_db, s3_bucket):
    cat = GlueCatalog(database=glue_db, lake_uri=f"s3://{s3_bucket}/lake")
    cat.ensure_database()
    return cat


def test_types():
    assert arrow_to_glue_type(pa.string()) == "string"
    assert arrow_to_glue_type(pa.int64()) == "bigint"
    assert arrow_to_glue_type(pa.timestamp("us", tz="UTC")) == "timestamp"
    assert arrow_to_glue_type(pa.date32()) == "date"
    assert arrow_to_glue_type(pa.decimal128(10, 2)) == "decimal(10,2)"
    assert arrow_to_glue_type(pa.list_(pa.string())) == "array<string>"


def test_tables_columns_comments_and_storage(catalog, glue, glue_db, s3_bucket):
    for spec in TABLES.values():
        assert catalog.ensure_table(spec) == "created"
    names = {t["Name"] for t in glue.get_tables(DatabaseName=glue_db)["TableList"]}
    assert names == set(TABLES)
    table = glue.get_table(DatabaseName=glue_db, Name="tracks")["Table"]
    sd = table["StorageDescriptor"]
    assert sd["Location"] == f"s3://{s3_bucket}/lake/transformed/tracks/"
    assert sd["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
    assert sd["InputFormat"].endswith("MapredParquetInputFormat")
    assert sd["OutputFormat"].endswith("MapredParquetOutputFormat")
    assert table["PartitionKeys"][0]["Name"] == "dt" and table["PartitionKeys"][0]["Type"] == "string"
    assert table["Parameters"]["classification"] == "parquet" and table["Parameters"]["EXTERNAL"] == "TRUE"
    cols = {c["Name"]: c for c in sd["Columns"]}
    assert [c["Name"] for c in sd["Columns"]] == [f.name for f in TABLES["tracks"].schema]
    assert cols["duration_ms"]["Type"] == "bigint" and cols["explicit"]["Type"] == "boolean"
    assert cols["popularity"]["Comment"] == TABLES["tracks"].column_descriptions()["popularity"]
    items = glue.get_table(DatabaseName=glue_db, Name="playlist_items")["Table"]["StorageDescriptor"]["Columns"]
    assert {c["Name"]: c["Type"] for c in items}["added_at"] == "timestamp"
    albums = glue.get_table(DatabaseName=glue_db, Name="albums")["Table"]["StorageDescriptor"]["Columns"]
    assert {c["Name"]: c["Type"] for c in albums}["release_date"] == "date"


def test_rerun_is_idempotent(catalog, glue, glue_db):
    spec = TABLES["artists"]
    catalog.ensure_database()
    assert catalog.ensure_table(spec) == "created"
    assert catalog.ensure_table(spec) == "unchanged"
    assert catalog.register_partition(spec, "2024-03-01") == "created"
    assert catalog.register_partition(spec, "2024-03-01") == "updated"
    assert catalog.register_partitions(spec, ["2024-03-01", "2024-03-02"]) == {"2024-03-01": "updated", "2024-03-02": "created"}
    assert catalog.list_partitions("artists") == ["2024-03-01", "2024-03-02"]
    part = catalog.get_partition("artists", "2024-03-02")
    assert part["StorageDescriptor"]["Location"].endswith("/transformed/artists/dt=2024-03-02/")
    assert len(glue.get_tables(DatabaseName=glue_db)["TableList"]) == 1


def test_schema_evolution_adds_nullable_column_and_keeps_partitions(catalog, glue, glue_db):
    spec = TABLES["artists"]
    catalog.ensure_table(spec)
    catalog.register_partition(spec, "2024-03-01")
    evolved = TableSpec(
        spec.name,
        spec.key,
        spec.schema.append(pa.field("country", pa.string(), metadata={"description": "Country code."})),
        spec.description,
    )
    assert catalog.ensure_table(evolved) == "updated"
    catalog.register_partition(evolved, "2024-03-02")
    cols = glue.get_table(DatabaseName=glue_db, Name="artists")["Table"]["StorageDescriptor"]["Columns"]
    assert cols[-1] == {"Name": "country", "Type": "string", "Comment": "Country code."}
    assert catalog.list_partitions("artists") == ["2024-03-01", "2024-03-02"]
    old = catalog.get_partition("artists", "2024-03-01")["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in old] == [f.name for f in spec.schema]  # old partition untouched
    retyped = TableSpec(spec.name, spec.key, spec.schema.set(2, pa.field("followers", pa.string())), spec.description)
    with pytest.raises(SchemaChangeError, match="followers"):
        catalog.ensure_table(retyped)


def test_partition_projection_option(glue_db, s3_bucket, glue):
    cat = GlueCatalog(database=glue_db, lake_uri=f"s3://{s3_bucket}/lake", partition_projection=True)
    cat.ensure_database()
    cat.ensure_table(TABLES["tracks"])
    params = glue.get_table(DatabaseName=glue_db, Name="tracks")["Table"]["Parameters"]
    assert params["projection.enabled"] == "true" and params["projection.dt.type"] == "date"
    assert params["projection.dt.format"] == "yyyy-MM-dd" and params["projection.dt.range"].endswith(",NOW")
    assert params["storage.location.template"] == f"s3://{s3_bucket}/lake/transformed/tracks/dt=${{dt}}/"
    assert cat.register_partition(TABLES["tracks"], "2024-03-01") == "projected"
    assert cat.list_partitions("tracks") == []


def test_needs_s3_lake():
    with pytest.raises(ValueError):
        GlueCatalog(database="x", lake_uri="/tmp/lake", client=object())
