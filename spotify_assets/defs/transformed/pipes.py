"""Where the transformed step's staging runs: in the Dagster process, in AWS Lambda or in an AWS Glue job.

``SPOTIFY_TRANSFORM_COMPUTE`` chooses (:class:`TransformCompute`):

* ``inprocess`` (default) — the step transforms in its own process;
* ``lambda`` — it invokes ``SPOTIFY_TRANSFORM_LAMBDA_FUNCTION`` (handler
  ``spotify_assets.remote.lambda_handler.handler``) through ``PipesLambdaClient``: the Pipes context travels in
  the event, messages come back through S3;
* ``glue`` — it starts a run of ``SPOTIFY_TRANSFORM_GLUE_JOB`` (script ``deploy/glue/transform_job.py``)
  through ``PipesGlueClient``: context and messages through S3.

The remote side (:mod:`spotify_assets.remote.staging`) only stages; its :class:`~spotify_assets.publish.wap.StagedDay`
comes back as a Pipes custom message, and the step audits, publishes and reports from it exactly as
after an in-process stage. Pipes objects live under the lake's ``_staging/_pipes/`` — inside the staging
area no consumer reads and outside ``raw/``, so they trigger nothing — and are removed when the session
ends (``clean_staging`` sweeps what a killed process left after an hour).

The Pipes clients are the resources ``pipes_lambda_client`` / ``pipes_glue_client``, defined (by
``resources.py``) only in the mode that uses them; the asset then requires that key.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster_aws.pipes import (
    PipesGlueClient,
    PipesLambdaClient,
    PipesLambdaEventContextInjector,
    PipesS3ContextInjector,
    PipesS3MessageReader,
)
from dagster_pipes import PipesBlobStoreMessageWriter

from ... import settings
from ...aws import clients as aws
from ...lake.publication.staging import PIPES_DIR
from ...lake.storage import Lake
from ...publish.wap import StagedDay
from ...remote.staging import STAGED_DAY_MESSAGE

COMPUTE_ENV = "SPOTIFY_TRANSFORM_COMPUTE"
LAMBDA_FUNCTION_ENV = "SPOTIFY_TRANSFORM_LAMBDA_FUNCTION"
GLUE_JOB_ENV = "SPOTIFY_TRANSFORM_GLUE_JOB"
MODES = ("inprocess", "lambda", "glue")
LAMBDA_RESOURCE_KEY = "pipes_lambda_client"
GLUE_RESOURCE_KEY = "pipes_glue_client"
# A synchronous Invoke waits for the function: up to Lambda's 15-minute limit, plus slack.
LAMBDA_READ_TIMEOUT_S = 15 * 60 + 30
# Seconds between polls of the Pipes message objects while the remote transform runs (log lines appear
# in the run with this delay; the final messages are read as soon as the invocation returns).
MESSAGE_POLL_INTERVAL_S = 2.0


@dataclass(frozen=True)
class TransformCompute:
    """Where the transformed step stages a day (see the module docstring)."""

    mode: str = "inprocess"
    lambda_function: str | None = None
    glue_job: str | None = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"{COMPUTE_ENV}={self.mode!r} is not one of {', '.join(MODES)}")
        if self.mode == "lambda" and not self.lambda_function:
            raise ValueError(f"{COMPUTE_ENV}=lambda needs {LAMBDA_FUNCTION_ENV} (the function's name or ARN)")
        if self.mode == "glue" and not self.glue_job:
            raise ValueError(f"{COMPUTE_ENV}=glue needs {GLUE_JOB_ENV} (the Glue job's name)")

    @classmethod
    def from_env(cls) -> TransformCompute:
        current = settings.load()
        return cls(mode=current.transform_compute, lambda_function=current.transform_lambda_function,
                   glue_job=current.transform_glue_job)

    @property
    def remote(self) -> bool:
        return self.mode != "inprocess"

    @property
    def resource_key(self) -> str | None:
        """The Pipes client resource this mode needs (None in process)."""
        return {"lambda": LAMBDA_RESOURCE_KEY, "glue": GLUE_RESOURCE_KEY}.get(self.mode)

    def describe(self) -> str:
        if self.mode == "lambda":
            return f"AWS Lambda function {self.lambda_function}"
        if self.mode == "glue":
            return f"AWS Glue job {self.glue_job}"
        return "the Dagster step's process"


def pipes_location(lake_uri: str) -> tuple[str, str]:
    """``(bucket, key prefix)`` of the Pipes objects of the lake at ``lake_uri`` (an ``s3://`` lake)."""
    if not lake_uri.startswith("s3://"):
        raise ValueError(
            f"the transform runs in Lambda or Glue only on an s3:// lake (SPOTIFY_LAKE_URI={lake_uri!r}): the "
            f"remote function must reach the raw files and the staging folder. Unset {COMPUTE_ENV} for a local lake."
        )
    bucket, prefix = aws.split_s3_uri(lake_uri)
    return bucket, f"{prefix}/{PIPES_DIR}/" if prefix else f"{PIPES_DIR}/"


class LakePipesMessageReader(PipesS3MessageReader):
    """``PipesS3MessageReader`` whose message chunks go under the lake's ``_staging/_pipes/`` rather than a
    random folder at the bucket's root, and are deleted once the session has read them."""

    def __init__(self, *, bucket: str, key_prefix: str, client: Any, interval: float = MESSAGE_POLL_INTERVAL_S):
        super().__init__(bucket=bucket, client=client, interval=interval)
        self.key_prefix = key_prefix

    @contextlib.contextmanager
    def get_params(self) -> Iterator[dict[str, Any]]:
        prefix = f"{self.key_prefix}{uuid.uuid4().hex}/messages"
        try:
            yield {
                "bucket": self.bucket,
                "key_prefix": prefix,
                PipesBlobStoreMessageWriter.INCLUDE_STDIO_IN_MESSAGES_KEY: self.include_stdio_in_messages,
            }
        finally:
            _delete_prefix(self.client, self.bucket, prefix + "/")


def _delete_prefix(client: Any, bucket: str, prefix: str) -> None:
    with contextlib.suppress(Exception):  # leftovers are swept by clean_staging; never fail the step for them
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = [{"Key": o["Key"]} for page in pages for o in page.get("Contents", [])]
        for start in range(0, len(keys), 1000):
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys[start : start + 1000], "Quiet": True})


