"""Glue catalog against a moto server: database, tables, columns, comments, partitions pointing at the
published versions, evolution."""

from __future__ import annotations

import dataclasses

import boto3
import pyarrow as pa
import pytest

from spotify_assets.lake.publication.manifests import current_version
from spotify_assets.tables import TABLES, Column
from spotify_assets.warehouse.glue import PARQUET_SERDE, GlueCatalog, SchemaChangeError, arrow_to_glue_type

from .conftest import write_partition


def _publish(catalog: GlueCatalog, table: str, day: str, rows: list[dict]) -> str:
    """Publish a version of ``table`` on ``day``; returns the folder Glue must point at."""
    write_partition(catalog.lake, table, day, rows)
    return catalog.lake.uri(current_version(catalog.lake, "transformed", table, day).folder) + "/"


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


def test_partitions_follow_the_published_version_and_rerun_is_idempotent(catalog, glue, glue_db):
    spec = TABLES["artists"]
    catalog.ensure_database()
    assert catalog.ensure_table(spec) == "created"
    assert catalog.ensure_table(spec) == "unchanged"
    first = _publish(catalog, "artists", "2024-03-01", [{"artist_id": "a1", "name": "One"}])
    assert catalog.register_partition(spec, "2024-03-01") == "created"
    assert catalog.register_partition(spec, "2024-03-01") == "updated"
    assert catalog.register_partition(spec, "2024-03-05") == "not published"  # nothing to point at
    second_day = _publish(catalog, "artists", "2024-03-02", [{"artist_id": "a2", "name": "Two"}])
    assert catalog.register_partitions(spec, ["2024-03-01", "2024-03-02"]) == {"2024-03-01": "updated", "2024-03-02": "created"}
    assert catalog.list_partitions("artists") == ["2024-03-01", "2024-03-02"]
    assert catalog.get_partition("artists", "2024-03-02")["StorageDescriptor"]["Location"] == second_day
    assert "/transformed/artists/dt=2024-03-02/v-" in second_day
    # a new version of a day: one UpdatePartition switches Athena to it
    newer = _publish(catalog, "artists", "2024-03-01", [{"artist_id": "a1", "name": "One, renamed"}])
    assert newer != first and catalog.get_partition("artists", "2024-03-01")["StorageDescriptor"]["Location"] == first
    assert catalog.register_partition(spec, "2024-03-01") == "updated"
    assert catalog.get_partition("artists", "2024-03-01")["StorageDescriptor"]["Location"] == newer
    assert len(glue.get_tables(DatabaseName=glue_db)["TableList"]) == 1


def test_schema_evolution_adds_nullable_column_and_keeps_partitions(catalog, glue, glue_db):
    spec = TABLES["artists"]
    catalog.ensure_table(spec)
    _publish(catalog, "artists", "2024-03-01", [{"artist_id": "a1"}])
    catalog.register_partition(spec, "2024-03-01")
    evolved = spec.with_columns(Column("country", pa.string(), "Country code."))
    assert catalog.ensure_table(evolved) == "updated"
    write_partition(catalog.lake, "artists", "2024-03-02", [{"artist_id": "a1", "country": "SE"}], evolved.schema)
    catalog.register_partition(evolved, "2024-03-02")
    cols = glue.get_table(DatabaseName=glue_db, Name="artists")["Table"]["StorageDescriptor"]["Columns"]
    assert cols[-1] == {"Name": "country", "Type": "string", "Comment": "Country code."}
    assert catalog.list_partitions("artists") == ["2024-03-01", "2024-03-02"]
    old = catalog.get_partition("artists", "2024-03-01")["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in old] == [f.name for f in spec.schema]  # old partition untouched
    columns = list(spec.columns)
    columns[2] = dataclasses.replace(columns[2], type=pa.string())
    retyped = dataclasses.replace(spec, columns=tuple(columns))
    with pytest.raises(SchemaChangeError, match="followers"):
        catalog.ensure_table(retyped)


def test_a_table_made_with_partition_projection_is_switched_to_partitions(catalog, glue, glue_db, s3_bucket):
    """Earlier versions could create tables with partition projection: Athena would then ignore the registered
    partitions (and so the published versions); ensure_table removes it."""
    wanted = catalog.table_input(TABLES["tracks"])
    wanted["Parameters"].update({"projection.enabled": "true", "projection.dt.type": "date"})
    glue.create_table(DatabaseName=glue_db, TableInput=wanted)
    assert catalog.ensure_table(TABLES["tracks"]) == "updated"
    params = glue.get_table(DatabaseName=glue_db, Name="tracks")["Table"]["Parameters"]
    assert not any(k.startswith("projection.") for k in params)


def test_needs_s3_lake():
    with pytest.raises(ValueError):
        GlueCatalog(database="x", lake_uri="/tmp/lake", client=object())
