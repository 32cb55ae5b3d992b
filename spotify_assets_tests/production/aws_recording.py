"""Recording every AWS API action a run makes, as IAM sees it.

Two recorders, because not every AWS call goes through botocore:

* :class:`BotocoreRecorder` — botocore event hooks on every client created while it is active
  (``before-parameter-build`` gives the operation and its parameters, ``before-send`` counts the HTTP
  requests). Glue, Athena and the raw sensor's S3 listing go through botocore.
* :class:`RecordingMoto` — a moto server whose WSGI app records every HTTP request it receives. The lake's
  reads and writes go through pyarrow's S3 filesystem (the AWS C++ SDK), which botocore hooks never see;
  those requests are classified from the HTTP method, path and query. It also proves the hooks complete:
  each request a botocore client sent must have been counted by the hooks.

:func:`athena_on_behalf` adds what Athena does with the caller's permissions while it runs a query
(reading tables and partitions from Glue and S3, writing results and table data), which no client-side
recording can see.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

ACCOUNT = "123456789012"  # moto's account


@dataclass(frozen=True)
class AwsCall:
    """One IAM authorization: an action on a resource (with the condition keys IAM would see)."""

    action: str
    resource: str
    context: tuple[tuple[str, str], ...] = ()
    origin: str = field(default="", compare=False)

    def describe(self) -> str:
        ctx = "".join(f" [{k}={v!r}]" for k, v in self.context)
        return f"{self.action} on {self.resource}{ctx}  (from {self.origin})"


# -- ARNs ---------------------------------------------------------------------------------------------------
def s3_object(bucket: str, key: str) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


def s3_bucket(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def glue_arns(region: str, database: str | None, table: str | None = None) -> list[str]:
    """Glue authorizes table and partition calls on the catalog, the database and the table."""
    arns = [f"arn:aws:glue:{region}:{ACCOUNT}:catalog"]
    if database:
        arns.append(f"arn:aws:glue:{region}:{ACCOUNT}:database/{database}")
        if table:
            arns.append(f"arn:aws:glue:{region}:{ACCOUNT}:table/{database}/{table}")
    return arns


def athena_workgroup(region: str, workgroup: str | None) -> str:
    return f"arn:aws:athena:{region}:{ACCOUNT}:workgroup/{workgroup or 'primary'}"


def split_s3_uri(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


# -- botocore operations -> IAM -----------------------------------------------------------------------------
# Operations whose IAM action is not "<service>:<operation>" (the rest are, for Glue, Athena and Lambda).
S3_ACTIONS = {
    "ListObjectsV2": "s3:ListBucket", "ListObjects": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
    "HeadObject": "s3:GetObject", "CreateMultipartUpload": "s3:PutObject", "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject", "ListParts": "s3:ListMultipartUploadParts",
    "ListMultipartUploads": "s3:ListBucketMultipartUploads", "DeleteObjects": "s3:DeleteObject",
}
IAM_PREFIX = {"lambda": "lambda", "glue": "glue", "athena": "athena", "s3": "s3", "logs": "logs", "sts": "sts"}
LAMBDA_ACTIONS = {"Invoke": "lambda:InvokeFunction", "InvokeAsync": "lambda:InvokeFunction"}


def _glue_target(op: str, p: dict) -> tuple[str | None, str | None]:
    database = p.get("DatabaseName") or (p.get("DatabaseInput") or {}).get("Name")
    if op in ("GetDatabase", "DeleteDatabase", "UpdateDatabase"):
        database = p.get("Name") or database
        return database, None
    table = p.get("TableName") or (p.get("TableInput") or {}).get("Name")
    if op in ("GetTable", "DeleteTable"):
        table = p.get("Name")
    if op in ("GetTables", "SearchTables"):
        table = "*"
    return database, table


def calls_from_operation(service: str, op: str, params: dict, region: str, workgroups: dict[str, str]) -> list[AwsCall]:
    """The IAM authorizations of one botocore API call, from its parameters."""
    origin = f"botocore {service}.{op}"
    if service == "s3":
        bucket, key = params.get("Bucket", ""), params.get("Key")
        if op in ("ListObjectsV2", "ListObjects"):
            ctx = (("s3:prefix", params.get("Prefix", "")),)
            return [AwsCall("s3:ListBucket", s3_bucket(bucket), ctx, origin)]
        if op in ("HeadBucket", "GetBucketLocation", "ListMultipartUploads", "CreateBucket"):
            return [AwsCall(S3_ACTIONS.get(op, f"s3:{op}"), s3_bucket(bucket), (), origin)]
        if op == "DeleteObjects":
            return [AwsCall("s3:DeleteObject", s3_object(bucket, o["Key"]), (), origin)
                    for o in params.get("Delete", {}).get("Objects", [])]
        if op in ("CopyObject", "UploadPartCopy"):
            source = params["CopySource"]
            if isinstance(source, dict):
                src_bucket, src_key = source["Bucket"], source["Key"]
            else:
                src_bucket, _, src_key = unquote(source.lstrip("/")).partition("/")
            return [AwsCall("s3:PutObject", s3_object(bucket, key), (), origin),
                    AwsCall("s3:GetObject", s3_object(src_bucket, src_key), (), origin)]
        return [AwsCall(S3_ACTIONS.get(op, f"s3:{op}"), s3_object(bucket, key), (), origin)]
    if service == "glue":
        if op in ("StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun"):
            return [AwsCall(f"glue:{op}", f"arn:aws:glue:{region}:{ACCOUNT}:job/{params.get('JobName')}", (), origin)]
        database, table = _glue_target(op, params)
        return [AwsCall(f"glue:{op}", arn, (), origin) for arn in glue_arns(region, database, table)]
    if service == "athena":
        if op == "GetTableMetadata":
            name = params.get("CatalogName", "AwsDataCatalog")
            return [AwsCall("athena:GetTableMetadata", f"arn:aws:athena:{region}:{ACCOUNT}:datacatalog/{name}", (),
                            origin)]
        workgroup = params.get("WorkGroup") or workgroups.get(params.get("QueryExecutionId", ""), "primary")
        return [AwsCall(f"athena:{op}", athena_workgroup(region, workgroup), (), origin)]
    if service == "lambda":
        name = params.get("FunctionName", "")
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
        return [AwsCall(LAMBDA_ACTIONS.get(op, f"lambda:{op}"), arn, (), origin)]
    return [AwsCall(f"{IAM_PREFIX.get(service, service)}:{op}", "*", (), origin + " (resource not modelled)")]


class BotocoreRecorder:
    """Hooks every botocore client created while active; optional stubs answer operations moto lacks."""

    def __init__(self, region: str, stubs: dict[tuple[str, str], object] | None = None):
        self.region = region
        self.operations: list[tuple[str, str, dict]] = []  # (service, operation, api params)
        self.sends = 0  # HTTP requests botocore actually sent
        self.stubbed = 0
        self.workgroups: dict[str, str] = {}  # query id -> workgroup
        self._stubs = stubs or {}
        self._lock = threading.Lock()

    def _on_params(self, params, model, **_):
        service = model.service_model.endpoint_prefix
        with self._lock:
            self.operations.append((service, model.name, json.loads(json.dumps(params, default=str))))

    def _on_send(self, **_):
        with self._lock:
            self.sends += 1

    def _on_after_call(self, parsed, model, **_):
        if model.name == "StartQueryExecution" and isinstance(parsed, dict) and "QueryExecutionId" in parsed:
            # The workgroup of later Get/Stop calls on this query (they only carry its id).
            with self._lock:
                for service, op, params in reversed(self.operations):
                    if (service, op) == ("athena", "StartQueryExecution"):
                        self.workgroups[parsed["QueryExecutionId"]] = params.get("WorkGroup") or "primary"
                        break

    def _hook(self, client) -> None:
        events = client.meta.events
        events.register("before-parameter-build", self._on_params)
        events.register("before-send", self._on_send)
        events.register("after-call", self._on_after_call)
        service = client.meta.service_model.endpoint_prefix
        for (stub_service, op), answer in self._stubs.items():
            if stub_service == service:
                events.register(f"before-call.{client.meta.service_model.service_id.hyphenize()}.{op}",
                                self._stub_handler(answer))

    def _stub_handler(self, answer):
        def handler(params, **_):
            with self._lock:
                self.stubbed += 1
            return answer(params)

        return handler

    @contextlib.contextmanager
    def active(self):
        import botocore.session

        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session, *args, **kwargs):
            client = original(session, *args, **kwargs)
            recorder._hook(client)
            return client

        botocore.session.Session.create_client = create_client
        try:
            yield self
        finally:
            botocore.session.Session.create_client = original

    def calls(self) -> list[AwsCall]:
        out = []
        for service, op, params in self.operations:
            out.extend(calls_from_operation(service, op, params, self.region, self.workgroups))
        return out


# -- HTTP requests -> IAM (S3 REST) -------------------------------------------------------------------------
@dataclass
class HttpRequest:
    method: str
    path: str  # raw, percent-encoded
    query: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def service(self) -> str:
        auth = self.headers.get("authorization", "")
        m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
        if not m:
            m = re.search(r"X-Amz-Credential=[^&]*?%2F\d{8}%2F([^%]+)%2F([^%]+)%2F", self.query)
        return m.group(2) if m else "unknown"

    @property
    def region(self) -> str:
        m = re.search(r"Credential=[^/]+/\d{8}/([^/]+)/", self.headers.get("authorization", ""))
        return m.group(1) if m else "us-east-1"

    @property
    def from_botocore(self) -> bool:
        return "botocore/" in self.headers.get("user-agent", "").lower()

    def describe(self) -> str:
        agent = self.headers.get("user-agent", "?").split(" ")[0]
        return f"HTTP {self.method} {self.path}{'?' + self.query if self.query else ''} ({agent})"


def calls_from_http(request: HttpRequest) -> list[AwsCall] | None:
    """IAM authorizations of an S3 REST request (path-style), or ``None`` when it cannot be classified."""
    if request.service != "s3":
        return None
    origin = request.describe()
    q = parse_qs(request.query, keep_blank_values=True)
    bucket, _, raw_key = request.path.lstrip("/").partition("/")
    bucket, key = unquote(bucket), unquote(raw_key)
    method = request.method
    if not key:
        if method == "GET" and ("list-type" in q or not q or set(q) <= {"prefix", "delimiter", "max-keys", "marker",
                                                                           "encoding-type", "continuation-token",
                                                                           "start-after", "fetch-owner"}):
            return [AwsCall("s3:ListBucket", s3_bucket(bucket), (("s3:prefix", q.get("prefix", [""])[0]),), origin)]
        if method == "HEAD":
            return [AwsCall("s3:ListBucket", s3_bucket(bucket), (), origin)]
        if method == "GET" and "location" in q:
            return [AwsCall("s3:GetBucketLocation", s3_bucket(bucket), (), origin)]
        if method == "GET" and "uploads" in q:
            return [AwsCall("s3:ListBucketMultipartUploads", s3_bucket(bucket), (), origin)]
        if method == "POST" and "delete" in q:
            keys = [el.text or "" for el in ET.fromstring(request.body).iter() if el.tag.endswith("Key")]
            return [AwsCall("s3:DeleteObject", s3_object(bucket, k), (), origin) for k in keys]
        return None
    target = s3_object(bucket, key)
    copy_source = request.headers.get("x-amz-copy-source")
    if method in ("GET", "HEAD") and not (set(q) - {"partNumber", "versionId", "response-content-type"}):
        return [AwsCall("s3:GetObject", target, (), origin)]
    if method == "GET" and "uploadId" in q:
        return [AwsCall("s3:ListMultipartUploadParts", target, (), origin)]
    if method == "PUT" and not (set(q) - {"partNumber", "uploadId"}):
        calls = [AwsCall("s3:PutObject", target, (), origin)]
        if copy_source:
            src_bucket, _, src_key = unquote(copy_source.lstrip("/")).partition("/")
            calls.append(AwsCall("s3:GetObject", s3_object(src_bucket, src_key.split("?versionId=")[0]), (), origin))
        return calls
    if method == "POST" and ("uploads" in q or "uploadId" in q):
        return [AwsCall("s3:PutObject", target, (), origin)]
    if method == "DELETE" and "uploadId" in q:
        return [AwsCall("s3:AbortMultipartUpload", target, (), origin)]
    if method == "DELETE" and not q:
        return [AwsCall("s3:DeleteObject", target, (), origin)]
    return None


class RecordingMoto:
    """A moto server (S3, Glue, Athena, ...) on 127.0.0.1 that records the requests it receives."""

    def __init__(self):
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        self._app = DomainDispatcherApplication(create_backend_app)
        self.requests: list[HttpRequest] = []
        self.recording = False
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    def __call__(self, environ, start_response):
        if self.recording:
            headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
            body = b""
            query = environ.get("QUERY_STRING", "")
            # Only small bodies that say which resources are touched (multi-object delete) are read here.
            if environ["REQUEST_METHOD"] == "POST" and "delete" in parse_qs(query, keep_blank_values=True):
                length = int(environ.get("CONTENT_LENGTH") or 0)
                body = environ["wsgi.input"].read(length)
                environ["wsgi.input"] = io.BytesIO(body)
            raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
            path = urlsplit(raw).path if raw else environ.get("PATH_INFO", "")
            with self._lock:
                self.requests.append(HttpRequest(environ["REQUEST_METHOD"], path, query, headers, body))
        return self._app(environ, start_response)

    def start(self) -> str:
        from moto.moto_server.werkzeug_app import MotoRequestHandler
        from werkzeug.serving import make_server

        self._server = make_server("127.0.0.1", 0, self, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._server.server_close()


# -- Athena, on the caller's behalf -------------------------------------------------------------------------
def _tables_read(sql: str) -> set[str]:
    import sqlglot
    from sqlglot import exp

    tree = sqlglot.parse_one(sql, read="trino")
    target = None
    if isinstance(tree, (exp.Insert, exp.Create)):
        target = tree.this.find(exp.Table) if tree.this is not None else None
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    names = {t.name for t in tree.find_all(exp.Table) if t is not target and t.name not in ctes}
    return names


UNLOAD = re.compile(r"^\s*UNLOAD \((?P<select>.*)\) TO '(?P<location>[^']+)'", re.DOTALL | re.IGNORECASE)


def athena_on_behalf(operations: Iterable[tuple[str, str, dict]], region: str,
                     table_locations: dict[str, str]) -> list[AwsCall]:
    """What Athena authorizes with the caller's credentials for each query it runs.

    ``table_locations``: Glue table name -> its ``s3://`` location (read from the catalog after the run).
    Athena reads each table it scans from Glue (database, table, partitions) and S3 (bucket location,
    listing under the table's location, objects), writes the query's results (and reads them back for
    GetQueryResults) under the output location, and for DDL/DML changes Glue and writes the table's data:
    CTAS creates the table and writes under its external_location; INSERT INTO writes under the table's
    location and registers new partitions; ALTER TABLE ... DROP PARTITION deletes partitions; UNLOAD writes
    its result under its TO location.
    """
    out: list[AwsCall] = []

    def s3_prefix(uri: str, origin: str, write: bool) -> None:
        bucket, prefix = split_s3_uri(uri)
        out.append(AwsCall("s3:GetBucketLocation", s3_bucket(bucket), (), origin))
        out.append(AwsCall("s3:ListBucket", s3_bucket(bucket), (("s3:prefix", prefix),), origin))
        out.append(AwsCall("s3:GetObject", s3_object(bucket, prefix + "*"), (), origin))
        if write:
            out.append(AwsCall("s3:PutObject", s3_object(bucket, prefix + "*"), (), origin))
            out.append(AwsCall("s3:AbortMultipartUpload", s3_object(bucket, prefix + "*"), (), origin))
            out.append(AwsCall("s3:ListMultipartUploadParts", s3_object(bucket, prefix + "*"), (), origin))
            out.append(AwsCall("s3:ListBucketMultipartUploads", s3_bucket(bucket), (), origin))

    def glue(actions: Iterable[str], database: str, table: str, origin: str) -> None:
        for action in actions:
            # Database calls are authorized on the catalog and the database only.
            arns = glue_arns(region, database, None if action == "glue:GetDatabase" else table)
            out.extend(AwsCall(action, arn, (), origin) for arn in arns)

    outputs: dict[str, str] = {}
    for service, op, params in operations:
        if service != "athena":
            continue
        if op == "StartQueryExecution":
            sql = params["QueryString"]
            origin = "Athena on the caller's behalf: " + " ".join(sql.split())[:90]
            database = (params.get("QueryExecutionContext") or {}).get("Database")
            output = (params.get("ResultConfiguration") or {}).get("OutputLocation")
            if output:
                outputs[params.get("WorkGroup") or "primary"] = output
                s3_prefix(output if output.endswith("/") else output + "/", origin, write=True)
            statement = sql.lstrip().split(None, 2)
            kind = " ".join(statement[:2]).upper()
            unload = UNLOAD.match(sql)
            if unload:  # UNLOAD (<select>) TO '<s3 folder>': reads the select's tables, writes the folder
                s3_prefix(unload["location"], origin, write=True)
                sql = unload["select"]
            for table in _tables_read(sql):
                glue(["glue:GetDatabase", "glue:GetTable", "glue:GetPartitions"], database, table, origin)
                if table in table_locations:
                    s3_prefix(table_locations[table], origin, write=False)
            target = re.search(r'^\s*(?:CREATE TABLE|INSERT INTO|ALTER TABLE)\s+(?:"[^"]+"\.)?"?([A-Za-z0-9_]+)"?', sql,
                               re.I)
            if kind == "CREATE TABLE" and target:
                glue(["glue:GetDatabase", "glue:GetTable", "glue:CreateTable"], database, target.group(1), origin)
                location = re.search(r"external_location\s*=\s*'([^']+)'", sql, re.I)
                if location:
                    s3_prefix(location.group(1), origin, write=True)
            elif kind == "INSERT INTO" and target:
                glue(["glue:GetTable", "glue:GetPartitions", "glue:BatchCreatePartition"], database,
                     target.group(1), origin)
                if target.group(1) in table_locations:
                    s3_prefix(table_locations[target.group(1)], origin, write=True)
            elif kind == "ALTER TABLE" and target and "DROP" in sql.upper():
                glue(["glue:GetTable", "glue:GetPartition", "glue:BatchDeletePartition"], database,
                     target.group(1), origin)
        elif op == "GetQueryResults":
            # The result file is read from S3 with the caller's permissions.
            output = next(iter(outputs.values()), None)
            if output:
                bucket, prefix = split_s3_uri(output if output.endswith("/") else output + "/")
                out.append(AwsCall("s3:GetObject", s3_object(bucket, prefix + "*"), (),
                                   "Athena on the caller's behalf: GetQueryResults reads the result file"))
        elif op == "GetTableMetadata":
            glue(["glue:GetDatabase", "glue:GetTable"], params["DatabaseName"], params["TableName"],
                 "Athena on the caller's behalf: GetTableMetadata reads Glue")
    return out
