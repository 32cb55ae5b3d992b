"""The warehouse's settings check: SPOTIFY_GLUE_DATABASE is a valid Glue database name, checked on AWS only."""

from __future__ import annotations

import pytest

from spotify_assets.lake.resource import LakeResource
from spotify_assets.settings import ConfigurationError
from spotify_assets.warehouse.glue import GlueCatalog
from spotify_assets.warehouse.preflight import check_glue_database
from spotify_assets.warehouse.resources import build_warehouse_resource


@pytest.mark.parametrize("bad", ["", "My_DB", "spotify-prod", "db'; drop", 'x"', "a" * 256, "spotify\n"])
def test_glue_database_names_are_checked(bad, monkeypatch, aws_env):
    with pytest.raises(ConfigurationError, match=r"^SPOTIFY_GLUE_DATABASE: .* is not a valid Glue database name"):
        check_glue_database(bad)
    if bad:  # (an empty variable means "not set": the default name)
        monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", bad)
        with pytest.raises(ConfigurationError, match="SPOTIFY_GLUE_DATABASE"):
            build_warehouse_resource("aws", LakeResource(root_uri="s3://bucket/lake"))
    with pytest.raises(ValueError, match="not a valid Glue database name"):
        GlueCatalog(database=bad, lake_uri="s3://bucket/lake", client=object())


def test_glue_database_name_only_matters_on_aws(monkeypatch):
    monkeypatch.setenv("SPOTIFY_GLUE_DATABASE", "Not-Used-Locally")
    assert build_warehouse_resource("local", LakeResource(root_uri="/tmp/lake")).env == "local"
    assert check_glue_database("spotify_prod_2") == "spotify_prod_2"
