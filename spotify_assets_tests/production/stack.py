"""A production-like Dagster stack outside containers: code server (``dagster api grpc``, what the image
runs), ``dagster-daemon``, and helpers to launch runs the way ``dagster job launch`` does.

Every process binds 127.0.0.1 only, runs in its own process group, and is stopped (group SIGTERM, then
SIGKILL) by its fixture.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg
import yaml

from spotify_assets_tests.processes import stop_group

from .helpers import REPO

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition: Callable[[], object], timeout: float, what: str, interval: float = 0.25,
             on_timeout: Callable[[], str] | None = None):
    """Poll ``condition`` until it returns something truthy; fail with ``what`` (and diagnostics) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            extra = on_timeout() if on_timeout else ""
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{extra}")
        time.sleep(interval)


class Service:
    """A subprocess in its own process group, its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path, cwd: Path = REPO):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return f"--- {self.name} log (tail) ---\n" + self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return f"<no {self.name} log>"

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}\n{self.log_tail()}")

    def stop(self) -> None:
        try:
            stop_group(self.proc, signal.SIGTERM, 15)
        finally:
            self._log.close()


def base_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the stack's processes: no inherited Spotify/AWS/Dagster settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "AWS_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), PYTHONUNBUFFERED="1", NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost")
    env.update(extra or {})
    return env


def grpc_command(target: list[str], location_name: str, port: int) -> list[str]:
    """``dagster api grpc`` arguments for a loopback port."""
    return ["api", "grpc", "-h", "127.0.0.1", "-p", str(port), "--location-name", location_name, *target]


def start_code_server(log_dir: Path, env: dict[str, str], command: list[str], port: int,
                      name: str = "code-server") -> Service:
    """``dagster <command>`` (a gRPC code server listening on ``port``), ready when it answers a ping."""
    from dagster._grpc.client import DagsterGrpcClient

    server = Service(name, [str(BIN / "dagster"), *command], env, log_dir)
    client = DagsterGrpcClient(port=port, host="127.0.0.1")

    def ready():
        server.check_alive()
        try:
            return client.ping("ready")
        except Exception:
            return None

    try:
        wait_for(ready, 120, "the code server to answer", interval=0.5, on_timeout=server.log_tail)
    except BaseException:
        server.stop()
        raise
    return server


def write_workspace(path: Path, port: int, location_name: str) -> Path:
    path.write_text(yaml.safe_dump({"load_from": [{"grpc_server": {
        "host": "127.0.0.1", "port": port, "location_name": location_name}}]}))
    return path


def start_daemon(log_dir: Path, env: dict[str, str], workspace: Path, instance: dg.DagsterInstance,
                 daemons: Iterable[str] | None = None) -> Service:
    """``dagster-daemon run``; ready once each daemon the instance needs has sent a heartbeat."""
    daemons = list(daemons or instance.get_required_daemon_types())
    started = time.time()
    daemon = Service("daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env, log_dir)

    def beating():
        daemon.check_alive()
        beats = instance.get_daemon_heartbeats()
        return all(name in beats and beats[name].timestamp >= started for name in daemons)

    try:
        wait_for(beating, 120, f"daemon heartbeats of {', '.join(daemons)}", interval=0.5, on_timeout=daemon.log_tail)
    except BaseException:
        daemon.stop()
        raise
    return daemon


def launch(instance: dg.DagsterInstance, workspace: Path, job: str, *, tags: dict[str, str] | None = None,
           run_config: dict | None = None):
    """What ``dagster job launch -w WORKSPACE -j JOB`` does (submitted to the instance's run coordinator:
    with the QueuedRunCoordinator, the daemon dequeues and launches it on the code server)."""
    from dagster._cli.job import execute_launch_command
    from dagster_shared.cli import WorkspaceOpts

    return execute_launch_command(
        instance=instance,
        workspace_opts=WorkspaceOpts(workspace=[str(workspace)]),
        job_name=job,
        tags=json.dumps(tags or {}),
        config_json=json.dumps(run_config) if run_config else None,
    )


def runs_in_group(instance: dg.DagsterInstance, run_id: str) -> list[dg.DagsterRun]:
    """The run and its retries, oldest first."""
    group = instance.get_run_group(run_id)
    runs = list(group[1]) if group else [instance.get_run_by_id(run_id)]
    return sorted(runs, key=lambda r: instance.get_run_record_by_id(r.run_id).create_timestamp)


def event_messages(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    out = []
    for e in instance.all_logs(run_id):
        kind = e.dagster_event.event_type_value if e.dagster_event else "LOG"
        text = (e.dagster_event.message if e.dagster_event else None) or e.user_message or ""
        error = getattr(e.dagster_event.event_specific_data, "error", None) if e.dagster_event else None
        out.append(f"{kind}: {text}" + (f" | {error.message.strip()[:300]}" if error else ""))
    return out
