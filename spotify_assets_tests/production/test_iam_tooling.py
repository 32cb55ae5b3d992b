"""The pieces of the IAM verification on their own: HTTP classification, botocore mapping, evaluation."""

from __future__ import annotations

import pytest

from .aws_recording import AwsCall, HttpRequest, athena_on_behalf, calls_from_http, calls_from_operation
from .iam_policy import evaluate

AUTH = "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x"


def _http(method, path, query="", body=b"", **headers):
    return HttpRequest(method, path, query, {"authorization": AUTH, "user-agent": "aws-sdk-cpp/1.11", **headers}, body)


def test_s3_rest_requests_become_iam_actions():
    assert [c.action for c in calls_from_http(_http("PUT", "/b/lake/x", **{"x-amz-copy-source": "b/lake/_tmp-x"}))] \
        == ["s3:PutObject", "s3:GetObject"]
    [listing] = calls_from_http(_http("GET", "/b", "list-type=2&prefix=lake%2Fraw%2F&delimiter=%2F"))
    assert listing.action == "s3:ListBucket" and dict(listing.context) == {"s3:prefix": "lake/raw/"}
    body = b"<Delete><Object><Key>lake/a</Key></Object><Object><Key>lake/b</Key></Object></Delete>"
    assert [c.resource for c in calls_from_http(_http("POST", "/b", "delete=", body))] == [
        "arn:aws:s3:::b/lake/a", "arn:aws:s3:::b/lake/b"]
    assert calls_from_http(_http("DELETE", "/b/lake/x", "uploadId=1"))[0].action == "s3:AbortMultipartUpload"
    assert calls_from_http(_http("PUT", "/b/lake/x", "tagging=")) is None  # unknown: reported, never guessed


def test_botocore_operations_become_iam_actions():
    [copy_put, copy_get] = calls_from_operation("s3", "CopyObject", {
        "Bucket": "b", "Key": "lake/final", "CopySource": {"Bucket": "b", "Key": "lake/_staging/x"}}, "us-east-1", {})
    assert (copy_put.action, copy_get.resource) == ("s3:PutObject", "arn:aws:s3:::b/lake/_staging/x")
    glue = calls_from_operation("glue", "GetTable", {"DatabaseName": "d", "Name": "t"}, "us-east-1", {})
    assert [c.resource.rsplit(":", 1)[1] for c in glue] == ["catalog", "database/d", "table/d/t"]
    [invoke] = calls_from_operation("lambda", "Invoke", {"FunctionName": "transform"}, "us-east-1", {})
    assert invoke.action == "lambda:InvokeFunction" and invoke.resource.endswith(":function:transform")


def test_athena_queries_imply_glue_and_s3_access():
    ops = [("athena", "StartQueryExecution", {
        "QueryString": 'INSERT INTO "d"."top"\nSELECT t.id FROM tracks t JOIN playlist_items p ON t.id = p.id',
        "QueryExecutionContext": {"Database": "d"}, "WorkGroup": "wg",
        "ResultConfiguration": {"OutputLocation": "s3://r/athena/"}})]
    calls = athena_on_behalf(ops, "us-east-1", {"tracks": "s3://l/lake/transformed/tracks/",
                                                "top": "s3://l/lake/analytics/top/"})
    actions = {(c.action, c.resource) for c in calls}
    assert ("glue:GetPartitions", "arn:aws:glue:us-east-1:123456789012:table/d/playlist_items") in actions
    assert ("s3:GetObject", "arn:aws:s3:::l/lake/transformed/tracks/*") in actions
    assert ("glue:BatchCreatePartition", "arn:aws:glue:us-east-1:123456789012:table/d/top") in actions
    assert ("s3:PutObject", "arn:aws:s3:::l/lake/analytics/top/*") in actions
    assert ("s3:PutObject", "arn:aws:s3:::r/athena/*") in actions
    assert not any(c.resource.endswith("table/d/top") and c.action == "glue:CreateTable" for c in calls)


POLICY = {"Statement": [
    {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::b/lake/*"},
    {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b",
     "Condition": {"StringLike": {"s3:prefix": ["lake/*"]}}},
]}
SCOPES, PREFIXES = ["arn:aws:s3:::b/lake/", "arn:aws:s3:::b"], ["lake/"]


def test_evaluation_reports_missing_and_unused():
    calls = [AwsCall("s3:GetObject", "arn:aws:s3:::b/lake/x", (), "t"),
             AwsCall("s3:ListBucket", "arn:aws:s3:::b", (("s3:prefix", "lake/raw/"),), "t"),
             AwsCall("s3:ListBucket", "arn:aws:s3:::b", (("s3:prefix", "other/"),), "t"),
             AwsCall("s3:DeleteObject", "arn:aws:s3:::b/lake/x", (), "t")]
    verdict = evaluate(POLICY, calls, SCOPES, PREFIXES)
    assert {(c.action, dict(c.context).get("s3:prefix")) for c in verdict.missing} == {
        ("s3:ListBucket", "other/"), ("s3:DeleteObject", None)}
    assert verdict.unused == ["statement Objects: action s3:PutObject (no recorded call on arn:aws:s3:::b/lake/*)"]
    assert "MISSING" in verdict.report("p.json") and "UNUSED" in verdict.report("p.json")


def test_evaluation_rejects_broad_or_unknown_policies():
    broad = {"Statement": [{"Sid": "All", "Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                           {"Sid": "L", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::b"}]}
    verdict = evaluate(broad, [AwsCall("s3:GetObject", "arn:aws:s3:::b/lake/x", (), "t")], SCOPES, PREFIXES)
    assert len(verdict.scope_problems) == 3  # wildcard action, resource *, unconditioned ListBucket
    with pytest.raises(AssertionError, match="NotAction"):
        evaluate({"Statement": [{"Effect": "Allow", "NotAction": "s3:GetObject", "Resource": "*"}]}, [], SCOPES, PREFIXES)
