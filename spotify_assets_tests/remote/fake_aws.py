"""Stand-ins for the boto3 Lambda and Glue clients that run the real entry points in local subprocesses.

No AWS compute is involved (moto cannot run Python functions without Docker): ``PipesLambdaClient`` and
``PipesGlueClient`` call these exactly as they call boto3 — the same method names, keyword arguments and
response shapes — and the Pipes context and messages still travel through the (moto) S3 server.

* :class:`FakeLambdaClient` — ``invoke(FunctionName, InvocationType, Payload, LogType)`` runs the handler
  in a subprocess with that payload as the event (``lambda_runtime.py``) and answers like boto3:
  ``StatusCode``, ``ExecutedVersion``, ``Payload`` (a streaming body), ``FunctionError`` when the handler
  raised or timed out, ``LogResult`` (base64 of the last 4 KB of the log) when ``LogType="Tail"``.
* :class:`FakeGlueClient` — ``start_job_run(JobName, Arguments)`` starts the job script in a subprocess
  with Glue's ``--key value`` arguments; ``get_job_run`` reports ``RUNNING`` / ``SUCCEEDED`` / ``FAILED``
  (later polls wait up to ``long_poll_s`` for the process, so tests do not sleep through Pipes' 5 s poll);
  ``batch_stop_job_run`` kills it.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from botocore.response import StreamingBody

HERE = Path(__file__).parent
REPO = HERE.parent.parent
LAMBDA_RUNTIME = HERE / "lambda_runtime.py"
GLUE_SCRIPT = REPO / "deploy" / "glue" / "transform_job.py"
LOG_TAIL_BYTES = 4096


@dataclass
class FakeLambdaClient:
    handler: str = "spotify_assets.remote.lambda_handler.handler"
    timeout_s: float = 300.0
    env: dict[str, str] | None = None  # the function's environment (default: this process's)
    invocations: list[dict] = field(default_factory=list)  # what each invoke received, decoded
    logs: list[str] = field(default_factory=list)

    meta = SimpleNamespace(region_name="us-east-1")

    def invoke(self, *, FunctionName: str, InvocationType: str = "RequestResponse", Payload: str | bytes = b"{}",
               LogType: str = "None", **_ignored) -> dict:
        assert InvocationType == "RequestResponse", InvocationType
        payload = Payload.encode() if isinstance(Payload, str) else Payload
        self.invocations.append({"FunctionName": FunctionName, "LogType": LogType, "event": json.loads(payload)})
        with tempfile.TemporaryDirectory(prefix="fake-lambda-") as tmp:
            result_path = os.path.join(tmp, "result.json")
            timed_out = False
            try:
                done = subprocess.run(
                    [sys.executable, str(LAMBDA_RUNTIME), self.handler, result_path, FunctionName, str(self.timeout_s)],
                    input=payload, capture_output=True, timeout=self.timeout_s, env=self.env, cwd=tmp,
                )
                log = (done.stdout + done.stderr).decode(errors="replace")
            except subprocess.TimeoutExpired as exc:
                timed_out = True
                log = ((exc.stdout or b"") + (exc.stderr or b"")).decode(errors="replace")
                log += f"\nTask timed out after {self.timeout_s:.2f} seconds\n"
            self.logs.append(log)
            if timed_out:
                body = {"errorMessage": f"Task timed out after {self.timeout_s:.2f} seconds", "errorType": "Sandbox.Timedout"}
                ok = False
            elif os.path.exists(result_path):
                with open(result_path) as f:
                    result = json.load(f)
                body, ok = result["payload"], result["ok"]
            else:  # the runtime itself died (import error, out of memory…)
                body = {"errorMessage": f"Runtime exited with code {done.returncode}", "errorType": "Runtime.ExitError"}
                ok = False
        data = json.dumps(body).encode()
        response = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": StreamingBody(io.BytesIO(data), len(data)),
            "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": str(uuid.uuid4())},
        }
        if not ok:
            response["FunctionError"] = "Unhandled"
        if LogType == "Tail":
            response["LogResult"] = base64.b64encode(log.encode()[-LOG_TAIL_BYTES:]).decode()
        return response


@dataclass
class _GlueRun:
    job_name: str
    process: subprocess.Popen
    log_path: str
    started: dt.datetime
    polls: int = 0
    stopped: bool = False


@dataclass
class FakeGlueClient:
    script: Path = GLUE_SCRIPT
    env: dict[str, str] | None = None
    long_poll_s: float = 120.0
    runs: dict[str, _GlueRun] = field(default_factory=dict)
    started: list[dict] = field(default_factory=list)  # the start_job_run calls, as received

    meta = SimpleNamespace(region_name="us-east-1")

    def start_job_run(self, *, JobName: str, Arguments: dict[str, str] | None = None, **kwargs) -> dict:
        self.started.append({"JobName": JobName, "Arguments": dict(Arguments or {}), **kwargs})
        run_id = "jr_" + uuid.uuid4().hex
        argv = [sys.executable, str(self.script), "--JOB_NAME", JobName, "--JOB_RUN_ID", run_id]
        for key, value in (Arguments or {}).items():
            argv += [key, value]  # Glue hands job arguments to the script as "--key value"
        log_path = os.path.join(tempfile.mkdtemp(prefix="fake-glue-"), "output.log")
        log = open(log_path, "wb")  # noqa: SIM115 - the process owns it until it exits
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        log.close()
        self.runs[run_id] = _GlueRun(JobName, process, log_path, dt.datetime.now(dt.UTC))
        return {"JobRunId": run_id}

    def get_job_run(self, *, JobName: str, RunId: str, **_ignored) -> dict:
        run = self.runs[RunId]
        assert run.job_name == JobName
        run.polls += 1
        if run.polls > 1 and run.process.poll() is None:
            try:
                run.process.wait(timeout=self.long_poll_s)
            except subprocess.TimeoutExpired:
                pass
        code = run.process.poll()
        job_run = {"Id": RunId, "JobName": JobName, "StartedOn": run.started, "Attempt": 0}
        if code is None:
            job_run["JobRunState"] = "RUNNING"
        elif run.stopped:
            job_run["JobRunState"] = "STOPPED"
        elif code == 0:
            job_run["JobRunState"] = "SUCCEEDED"
        else:
            job_run["JobRunState"] = "FAILED"
            job_run["ErrorMessage"] = self.log(RunId).strip().splitlines()[-1:] or [f"exit code {code}"]
            job_run["ErrorMessage"] = job_run["ErrorMessage"][0]
        return {"JobRun": job_run}

    def batch_stop_job_run(self, *, JobName: str, JobRunIds: list[str]) -> dict:
        done = []
        for run_id in JobRunIds:
            run = self.runs[run_id]
            run.stopped = True
            run.process.kill()
            run.process.wait()
            done.append({"JobName": JobName, "JobRunId": run_id})
        return {"SuccessfulSubmissions": done, "Errors": []}

    def log(self, run_id: str) -> str:
        return Path(self.runs[run_id].log_path).read_text(errors="replace")
