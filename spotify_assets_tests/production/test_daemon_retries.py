"""Run retries and run monitoring with a real ``dagster-daemon`` and code server (the laptop instance,
``dagster.local.yaml``, with short intervals): a transient step failure is retried from failure, permanent
failures are not, a run worker killed with SIGKILL is marked failed, alerted and retried, and so is a run
executed from the CLI (``dagster job execute``) whose process group is killed — whose staging folder the next
run of the day then removes at once."""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
import yaml

from spotify_assets.defs.automation.alerts import FAILURE_SENSOR_NAME, NO_RETRY_REASON_TAG
from spotify_assets.defs.transformed.assets import transformed_tables
from spotify_assets.lake.io_manager import LakeIOManager
from spotify_assets.lake.publication.staging import Staging, staged_runs
from spotify_assets.lake.resource import LakeResource
from spotify_assets_tests.emulation import copy_raw

from .helpers import REPO
from .stack import (
    BIN,
    Service,
    base_env,
    event_messages,
    free_port,
    grpc_command,
    launch,
    runs_in_group,
    start_code_server,
    start_daemon,
    wait_for,
    write_workspace,
)

pytestmark = pytest.mark.slow  # end to end: subprocesses, several runs (pytest -m slow)

LOCATION = "retry_test"
RUN_TIMEOUT = 120


class _Capture(http.server.BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def laptop_instance_yaml() -> dict:
    """The laptop instance (dagster.local.yaml) with test-sized intervals (what is tested is the rest of it)."""
    config = yaml.safe_load((REPO / "dagster.local.yaml").read_text())
    config["run_monitoring"]["poll_interval_seconds"] = 1
    config["run_coordinator"] = {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator",
                                 "config": {"dequeue_interval_seconds": 1}}
    return config


class Stack:
    def __init__(self, instance, workspace: Path, control: Path, logs: Path, env: dict, port: int):
        self.instance, self.workspace, self.control, self.logs, self.env, self.port = (
            instance, workspace, control, logs, env, port)
        self.code_server = None
        self.daemon = None
        self.services: list = []

    def start_code_server(self, name: str = "code-server"):
        target = ["-f", str(Path(__file__).with_name("retry_location.py"))]
        self.code_server = start_code_server(self.logs, self.env, grpc_command(target, LOCATION, self.port),
                                             self.port, name=name)
        self.services.append(self.code_server)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    base = tmp_path_factory.mktemp("daemon")
    home, control, logs = base / "home", base / "control", base / "logs"
    for d in (home, control, logs):
        d.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(laptop_instance_yaml()))
    _Capture.received = []
    webhook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    env = base_env(home, {
        "RETRY_TEST_DIR": str(control),
        "SPOTIFY_AUTOMATION_DEFAULT_ON": "true",  # run_failure_alert running from the start
        "SPOTIFY_FAILURE_SENSOR_INTERVAL_S": "1",
        "SPOTIFY_FAILURE_WEBHOOK_URL": f"http://127.0.0.1:{webhook.server_address[1]}/alerts",
        "DAGSTER_EVENT_LOG_CONSUMER_DAEMON_INTERVAL_SECONDS": "1",  # the run-retry daemon's poll
    })
    instance = dg.DagsterInstance.from_config(str(home))
    # The laptop configuration turns on what these tests rely on.
    assert {"MONITORING", "EVENT_LOG_CONSUMER", "QUEUED_RUN_COORDINATOR"} <= set(instance.get_required_daemon_types())
    port = free_port()
    the_stack = Stack(instance, write_workspace(base / "workspace.yaml", port, LOCATION), control, logs, env, port)
    try:
        the_stack.start_code_server()
        the_stack.daemon = start_daemon(logs, env, the_stack.workspace, instance)
        the_stack.services.append(the_stack.daemon)
        yield the_stack
    finally:
        (control / "release").touch()
        for service in reversed(the_stack.services):
            service.stop()
        webhook.shutdown()
        webhook.server_close()
        instance.dispose()


def _diagnostics(instance, run_id, services):
    lines = [f"{r.run_id} {r.status} {r.tags}" for r in runs_in_group(instance, run_id)]
    for r in runs_in_group(instance, run_id):
        lines += [f"  {m}" for m in event_messages(instance, r.run_id)[-25:]]
    return "\n".join(lines + [s.log_tail(3000) for s in services])


