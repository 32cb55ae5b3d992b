"""The AWS path on a moto server: an export uploaded to S3 (outside the lake), imported with
SPOTIFY_ASSETS_ENV=aws into an S3 lake — raw zone without personal data, tables published month by month,
Glue partitions of the historical months pointing at their published versions — and imported again (the
extracted folder this time) without a single change."""

from __future__ import annotations

import gzip
import uuid

import boto3
import dagster as dg
import pytest

from spotify_assets.commands.import_history import run_import
from spotify_assets.lake.publication.manifests import current_version
from spotify_assets.lake.storage import Lake
from spotify_assets.warehouse.duckdb_engine import DuckDBEngine
from spotify_assets.warehouse.glue import GlueCatalog

from .exports import PERSONAL_VALUES, standard_files, write_zip


@pytest.fixture
def aws_import(aws_env, s3_bucket, monkeypatch, tmp_path):
    database = f"spotify_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("SPOTIFY_ASSETS_ENV", "aws")
    monkeypatch.setenv("SPOTIFY_LAKE_URI", f"s3://{s3_bucket}/lake")
    monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", database)
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")
    uploads = f"{s3_bucket}-uploads"[:63]
    s3.create_bucket(Bucket=uploads)
    zipped = write_zip(tmp_path / "my_spotify_data.zip", standard_files())
    s3.upload_file(zipped, uploads, "exports/my_spotify_data.zip")
    for name, data in standard_files().items():
        s3.put_object(Bucket=uploads, Key=f"exports/extracted/{name}", Body=data)
    return {"bucket": s3_bucket, "uploads": uploads, "database": database, "s3": s3, "endpoint": aws_env}


def test_import_from_s3_into_an_s3_lake_with_glue_partitions_of_historical_months(aws_import, tmp_path):
    instance = dg.DagsterInstance.ephemeral()
    result = run_import(f"s3://{aws_import['uploads']}/exports/my_spotify_data.zip", instance=instance)
    assert result.success, [e.event_specific_data.error for e in result.all_events
                            if e.event_type_value == "STEP_FAILURE"]
    lake = Lake(f"s3://{aws_import['bucket']}/lake")
    raw = [f.path for f in lake.list_files("raw/streaming_history")]
    assert len(raw) == 3 and raw[-1].endswith("/export.json")
    landed = b"".join(gzip.decompress(lake.read_bytes(p)) if p.endswith(".gz") else lake.read_bytes(p) for p in raw)
    assert b"Song One" in landed
    for value in PERSONAL_VALUES:
        assert value.encode() not in landed

    glue = GlueCatalog(database=aws_import["database"], lake_uri=lake.uri(), endpoint_url=aws_import["endpoint"],
                       region="us-east-1")
    for table in ("streams", "listens"):
        definition = glue.get_table(table)
        assert definition["PartitionKeys"] == [
            {"Name": "month", "Type": "string", "Comment": "Month of the rows (partition), YYYY-MM, UTC."}]
        assert "dt" in [c["Name"] for c in definition["StorageDescriptor"]["Columns"]]
        assert glue.list_partitions(table) == ["2014-07", "2014-08", "2020-05"]
        for month in ("2014-07", "2020-05"):
            location = glue.get_partition(table, month)["StorageDescriptor"]["Location"]
            version = current_version(lake, "transformed", table, month)
            assert location == lake.uri(version.folder) + "/"
    duck = DuckDBEngine(lake, str(tmp_path / "duck.duckdb"))
    duck.refresh_tables()
    assert duck.query("SELECT count(*) FROM streams WHERE dt = '2014-07-27'").scalar() == 3

    again = run_import(f"s3://{aws_import['uploads']}/exports/extracted/", instance=instance)
    assert again.success
    catalog = {m.asset_key.to_user_string(): m.metadata["partitions"].value
               for m in again.asset_materializations_for_node("history_catalog")}
    assert catalog == {t: {"created": 0, "updated": 0, "unchanged": 3, "not published": 0}
                       for t in ("catalog_listens", "catalog_streams")}
    assert [f.path for f in lake.list_files("raw/streaming_history")] == raw
