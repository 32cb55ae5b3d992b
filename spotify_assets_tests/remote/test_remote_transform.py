"""The transformed step with its staging in AWS Lambda or an AWS Glue job, through Dagster Pipes, end to end
without AWS compute: the real entry points run in subprocesses started by stand-ins of the boto3 clients
(``fake_aws.py``), with exactly what ``PipesLambdaClient`` / ``PipesGlueClient`` send them, and the Pipes
context and messages go through the moto S3 server. A remote run must report the same materializations
and check results as an in-process run and publish byte-identical objects."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import boto3
import dagster as dg
import pytest
from dagster_pipes import DAGSTER_PIPES_CONTEXT_ENV_VAR, DAGSTER_PIPES_MESSAGES_ENV_VAR, decode_param

from spotify_assets.defs.resources import s3_resource
from spotify_assets.defs.transformed.assets import build_transformed_tables
from spotify_assets.defs.transformed.pipes import (
    TransformCompute,
    build_pipes_glue_client,
    build_pipes_lambda_client,
)
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.resource import LakeResource
from spotify_assets.tables import TABLES
from spotify_assets_tests.conftest import TEST_DAY
from spotify_assets_tests.emulation import copy_raw, land_cut_short_file
from spotify_assets_tests.remote.fake_aws import FakeGlueClient, FakeLambdaClient

pytestmark = pytest.mark.slow  # end to end: subprocesses, several runs (pytest -m slow)

DAY = TEST_DAY.isoformat()
# Metadata that says where the staging ran (the only keys allowed to differ between the paths).
COMPUTE_KEYS = {"compute", "lambda_function", "glue_job", "glue_job_run_id"}


def _defs(lake_uri: str, compute: TransformCompute, client=None) -> dg.Definitions:
    lake = LakeResource(root_uri=lake_uri)
    resources = {"lake": lake, "lake_io_manager": LakeIOManager(lake=lake)}
    if compute.resource_key:
        resources[compute.resource_key] = client
    return dg.Definitions(assets=[build_transformed_tables(compute)], resources=resources)


def _run(defs: dg.Definitions, instance: dg.DagsterInstance):
    job = defs.resolve_implicit_global_asset_job_def()
    started = time.perf_counter()
    result = job.execute_in_process(partition_key=DAY, instance=instance, raise_on_error=False)
    return result, time.perf_counter() - started


def _plain(value, lake_uri: str):
    value = value.value if isinstance(value, dg.MetadataValue) else value
    return value.replace(lake_uri, "<lake>") if isinstance(value, str) else value


def _reported(result, lake_uri: str) -> tuple[dict, dict]:
    """Materialization metadata per table and check results, with the lake's URI made neutral."""
    materializations = {
        m.asset_key.path[-1]: {k: _plain(v, lake_uri) for k, v in m.metadata.items() if k not in COMPUTE_KEYS}
        for m in result.asset_materializations_for_node("transformed_tables")
    }
    checks = {
        (c.asset_key.path[-1], c.check_name): (c.passed, {k: _plain(v, lake_uri) for k, v in c.metadata.items()})
        for c in result.get_asset_check_evaluations()
    }
    return materializations, checks


