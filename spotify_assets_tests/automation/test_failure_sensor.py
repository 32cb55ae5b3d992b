"""run_failure_alert: one structured JSON line per failed run, POSTed to the webhook, never failing itself."""

from __future__ import annotations

import http.server
import json
import logging
import socket
import threading

import dagster as dg
import pytest

from spotify_assets.defs.automation import alerts as automation

SECRET = "sk-live-0123456789abcdef"


@dg.op
def extract_ok():
    return 1


@dg.op
def transform_boom(x):
    raise RuntimeError(f"upstream said no (Authorization: Bearer {SECRET}) for client_secret={SECRET}")


@dg.job
def failing_job():
    transform_boom(extract_ok())


class _Capture(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    _Capture.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/alerts", _Capture.received
    server.shutdown()
    server.server_close()


def _failure_context(instance):
    result = failing_job.execute_in_process(
        instance=instance, raise_on_error=False, tags={"dagster/partition": "2026-11-20"}
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    context = dg.build_run_status_sensor_context(
        sensor_name=automation.FAILURE_SENSOR_NAME,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()
    return context, run


def test_failure_line_is_structured_scrubbed_and_posted(webhook, monkeypatch, caplog):
    url, received = webhook
    monkeypatch.setenv("SPOTIFY_FAILURE_WEBHOOK_URL", url)
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", SECRET)
    sensor = automation.run_failure_alert
    with dg.instance_for_test() as instance:
        context, run = _failure_context(instance)
        record = automation.failure_record(context)
        with caplog.at_level(logging.INFO, logger="spotify_assets.defs.automation.alerts"):
            sensor(context)
    assert record["job"] == "failing_job"
    assert record["run_id"] == run.run_id
    assert record["partition"] == "2026-11-20"
    assert record["failed_steps"] == ["transform_boom"]
    assert "upstream said no" in record["error"]
    assert SECRET not in json.dumps(record)

    lines = [r.getMessage() for r in caplog.records if r.name == "spotify_assets.defs.automation.alerts"]
    logged = [json.loads(m) for m in lines if m.startswith("{")]
    assert len(logged) == 1 and logged[0]["run_id"] == run.run_id
    assert not any(SECRET in m for m in lines)
    assert not any(url in m for m in lines)  # the webhook URL may embed a token: never logged

    assert len(received) == 1
    path, content_type, body = received[0]
    assert path == "/hooks/alerts" and content_type == "application/json"
    assert {k: body[k] for k in ("job", "run_id", "partition", "failed_steps")} == {
        "job": "failing_job",
        "run_id": run.run_id,
        "partition": "2026-11-20",
        "failed_steps": ["transform_boom"],
    }
    assert SECRET not in json.dumps(body)


def _dead_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_webhook_errors_never_fail_the_sensor(monkeypatch, caplog):
    monkeypatch.setenv("SPOTIFY_FAILURE_WEBHOOK_URL", f"http://127.0.0.1:{_dead_port()}/x")
    monkeypatch.setenv("SPOTIFY_FAILURE_WEBHOOK_TIMEOUT_S", "1")
    sensor = automation.run_failure_alert
    with dg.instance_for_test() as instance:
        context, _ = _failure_context(instance)
        with caplog.at_level(logging.INFO, logger="spotify_assets.defs.automation.alerts"):
            sensor(context)  # must not raise
    assert any("webhook 127.0.0.1" in r.getMessage() and "failed" in r.getMessage() for r in caplog.records)


def test_webhook_timeout_is_bounded():
    # A server that accepts the connection and never answers.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    try:
        ok, detail = automation.post_webhook(
            f"http://127.0.0.1:{listener.getsockname()[1]}/", {"a": 1}, timeout=0.5
        )
    finally:
        listener.close()
    assert not ok and "failed" in detail