def lambda_client_with_long_timeout() -> Any:
    """A boto3 Lambda client fit for a synchronous invoke of a long function: the read timeout covers
    Lambda's 15 minutes and nothing is retried (a retried Invoke would run a second transform into the
    same staging folder)."""
    from botocore.config import Config

    return aws.client(
        "lambda", config=Config(read_timeout=LAMBDA_READ_TIMEOUT_S, connect_timeout=10, retries={"total_max_attempts": 1})
    )


def build_pipes_lambda_client(lake_uri: str, *, s3_client: Any, lambda_client: Any = None) -> PipesLambdaClient:
    """The ``pipes_lambda_client`` resource: context in the event, messages through the lake's bucket."""
    bucket, prefix = pipes_location(lake_uri)
    return PipesLambdaClient(
        client=lambda_client or lambda_client_with_long_timeout(),
        context_injector=PipesLambdaEventContextInjector(),
        message_reader=LakePipesMessageReader(bucket=bucket, key_prefix=prefix, client=s3_client),
    )


def build_pipes_glue_client(lake_uri: str, *, s3_client: Any, glue_client: Any = None) -> PipesGlueClient:
    """The ``pipes_glue_client`` resource: context and messages through the lake's bucket."""
    bucket, prefix = pipes_location(lake_uri)
    return PipesGlueClient(
        client=glue_client or aws.client("glue"),
        context_injector=PipesS3ContextInjector(bucket=bucket, client=s3_client, key_prefix=prefix),
        message_reader=LakePipesMessageReader(bucket=bucket, key_prefix=prefix, client=s3_client),
    )


@dataclass(frozen=True)
class RemoteStage:
    """What a remote stage returned: the staged day and metadata describing where it ran."""

    staged: StagedDay
    metadata: dict[str, Any]


def stage_remotely(
    context: dg.AssetExecutionContext,
    compute: TransformCompute,
    client: PipesLambdaClient | PipesGlueClient,
    lake: Lake,
    *,
    other_runs_in_progress: bool,
) -> RemoteStage:
    """Run the staging of ``context``'s partition in Lambda or Glue and return what it staged."""
    pipes_location(lake.root_uri)
    # The region goes along: the remote filesystem (pyarrow) does not follow S3's redirects to a bucket's region.
    arguments = {"lake_uri": lake.uri(), "region": lake.region, "other_runs_in_progress": other_runs_in_progress}
    context.log.info(f"Staging {context.partition_key} in {compute.describe()}")
    if compute.mode == "lambda":
        assert isinstance(client, PipesLambdaClient), type(client)
        invocation = client.run(context=context, function_name=compute.lambda_function, event=arguments)
        metadata: dict[str, Any] = {"compute": "lambda", "lambda_function": compute.lambda_function}
    elif compute.mode == "glue":
        assert isinstance(client, PipesGlueClient), type(client)
        invocation = client.run(
            context=context, start_job_run_params={"JobName": compute.glue_job, "Arguments": {}}, extras=arguments
        )
        metadata = {"compute": "glue", "glue_job": compute.glue_job}
        run_id = invocation.metadata.get("AWS Glue Job Run ID")
        if run_id is not None:
            metadata["glue_job_run_id"] = run_id.value
    else:
        raise ValueError(f"{compute.mode} is not a remote compute")
    reports = [
        m for m in invocation.get_custom_messages() if isinstance(m, dict) and m.get("kind") == STAGED_DAY_MESSAGE
    ]
    if not reports:
        raise dg.Failure(
            description=f"{compute.describe()} finished without reporting a staged day for {context.partition_key}: "
            "nothing is published. Its log lines above (and its own logs) say what happened.",
            allow_retries=True,
        )
    staged = StagedDay.from_json(reports[-1]["staged_day"])
    if (staged.partition, staged.run_id) != (context.partition_key, context.run_id):
        raise dg.Failure(
            description=f"{compute.describe()} staged {staged.partition} for run {staged.run_id}, but this step is "
            f"{context.partition_key} of run {context.run_id}; nothing is published.",
            allow_retries=False,
        )
    return RemoteStage(staged, metadata)