def _finished_group(instance, run_id, services, expected_runs: int):
    """Wait until the run has ``expected_runs`` runs in its group, all finished, and the last one's
    retry decision is stored (dagster/will_retry on failures)."""
    def done():
        runs = runs_in_group(instance, run_id)
        last = runs[-1]
        if len(runs) < expected_runs or not all(r.is_finished for r in runs):
            return None
        if last.status == dg.DagsterRunStatus.FAILURE and "dagster/will_retry" not in last.tags:
            return None
        return runs

    return wait_for(done, RUN_TIMEOUT, f"{expected_runs} finished run(s) of {run_id}", interval=0.5,
                    on_timeout=lambda: _diagnostics(instance, run_id, services))


def test_transient_step_failure_is_retried_from_the_failed_step(stack):
    instance, workspace, control, services = stack.instance, stack.workspace, stack.control, stack.services
    run = launch(instance, workspace, "transient_job")
    first, retry = _finished_group(instance, run.run_id, services, 2)
    assert first.status == dg.DagsterRunStatus.FAILURE and first.tags["dagster/will_retry"] == "true"
    assert retry.status == dg.DagsterRunStatus.SUCCESS, _diagnostics(instance, run.run_id, services)
    assert retry.tags["dagster/retry_number"] == "1" and retry.parent_run_id == first.run_id
    # From failure: the failed step and what follows it re-ran; nothing ran twice that had succeeded.
    assert (control / "flaky_source.attempts").read_text() == "2"
    assert (control / "after_flaky.attempts").read_text() == "1"


@pytest.mark.parametrize(("job", "reason", "ran"), [
    ("permanent_job", "needs_credentials: not retriable: injected: SPOTIFY_CLIENT_SECRET not set",
     {"ok_first": "1", "needs_credentials": "1"}),
    ("check_job", "checked_table_keys_unique: a blocking asset check failed",
     {"checked_table": "1", "after_check": "0"}),
])
def test_permanent_failures_are_not_retried(stack, job, reason, ran):
    instance, workspace, services = stack.instance, stack.workspace, stack.services
    run = launch(instance, workspace, job)
    [only] = _finished_group(instance, run.run_id, services, 1)
    assert only.status == dg.DagsterRunStatus.FAILURE
    assert only.tags["dagster/will_retry"] == "false"
    assert only.tags[NO_RETRY_REASON_TAG] == reason
    # Several passes of the retry daemon (1 s interval here) later, still no retry.
    time.sleep(4)
    assert len(runs_in_group(instance, run.run_id)) == 1, _diagnostics(instance, run.run_id, services)
    for asset, attempts in ran.items():
        marker = stack.control / f"{asset}.attempts"
        assert (marker.read_text() if marker.exists() else "0") == attempts, asset


