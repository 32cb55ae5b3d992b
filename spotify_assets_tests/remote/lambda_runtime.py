"""A stand-in for AWS Lambda's Python runtime, run as a subprocess by ``FakeLambdaClient``.

``python lambda_runtime.py <module.function> <result file>``: reads the event (JSON) from stdin, calls the
handler with a context object like Lambda's, and writes ``{"ok": true, "payload": …}`` or, when the
handler raises, Lambda's error document (``errorMessage``, ``errorType``, ``stackTrace``) with
``"ok": false`` to the result file. stdout/stderr are the function's log, framed by the START/END/REPORT
lines Lambda writes.
"""

import importlib
import json
import sys
import time
import traceback
import uuid


class LambdaContext:
    def __init__(self, function_name: str, timeout_s: float):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = "3008"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main() -> None:
    target, result_path, function_name, timeout_s = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    event = json.loads(sys.stdin.read())
    context = LambdaContext(function_name, timeout_s)
    started = time.monotonic()
    print(f"START RequestId: {context.aws_request_id} Version: $LATEST", flush=True)
    module_name, _, attr = target.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), attr)
        result = {"ok": True, "payload": handler(event, context)}
    except Exception as exc:  # what Lambda reports as an "Unhandled" function error
        traceback.print_exc()
        result = {
            "ok": False,
            "payload": {
                "errorMessage": str(exc),
                "errorType": type(exc).__name__,
                "stackTrace": traceback.format_tb(exc.__traceback__),
            },
        }
    with open(result_path, "w") as f:
        json.dump(result, f, default=str)
    elapsed = (time.monotonic() - started) * 1000
    print(f"END RequestId: {context.aws_request_id}", flush=True)
    print(f"REPORT RequestId: {context.aws_request_id}\tDuration: {elapsed:.2f} ms", flush=True)


if __name__ == "__main__":
    main()