def _objects(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    """Objects below ``prefix`` (without the empty "folder/" markers pyarrow's filesystem leaves)."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/")
    return {
        o["Key"][len(prefix) + 1 :]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
        for page in pages
        for o in page.get("Contents", [])
        if not o["Key"].endswith("/")
    }


def _published(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    return {k: v for k, v in _objects(s3, bucket, prefix).items() if k.startswith(("transformed/", "quarantine/"))}


def _user_logs(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    return [e.user_message for e in instance.all_logs(run_id)]


@pytest.fixture(scope="module")
def in_process_run(moto_endpoint, crawled_raw):
    """The reference, once per module: the same raw day transformed in process on the same (moto) S3."""
    raw_root, _ = crawled_raw
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_endpoint}.items():
            env.setenv(name, value)
        s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
        bucket = "pipes-in-process-reference"
        s3.create_bucket(Bucket=bucket)
        uri = f"s3://{bucket}/inproc"
        copy_raw(raw_root, uri)
        with dg.instance_for_test() as instance:
            result, seconds = _run(_defs(uri, TransformCompute()), instance)
        assert result.success
        return _reported(result, uri), _published(s3, bucket, "inproc"), seconds


def _remote_uri(bucket: str) -> str:
    return f"s3://{bucket}/remote"


def _remote_run(crawled_raw, bucket: str, compute: TransformCompute, fake, *, damaged: bool = False):
    """The crawled day landed at ``_remote_uri(bucket)`` (with a raw file cut short if ``damaged``), then the
    transformed step run with its staging on ``compute``, whose boto3 client is the stand-in ``fake``:
    ``(result, seconds, the run's user log lines)``."""
    uri = _remote_uri(bucket)
    lake = copy_raw(crawled_raw[0], uri)
    if damaged:
        land_cut_short_file(lake, DAY)
    if compute.mode == "lambda":
        client = build_pipes_lambda_client(uri, s3_client=s3_resource().get_client(), lambda_client=fake)
    else:
        client = build_pipes_glue_client(uri, s3_client=s3_resource().get_client(), glue_client=fake)
    with dg.instance_for_test() as instance:
        result, seconds = _run(_defs(uri, compute, client), instance)
        logs = _user_logs(instance, result.run_id)
    return result, seconds, logs


def _assert_same_as_in_process(result, logs: list[str], in_process_run, s3, bucket: str) -> None:
    """A successful remote run reported and published exactly what the in-process run did, its remote stage's own
    log lines reached the run, and it left nothing behind under ``_staging/``."""
    uri = _remote_uri(bucket)
    assert result.success, logs
    expected_reports, expected_objects, _ = in_process_run
    assert _reported(result, uri) == expected_reports
    assert _published(s3, bucket, "remote") == expected_objects  # byte for byte, manifests included
    assert f"Staging {DAY} of {uri} for run {result.run_id}" in logs
    # the staged folder was published and removed; the Pipes context and message objects deleted
    assert [k for k in _objects(s3, bucket, "remote") if k.startswith("_staging/")] == []


def test_lambda_stage_through_pipes_equals_in_process(in_process_run, s3, s3_bucket, crawled_raw):
    fake = FakeLambdaClient()
    compute = TransformCompute("lambda", lambda_function="spotify-transform")
    result, seconds, logs = _remote_run(crawled_raw, s3_bucket, compute, fake)

    _assert_same_as_in_process(result, logs, in_process_run, s3, s3_bucket)
    for m in result.asset_materializations_for_node("transformed_tables"):
        assert m.metadata["compute"].value == "lambda"
        assert m.metadata["lambda_function"].value == "spotify-transform"
    # exactly what PipesLambdaClient sends: our arguments plus the Pipes bootstrap parameters
    (call,) = fake.invocations
    assert call["FunctionName"] == "spotify-transform" and call["LogType"] == "None"
    event = call["event"]
    assert set(event) == {
        "lake_uri", "region", "other_runs_in_progress", DAGSTER_PIPES_CONTEXT_ENV_VAR, DAGSTER_PIPES_MESSAGES_ENV_VAR
    }
    assert (event["lake_uri"], event["region"], event["other_runs_in_progress"]) == (
        _remote_uri(s3_bucket), "us-east-1", False)
    context = decode_param(event[DAGSTER_PIPES_CONTEXT_ENV_VAR])["data"]
    assert (context["partition_key"], context["run_id"]) == (DAY, result.run_id)
    assert sorted(context["asset_keys"]) == sorted(TABLES)
    messages = decode_param(event[DAGSTER_PIPES_MESSAGES_ENV_VAR])
    assert messages["bucket"] == s3_bucket and messages["key_prefix"].startswith("remote/_staging/_pipes/")
    print(f"\nstage+audit+publish of the tiny day: in process {in_process_run[2]:.2f} s, "
          f"through Pipes in a Lambda subprocess {seconds:.2f} s")


def test_glue_stage_through_pipes_equals_in_process(in_process_run, s3, s3_bucket, crawled_raw):
    fake = FakeGlueClient()
    result, _, logs = _remote_run(crawled_raw, s3_bucket, TransformCompute("glue", glue_job="spotify-transform"), fake)

    _assert_same_as_in_process(result, logs, in_process_run, s3, s3_bucket)
    (start,) = fake.started
    (run_id,) = fake.runs
    assert start["JobName"] == "spotify-transform"
    assert set(start["Arguments"]) == {"--dagster-pipes-context", "--dagster-pipes-messages"}
    context_params = decode_param(start["Arguments"]["--dagster-pipes-context"])
    assert context_params["bucket"] == s3_bucket and context_params["key"].startswith("remote/_staging/_pipes/")
    assert fake.runs[run_id].polls >= 2  # RUNNING was reported before SUCCEEDED
    for m in result.asset_materializations_for_node("transformed_tables"):
        assert (m.metadata["compute"].value, m.metadata["glue_job_run_id"].value) == ("glue", run_id)


def test_a_remote_stage_is_audited_in_dagster_and_held_back(s3, s3_bucket, crawled_raw):
    compute = TransformCompute("lambda", lambda_function="f")
    result, _, _ = _remote_run(crawled_raw, s3_bucket, compute, FakeLambdaClient(), damaged=True)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "was not published" in failure.step_failure_data.error.message
    blocking = [(c.asset_key.path[-1], c.check_name) for c in result.get_asset_check_evaluations()
                if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR]
    assert ("tracks", "raw_data_loss_within_limit") in blocking  # the remote stage's losses reached the audit
    assert {check for _, check in blocking} == {"raw_data_loss_within_limit"}
    tracks = next(m for m in result.asset_materializations_for_node("transformed_tables") if m.asset_key.path == ["tracks"])
    assert tracks.metadata["publication"].value == "held back"
    keys = _objects(s3, s3_bucket, "remote")
    assert not any(k.startswith(("transformed/", "quarantine/")) for k in keys)  # nothing published
    assert f"_staging/dt={DAY}/{result.run_id}/_HELD_BACK.json" in keys  # the staged version kept, with its note
    assert f"_staging/dt={DAY}/{result.run_id}/transformed/tracks/dt={DAY}/part-00000.parquet" in keys


def test_a_timed_out_function_fails_the_step_and_publishes_nothing(s3, s3_bucket, crawled_raw, monkeypatch):
    import dagster._core.pipes.utils as pipes_utils

    monkeypatch.setattr(pipes_utils, "WAIT_FOR_LOGS_AFTER_EXECUTION_INTERVAL", 1)  # no messages will come
    fake = FakeLambdaClient(timeout_s=0.3)  # killed while importing
    result, _, _ = _remote_run(crawled_raw, s3_bucket, TransformCompute("lambda", lambda_function="f"), fake)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.step_failure_data.error.to_string()
    assert "Lambda Function Error (Unhandled)" in error and "Task timed out" in error
    assert result.asset_materializations_for_node("transformed_tables") == []
    assert not any(k.startswith(("transformed/", "quarantine/")) for k in _objects(s3, s3_bucket, "remote"))


def test_the_entry_points_refuse_calls_that_are_not_dagster_runs():
    from spotify_assets.remote import lambda_handler

    s3_event = {"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "b"}, "object": {"key": "raw/x"}}}]}
    with pytest.raises(lambda_handler.NotAPipesInvocation, match="raw_landing_sensor"):
        lambda_handler.handler(s3_event, None)
    glue = subprocess.run([sys.executable, "deploy/glue/transform_job.py", "--JOB_NAME", "x"], capture_output=True,
                          text=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert glue.returncode != 0 and "no Dagster Pipes parameters" in glue.stderr


def test_the_remote_entry_points_do_not_import_dagster():
    code = (
        "import sys, spotify_assets.remote.lambda_handler, spotify_assets.remote.staging, spotify_assets.publish.wap; "
        "print(sorted(m for m in ('dagster', 'dagster_aws', 'pandas', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
