"""Fixtures shared by the whole suite: a moto server and a Spotify emulator, both on 127.0.0.1 only."""

from __future__ import annotations

import re

import boto3
import dagster as dg
import pytest

from spotify_assets.lake.storage import Lake
from spotify_assets_tests.emulation import TEST_DAY, crawl_into_lake, running_emulator

__all__ = ["TEST_DAY"]


@pytest.fixture(autouse=True, scope="module")
def _own_dagster_instance():
    """Each test module runs with its own temporary Dagster instance.

    Resolving Definitions consults the current instance's state storage; an instance an earlier test
    created and dropped may already be garbage-collected, which made results depend on test order.
    """
    with dg.instance_for_test():
        yield


@pytest.fixture(scope="session")
def moto_endpoint():
    """A moto server (S3, Glue, Athena) on a free loopback port for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, moto_endpoint):
    """Dummy AWS credentials pointed at the moto server (never at AWS)."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }.items():
        monkeypatch.setenv(name, value)
    return moto_endpoint


@pytest.fixture
def s3_bucket(aws_env, request):
    """A fresh, empty bucket on the moto server; its name is unique to the test."""
    # bucket names allow lower-case letters, digits and hyphens (no "[" of parametrized test ids)
    name = "lake-" + re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower())[:40].strip("-") + f"-{id(request) % 10000}"
    boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(aws_env):
    """A boto3 S3 client of the moto server."""
    return boto3.client("s3", endpoint_url=aws_env, region_name="us-east-1")


@pytest.fixture(params=["local", "s3"])
def local_or_s3_lake(request, tmp_path) -> Lake:
    """An empty lake, once a local directory (``tmp_path/lake``) and once on S3 (``s3://<s3_bucket>/lake``)."""
    if request.param == "local":
        return Lake(str(tmp_path / "lake"))
    return Lake(f"s3://{request.getfixturevalue('s3_bucket')}/lake")


@pytest.fixture
def emulator():
    """A tiny-scale Spotify emulator in extended mode, its clock on TEST_DAY."""
    with running_emulator(mode="extended") as server:
        yield server


@pytest.fixture(scope="module")
def crawled_raw(tmp_path_factory):
    """A local lake holding one real raw partition (TEST_DAY) crawled from a tiny-scale emulator."""
    root = str(tmp_path_factory.mktemp("crawled") / "lake")
    return root, crawl_into_lake(root, TEST_DAY, mode="extended")