def _dead(pid: int) -> bool:
    """Gone or a zombie (killed, waiting to be reaped by init)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _kill_and_expect_retry(stack, case: str, kill) -> tuple[dg.DagsterRun, dg.DagsterRun, dict]:
    """Launch killed_job, kill its worker with ``kill(pid)`` mid-step; the run must be failed, alerted and
    retried to success. Returns (failed run, retry, alert)."""
    instance, workspace, control, services = stack.instance, stack.workspace, stack.control, stack.services
    before = len(_Capture.received)
    run = launch(instance, workspace, "killed_job", tags={"test/case": case})
    pid_file = control / f"long_step-{case}.pid"
    wait_for(pid_file.exists, RUN_TIMEOUT, "the run worker to start the long step",
             on_timeout=lambda: _diagnostics(instance, run.run_id, services))
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED
    kill(int(pid_file.read_text()))

    first, retry = _finished_group(instance, run.run_id, services, 2)
    assert first.status == dg.DagsterRunStatus.FAILURE, _diagnostics(instance, run.run_id, services)
    assert first.tags["dagster/will_retry"] == "true"
    assert retry.status == dg.DagsterRunStatus.SUCCESS, _diagnostics(instance, run.run_id, services)
    assert (control / f"long_step-{case}.attempts").read_text() == "2"

    def alerted():
        return [a for a in _Capture.received[before:] if a["run_id"] == first.run_id]

    [alert] = wait_for(alerted, 30, f"{FAILURE_SENSOR_NAME} to post the failure",
                       on_timeout=lambda: _diagnostics(instance, run.run_id, services))
    assert alert["job"] == "killed_job" and alert["will_retry"] is True
    return first, retry, alert


def test_killed_run_worker_is_failed_alerted_and_retried(stack):
    first, _, _ = _kill_and_expect_retry(stack, "worker", lambda pid: os.kill(pid, signal.SIGKILL))
    detected = "\n".join(event_messages(stack.instance, first.run_id))
    assert "terminated by signal 9 (SIGKILL)" in detected, detected  # the code server saw its worker die


def test_run_lost_with_its_code_server_is_caught_by_run_monitoring(stack):
    """The worker dies together with the code server that started it (a container restart): only the
    daemon's run monitoring, asking the restarted code server through MonitoredRunLauncher, notices."""

    def lose_the_container(pid):
        server = stack.code_server
        # The daemon is paused while the container restarts, so its monitoring asks the restarted server (as
        # when a restart is quicker than a monitoring pass); on a loaded machine the restart takes seconds and
        # the daemon would otherwise meet no server at all (the other path, covered by the launcher's tests).
        os.killpg(stack.daemon.proc.pid, signal.SIGSTOP)
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)  # the code server and its run worker, at once
            server.proc.wait(timeout=30)
            wait_for(lambda: _dead(pid), 10, f"the run worker {pid} to be gone")
            stack.start_code_server("code-server-restarted")  # same port, ready once it answers a ping
        finally:
            os.killpg(stack.daemon.proc.pid, signal.SIGCONT)

    first, _, _ = _kill_and_expect_retry(stack, "container", lose_the_container)
    detected = "\n".join(event_messages(stack.instance, first.run_id))
    assert "Detected run worker status FAILED" in detected, detected
    assert "no longer executes this run" in detected, detected


def test_a_run_executed_from_the_cli_and_killed_is_failed_and_frees_its_day(stack, crawled_raw, tmp_path):
    """``dagster job execute`` runs the executor in the CLI's own process: no code server to ask. Its process
    group is killed; run monitoring finds the run's process gone and fails the run (before: it stayed STARTED
    for max_runtime_seconds, 4 h), and the next run of the day removes the dead run's staging folder at once
    (before: kept for an hour, the dead run counting as in progress)."""
    raw_root, day = crawled_raw
    instance, services = stack.instance, stack.services
    target = str(Path(__file__).with_name("retry_location.py"))
    cli = Service("cli-run", [str(BIN / "dagster"), "job", "execute", "-f", target, "-j", "cli_killed_job",
                              "--tags", json.dumps({"dagster/partition": day})], stack.env, stack.logs)
    run_file = stack.control / "cli_long_step.run"
    try:
        wait_for(run_file.exists, RUN_TIMEOUT, "the CLI run to start its step", on_timeout=cli.log_tail)
        run_id = run_file.read_text()
        time.sleep(3)  # several monitoring passes (1 s here) over the live run: it must stay STARTED
        assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED, _diagnostics(
            instance, run_id, [*services, cli])
        lake = copy_raw(raw_root, str(tmp_path / "lake"))
        # what the run's transformed step had staged when it died
        lake.write_bytes(Staging(lake, day, run_id).file("transformed", "tracks"), b"half a day")

        killed = time.monotonic()
        os.killpg(cli.proc.pid, signal.SIGKILL)  # the CLI and its step process, at once
        cli.proc.wait(timeout=30)
        wait_for(lambda: instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE, 120,
                 "run monitoring to fail the dead CLI run", on_timeout=lambda: _diagnostics(instance, run_id, services))
        detected_s = time.monotonic() - killed
    finally:
        cli.stop()
    messages = "\n".join(event_messages(instance, run_id))
    assert "Detected run worker status FAILED" in messages, messages
    assert "executed this run outside a code server" in messages and "is gone" in messages, messages
    print(f"\na dead CLI run was marked failed {detected_s:.1f} s after the kill "
          f"(run monitoring every {laptop_instance_yaml()['run_monitoring']['poll_interval_seconds']} s)")
    assert detected_s < 30

    the_lake = LakeResource(root_uri=lake.root_uri)
    result = dg.materialize([transformed_tables], partition_key=day, instance=instance,
                            resources={"lake": the_lake, "lake_io_manager": LakeIOManager(lake=the_lake)})
    assert result.success
    assert [r.run_id for r in staged_runs(lake, day)] == [], "the dead run's staging folder must be gone"
