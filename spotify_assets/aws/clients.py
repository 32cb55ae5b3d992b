"""The one place that works out how to reach AWS: region, endpoint and credentials, for every client.

Everything that talks to AWS — the lake's pyarrow S3 filesystem, the Glue catalog, Athena, DuckDB's
httpfs secret, the remote transform in Lambda or Glue, and on the Dagster side the ``s3`` resource
(``dagster_aws.s3.S3Resource``) and the Pipes clients — resolves these settings here, the same way:

* **region**: an explicit value, else ``AWS_REGION``, else ``AWS_DEFAULT_REGION``, else ``us-east-1``;
* **endpoint**: an explicit value, else ``AWS_ENDPOINT_URL_<SERVICE>`` (e.g. ``AWS_ENDPOINT_URL_S3``),
  else ``AWS_ENDPOINT_URL``, else AWS's own endpoint — how tests point every client at a moto server;
* **credentials**: boto3's default chain (environment, ``AWS_PROFILE``, SSO, container and instance
  roles). pyarrow's filesystem uses the AWS C++ SDK's default chain (environment, profile, container and
  instance roles), so it refreshes temporary credentials itself; only DuckDB's httpfs, which reads no
  profile or role, is handed a frozen copy.

No Dagster imports: the remote transform uses this module in Lambda and Glue.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_REGION = "us-east-1"


def region(explicit: str | None = None) -> str:
    return explicit or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def endpoint_url(service: str, explicit: str | None = None) -> str | None:
    """The endpoint to use for ``service`` (``s3``, ``glue``, ``athena``, ``lambda``…), or None for AWS's."""
    specific = os.environ.get(f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}")
    return explicit or specific or os.environ.get("AWS_ENDPOINT_URL") or None


def client(
    service: str,
    *,
    region_name: str | None = None,
    endpoint: str | None = None,
    config: Any = None,
    session: Any = None,
) -> Any:
    """A boto3 client for ``service`` with the region and endpoint resolved as described above."""
    import boto3

    session = session or boto3.session.Session()
    return session.client(
        service, region_name=region(region_name), endpoint_url=endpoint_url(service, endpoint), config=config
    )


def frozen_credentials() -> tuple[str, str, str | None] | None:
    """``(access key, secret, session token)`` from boto3's chain, for tools that cannot resolve them
    (DuckDB's httpfs); None when there are none (anonymous access, or an instance role DuckDB finds itself)."""
    key, secret = os.environ.get("AWS_ACCESS_KEY_ID"), os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return key, secret, os.environ.get("AWS_SESSION_TOKEN") or None
    try:
        import boto3

        found = boto3.session.Session().get_credentials()
        if found is None:
            return None
        frozen = found.get_frozen_credentials()
        return frozen.access_key, frozen.secret_key, frozen.token
    except Exception:  # no boto3 configuration at all: let the tool try anonymously
        return None


def pyarrow_s3_options(region_name: str | None = None, endpoint: str | None = None) -> dict[str, Any]:
    """Keyword arguments of ``pyarrow.fs.S3FileSystem`` for the resolved region and S3 endpoint."""
    options: dict[str, Any] = {"region": region(region_name)}
    url = endpoint_url("s3", endpoint)
    if url:
        scheme, _, host = url.partition("://")
        if not host:
            scheme, host = "https", url
        options.update(endpoint_override=host.rstrip("/"), scheme=scheme)
    return options


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix/`` → ``("bucket", "some/prefix")`` (no trailing slash; "" for the root)."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"{uri!r} names no bucket")
    return bucket, prefix.strip("/")
