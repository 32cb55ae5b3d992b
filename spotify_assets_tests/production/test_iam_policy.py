"""Least privilege, verified: every AWS action of a full AWS-path run is allowed by deploy/iam-policy.json,
and the policy allows nothing the run did not need, scoped to the lake prefix, the Athena results prefix,
the Glue database and the Athena workgroup.

The run: the real definitions with ``SPOTIFY_ASSETS_ENV=aws`` against a recording moto server (S3, Glue,
Athena) and the emulator for Spotify — ``daily_job`` for a first day, a rerun of that day after the Glue
schema changed (the update paths), and a tick of the raw-landing sensor. Recorded: botocore calls through
event hooks, everything else (the lake's pyarrow S3 traffic) from the HTTP requests moto receives, plus
what Athena does on the caller's behalf (see ``aws_recording.athena_on_behalf``).

Re-run after changing what the code does on AWS: ``make test-iam`` (``pytest -m iam``). A failure lists
each MISSING action (with example resources and the call that needed it) and each UNUSED policy entry.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import boto3
import dagster as dg
import pytest
from botocore.awsrequest import AWSResponse

from spotify_assets.defs.partitions import today_utc
from spotify_assets.defs.raw.landing_sensor import RAW_SENSOR_NAME
from spotify_assets.emulator import EMULATOR_REFRESH_TOKEN
from spotify_assets_tests.emulation import start_test_emulator

from .aws_recording import (
    ACCOUNT,
    BotocoreRecorder,
    RecordingMoto,
    athena_on_behalf,
    calls_from_http,
)
from .helpers import DEPLOY, REPO, clear_spotify_env, load_definitions
from .iam_policy import evaluate, render

pytestmark = pytest.mark.iam

REGION = "us-east-1"
LAKE_BUCKET, LAKE_PREFIX = "spotify-lake-iam", "lake"
RESULTS_BUCKET, RESULTS_PREFIX = "spotify-athena-iam", "athena-results"
DATABASE, WORKGROUP = "spotify_iam", "spotify"
POLICY = DEPLOY / "iam-policy.json"
PLACEHOLDERS = {
    "AWS_REGION": REGION, "AWS_ACCOUNT_ID": ACCOUNT, "LAKE_BUCKET": LAKE_BUCKET, "LAKE_PREFIX": LAKE_PREFIX,
    "RESULTS_BUCKET": RESULTS_BUCKET, "RESULTS_PREFIX": RESULTS_PREFIX, "GLUE_DATABASE": DATABASE,
    "ATHENA_WORKGROUP": WORKGROUP,
}
ARTIFACT = REPO / "test-artifacts" / "iam" / "aws-calls.json"


def moto_api(endpoint: str, action: str, payload: dict) -> None:
    import urllib.request

    request = urllib.request.Request(f"{endpoint}/moto-api/state-manager/{action}", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201)


def _json_response(status: int, body: dict):
    return AWSResponse("", status, {}, None), body


@pytest.fixture(scope="module")
def recording():
    moto = RecordingMoto()
    endpoint = moto.start()
    emulator = start_test_emulator(mode="extended", today=None)  # clock: today
    try:
        with pytest.MonkeyPatch.context() as mp:
            clear_spotify_env(mp)
            for name in list(os.environ):
                if name.startswith("AWS_"):
                    mp.delenv(name)
            env = {
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION, "AWS_ENDPOINT_URL": endpoint,
                "SPOTIFY_ASSETS_ENV": "aws", "SPOTIFY_LAKE_URI": f"s3://{LAKE_BUCKET}/{LAKE_PREFIX}",
                "SPOTIFY_ATHENA_OUTPUT": f"s3://{RESULTS_BUCKET}/{RESULTS_PREFIX}/",
                "SPOTIFY_GLUE_DATABASE": DATABASE, "SPOTIFY_ATHENA_WORKGROUP": WORKGROUP,
                "SPOTIFY_API_URL": emulator.api_url, "SPOTIFY_ACCOUNTS_URL": emulator.accounts_url,
                "SPOTIFY_CLIENT_ID": "iam-test-client", "SPOTIFY_CLIENT_SECRET": "iam-test-secret",
                "SPOTIFY_REFRESH_TOKEN": EMULATOR_REFRESH_TOKEN,
                "SPOTIFY_REFRESH_TOKEN_ISSUED_AT": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            for key, value in env.items():
                mp.setenv(key, value)
            # Set-up with clients created before the hooks exist (not part of the recording).
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
            glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION)
            athena = boto3.client("athena", endpoint_url=endpoint, region_name=REGION)
            for bucket in (LAKE_BUCKET, RESULTS_BUCKET):
                s3.create_bucket(Bucket=bucket)
            athena.create_work_group(Name=WORKGROUP, Configuration={
                "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS_BUCKET}/{RESULTS_PREFIX}/"}})

            recorder = BotocoreRecorder(REGION)
            partition = today_utc()
            with recorder.active(), dg.instance_for_test() as instance:
                moto.recording = True
                defs = load_definitions()
                job = defs.resolve_job_def("daily_job")
                first = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False)
                assert first.success, [e.step_failure_data.error.message for e in first.get_step_failure_events()]
                # An earlier version of the code registered `tracks` with another description: the rerun
                # must update the table (and re-register the day's partitions).
                moto.recording = False
                table = glue.get_table(DatabaseName=DATABASE, Name="tracks")["Table"]
                glue.update_table(DatabaseName=DATABASE, TableInput={
                    k: v for k, v in table.items() if k in ("Name", "TableType", "Parameters", "PartitionKeys",
                                                             "StorageDescriptor")} | {"Description": "older"})
                moto.recording = True
                again = job.execute_in_process(partition_key=partition, instance=instance, raise_on_error=False)
                assert again.success, [e.step_failure_data.error.message for e in again.get_step_failure_events()]
                # A run terminated while its Athena query runs: the engine stops the query.
                moto.recording = False
                moto_api(endpoint, "set-transition", {"model_name": "athena::execution",
                                                      "transition": {"progression": "manual", "times": 1000}})
                moto.recording = True
                engine = defs.resources["warehouse"].query_engine()
                engine.start("SELECT count(*) FROM tracks")
                engine.cancel()
                moto.recording = False
                moto_api(endpoint, "unset-transition", {"model_name": "athena::execution"})
                moto.recording = True
                sensor = defs.resolve_sensor_def(RAW_SENSOR_NAME)
                with dg.build_sensor_context(instance=instance,
                                             resources={"lake": defs.resources["lake"], "s3": defs.resources["s3"]},
                                             repository_def=defs.get_repository_def()) as ctx:
                    sensor.evaluate_tick(ctx)
                moto.recording = False
            locations = {t["Name"]: t["StorageDescriptor"]["Location"]
                         for page in glue.get_paginator("get_tables").paginate(DatabaseName=DATABASE)
                         for t in page["TableList"]}
            yield recorder, moto.requests, locations
    finally:
        emulator.stop()
        moto.stop()


def _all_calls(recorder, requests, locations):
    calls = recorder.calls()
    unclassified = []
    for request in requests:
        if request.from_botocore:
            continue  # recorded by the hooks, with the exact operation and parameters
        classified = calls_from_http(request)
        if classified is None:
            unclassified.append(request.describe())
        else:
            calls.extend(classified)
    calls.extend(athena_on_behalf(recorder.operations, REGION, locations))
    return calls, unclassified


def test_every_aws_request_was_recorded(recording):
    recorder, requests, _ = recording
    from_botocore = sum(1 for r in requests if r.from_botocore)
    # Every request botocore sent reached the server through a hooked client (none escaped the hooks) ...
    assert from_botocore == recorder.sends, (from_botocore, recorder.sends)
    # ... and what did not come from botocore (the lake's pyarrow S3 client) is understood.
    _, unclassified = _all_calls(*recording)
    assert unclassified == [], "requests the IAM recorder cannot classify (extend calls_from_http):\n" + "\n".join(
        unclassified[:20])
    assert any(not r.from_botocore for r in requests), "the lake's S3 traffic should not go through botocore"


def test_the_http_classifier_agrees_with_botocore(recording):
    """Where both see a call (the raw sensor's S3 listing goes through botocore), they name the same action."""
    recorder, requests, _ = recording
    via_http = {c.action for r in requests if r.from_botocore and r.service == "s3" for c in calls_from_http(r) or []}
    via_hooks = {c.action for c in recorder.calls() if c.action.startswith("s3:")}
    assert via_http == via_hooks


def test_policy_allows_exactly_what_the_run_does(recording):
    calls, _ = _all_calls(*recording)
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.write_text(json.dumps(sorted({c.describe() for c in calls}), indent=1))
    policy = render(POLICY, PLACEHOLDERS)
    scopes = [
        f"arn:aws:s3:::{LAKE_BUCKET}/{LAKE_PREFIX}/", f"arn:aws:s3:::{RESULTS_BUCKET}/{RESULTS_PREFIX}/",
        f"arn:aws:s3:::{LAKE_BUCKET}", f"arn:aws:s3:::{RESULTS_BUCKET}",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog", f"arn:aws:glue:{REGION}:{ACCOUNT}:database/{DATABASE}",
        f"arn:aws:glue:{REGION}:{ACCOUNT}:table/{DATABASE}/",
        f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{WORKGROUP}",
        f"arn:aws:athena:{REGION}:{ACCOUNT}:datacatalog/AwsDataCatalog",
    ]
    verdict = evaluate(policy, calls, scopes, [f"{LAKE_PREFIX}/", f"{RESULTS_PREFIX}/"])
    assert verdict.ok, verdict.report(str(POLICY.relative_to(REPO))) + f"\n(all calls: {ARTIFACT})"


def test_policy_shown_in_the_readme_is_the_file():
    readme = (DEPLOY / "README.md").read_text()
    assert json.loads(POLICY.read_text()) == json.loads(
        readme.split("<!-- iam-policy -->")[1].split("```json")[1].split("```")[0])
