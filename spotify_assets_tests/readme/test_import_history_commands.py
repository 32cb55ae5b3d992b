"""The README's listening-history commands, run as written in a project root like a user's checkout: the
export in ``~/Downloads`` (zipped, then extracted), the same export from S3 (a moto server on 127.0.0.1
stands in, its bucket named as in the README), ``make import-history`` without an export, and the two
queries of the history section."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import boto3
import pytest

from spotify_assets.emulator.export import write_export

from . import readme
from .project import make_project_root, run, user_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# A week of the emulator's history around the README's example day (2015-03-04): small, and that day has streams.
NOW = dt.datetime(2015, 3, 8, 12, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2015, 3, 1)


@pytest.fixture
def user(tmp_path: Path):
    """A project root and a home whose ``Downloads`` holds the emulator's export, zipped and extracted."""
    root = make_project_root(tmp_path / "project")
    home = tmp_path / "home"
    downloads = home / "Downloads"
    downloads.mkdir(parents=True)
    zipped = downloads / "my_spotify_data.zip"
    truth = write_export(zipped, now=NOW, first_day=FIRST_DAY, scale="tiny")
    with zipfile.ZipFile(zipped) as z:
        z.extractall(downloads / "my_spotify_data")
    return root, home, truth


def _ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout + result.stderr


def test_the_readme_imports_the_export_zipped_extracted_and_from_s3_then_queries_it(user, moto_endpoint):
    root, home, truth = user
    env = user_env(root, HOME=str(home))
    out = _ok(run(readme.command("make import-history EXPORT=~/Downloads/my_spotify_data.zip"), root, env=env,
                  timeout=600))
    assert f"streams: {len(truth.streams) - truth_collisions(truth):,} rows in 1 months (2015-03 … 2015-03)" in out
    assert "Personal data removed before landing: " in out
    out = _ok(run(readme.command("make import-history EXPORT=~/Downloads/my_spotify_data"), root, env=env, timeout=600))
    assert "(landed before: nothing new written)" in out  # the extracted folder is the same export

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket="my-uploads")
    s3.upload_file(str(home / "Downloads" / "my_spotify_data.zip"), "my-uploads", "spotify/my_spotify_data.zip")
    aws = {**env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": moto_endpoint}
    out = _ok(run(readme.command("make import-history EXPORT=s3://my-uploads/spotify/my_spotify_data.zip"), root,
                  env=aws, timeout=600))
    assert "(landed before: nothing new written)" in out

    day = _ok(run(readme.command('.venv/bin/python -m spotify_assets.sql "SELECT track_name, artist_name, ms_played, '
                                 'skipped FROM streams'), root, env=env))
    on_the_day = sum(1 for w in truth.streams if w.ts.date() == dt.date(2015, 3, 4))
    assert on_the_day and f"({on_the_day} rows, duckdb)" in day
    years = _ok(run(readme.command('.venv/bin/python -m spotify_assets.sql "SELECT substr(dt, 1, 4) AS year'), root,
                    env=env))
    assert "2015" in years and "(1 row, duckdb)" in years

    usage = run(readme.command("make import-history"), root, env=env)
    assert usage.returncode == 2 and "usage: make import-history EXPORT=" in usage.stderr


def truth_collisions(truth) -> int:
    """Streams the stream key counts once (the same content ending in the same second with the same ms)."""
    keys = [(w.end_s, w.ms_played, w.track_id or w.episode_id or w.chapter_id or (w.kind, w.track_name, w.episode_name))
            for w in truth.streams]
    return len(keys) - len(set(keys))
