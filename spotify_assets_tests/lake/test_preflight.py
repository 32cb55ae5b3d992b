"""The lake's settings check: a bad SPOTIFY_LAKE_URI fails at once, naming the setting; an unreachable S3
endpoint is a retryable error, not a configuration error."""

from __future__ import annotations

import pytest

from spotify_assets.lake.preflight import LakeUnreachableError, check_lake
from spotify_assets.lake.storage import Lake
from spotify_assets.settings import ConfigurationError


def test_a_lake_uri_that_is_a_file(tmp_path):
    (tmp_path / "lake").write_text("not a directory")
    with pytest.raises(ConfigurationError) as e:
        check_lake(Lake(str(tmp_path / "lake")))
    assert str(e.value) == f"SPOTIFY_LAKE_URI={str(tmp_path / 'lake')!r}: {tmp_path / 'lake'} is a file, not a directory"
    with pytest.raises(ConfigurationError, match=r"is a file, not a directory \(the lake would be below it"):
        check_lake(Lake(str(tmp_path / "lake" / "below")))


def test_a_missing_local_lake_is_created_and_a_usable_one_passes(tmp_path):
    root = tmp_path / "new" / "lake"
    check_lake(Lake(str(root)))
    assert root.is_dir() and list(root.iterdir()) == []  # the write probe is gone


def test_an_unwritable_local_lake(tmp_path):
    with pytest.raises(ConfigurationError, match=r"SPOTIFY_LAKE_URI='/proc/spotify-lake': cannot write in /proc/spotify-lake"):
        check_lake(Lake("/proc/spotify-lake"))


def test_s3_bucket_must_exist(s3_bucket, aws_env):
    check_lake(Lake(f"s3://{s3_bucket}/lake", endpoint_url=aws_env))
    with pytest.raises(ConfigurationError) as e:
        check_lake(Lake("s3://no-such-bucket-for-spotify-assets/lake", endpoint_url=aws_env))
    assert str(e.value) == ("SPOTIFY_LAKE_URI='s3://no-such-bucket-for-spotify-assets/lake': the S3 bucket "
                            "'no-such-bucket-for-spotify-assets' does not exist (region us-east-1)")


def test_an_unreachable_s3_endpoint_is_retryable_not_a_configuration_error(aws_env):
    with pytest.raises(LakeUnreachableError, match=r"SPOTIFY_LAKE_URI='s3://bucket/lake': the S3 bucket 'bucket' "
                                                   r"cannot be reached"):
        check_lake(Lake("s3://bucket/lake", endpoint_url="http://127.0.0.1:9"))
