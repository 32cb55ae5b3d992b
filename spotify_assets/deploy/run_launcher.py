"""A run launcher for one-machine deployments whose runs Dagster's run monitoring can check — also the runs
it did not launch.

Dagster's ``DefaultRunLauncher`` starts each run worker as a subprocess of the code server. If the worker
alone dies, the code server notices and marks the run failed; but if the code server dies with it (its
container restarted, the machine's OOM killer took both, a ``kill -9`` of the process group), nobody is
left to notice and the run stays STARTED forever: the daemon's run monitoring can only act on a launcher
that reports worker health, and ``DefaultRunLauncher`` reports none. Runs that no code server started —
``dagster job execute``, ``make demo``, a script calling ``execute_in_process`` — are worse off: killed, they
stay STARTED for the 4 h of ``max_runtime_seconds``, hold their day's slot in the run queue, and their
staging folder counts as a run in progress, which the next run of the day must leave alone for an hour.

:class:`MonitoredRunLauncher` is ``DefaultRunLauncher`` plus that report:

* A run a code server started (its address is in the run's ``.dagster/grpc_info`` tag): the launcher asks
  that server whether it still executes the run. A server that answers "no" (it restarted, or the worker is
  gone), or cannot be reached after a few tries, means the worker is dead.
* Any other run: the process that executes it wrote its pid in the run's first engine event ("Executing
  steps … (pid: N)"). When the instance keeps its runs in SQLite (or in memory), every process using it runs
  on this machine, so the launcher looks that process up: gone, a zombie, or a newer process that reuses the
  pid means the run is dead. With a database server (PostgreSQL), such a process may run on another machine
  or in another container, where its pid means nothing here: it is not checked (``max_runtime_seconds`` still
  applies).

A dead run is then marked failed by run monitoring (within one ``poll_interval_seconds``), ``run_failure_alert``
reports it and the run retry re-executes it. On ECS, ``EcsRunLauncher`` reports task health itself
(deploy/dagster.yaml).

Why private Dagster names: the public API has ``DefaultRunLauncher`` but not the interface a launcher
implements for run monitoring — ``CheckRunHealthResult`` and ``WorkerStatus`` (``dagster._core.launcher``) —
nor the ``.dagster/grpc_info`` tag constant the default launcher writes, nor a client to ask a code server
whether it still executes a run (``dagster._grpc``: ``DagsterGrpcClient.can_cancel_execution`` and its
request/result types), nor the run storage classes that tell whether the instance's runs stay on this
machine. Dagster's own launchers (``EcsRunLauncher`` in dagster-aws, the Docker and Kubernetes ones) import
the same names. ``spotify_assets_tests/deploy/test_run_launcher_dagster_api.py`` pins every name, signature
and attribute used here, so a Dagster upgrade that moves or changes one fails there, saying which.
"""

from __future__ import annotations

import json
import os
import time

from dagster._core.events import DagsterEventType
from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

# A process that started this long after the run's engine event that named its pid is another process
# (the pid was reused): /proc's boot time has a resolution of one second.
_PID_REUSE_SLACK_S = 2.0


class MonitoredRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` whose runs the daemon's run monitoring can check (see the module docstring)."""

    # A code server busy starting or loading code can miss a ping: try a few times before declaring
    # the run's worker lost (monitoring only acts on a definite FAILED).
    attempts = 3
    retry_wait_s = 2.0
    timeout_s = 10

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        raw = (run.tags or {}).get(GRPC_INFO_TAG)
        if raw:
            return self._ask_code_server(run, json.loads(raw))
        return self._check_own_process(run)

    # -- runs a code server started -----------------------------------------------------------------
    def _ask_code_server(self, run, info: dict) -> CheckRunHealthResult:
        from dagster._grpc.client import DagsterGrpcClient
        from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
        from dagster_shared.serdes import deserialize_value

        client = DagsterGrpcClient(port=info.get("port"), socket=info.get("socket"), host=info.get("host"),
                                   use_ssl=bool(info.get("use_ssl", False)))
        where = f"{info.get('host')}:{info.get('port') or info.get('socket')}"
        error = None
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self.retry_wait_s)
            try:
                result = deserialize_value(
                    client.can_cancel_execution(CanCancelExecutionRequest(run_id=run.run_id), timeout=self.timeout_s),
                    CanCancelExecutionResult,
                )
            except Exception as exc:  # unreachable server: its workers went with it
                error = f"{type(exc).__name__}"
                continue
            if result.can_cancel:
                return CheckRunHealthResult(WorkerStatus.RUNNING)
            return CheckRunHealthResult(
                WorkerStatus.FAILED, f"the code server at {where} no longer executes this run (its worker is gone)"
            )
        return CheckRunHealthResult(
            WorkerStatus.FAILED, f"the code server at {where} that ran this run is unreachable ({error})"
        )

    # -- runs executed by a process of their own (dagster job execute, make demo, a script) ------------
    def _check_own_process(self, run) -> CheckRunHealthResult:
        # Anything but RUNNING makes monitoring fail the run: when in doubt, RUNNING (max_runtime_seconds applies).
        if not self._runs_stay_on_this_machine():
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, "not launched through a code server, and maybe on another machine: not checked")
        started = run_process(self._instance, run.run_id)
        if started is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "its process has not reported a pid yet: not checked")
        pid, reported_at = started
        state = process_state(pid, reported_at)
        if state == "running":
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(
            WorkerStatus.FAILED,
            f"the process that executed this run outside a code server (pid {pid}: dagster job execute, "
            f"make demo or a script) is {state}",
        )

    def _runs_stay_on_this_machine(self) -> bool:
        from dagster._core.storage.runs.in_memory import InMemoryRunStorage
        from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

        return isinstance(self._instance.run_storage, SqliteRunStorage | InMemoryRunStorage)


def run_process(instance, run_id: str) -> tuple[int, float] | None:
    """``(pid, timestamp)`` of the process executing ``run_id``, from its executor's first engine event
    ("Executing steps … (pid: N)": the one with a pid and no step)."""
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT, limit=50).records:
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key:
            continue
        pid = event.engine_event_data.metadata.get("pid")
        if pid is not None and str(pid.value).isdigit():
            return int(pid.value), record.event_log_entry.timestamp
    return None


def process_state(pid: int, not_started_after: float) -> str:
    """``"running"``, or why the process ``pid`` that was running at ``not_started_after`` is not any more:
    ``"gone"``, ``"a zombie"`` (killed, not yet reaped) or ``"gone (the pid is another process now)"``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass  # another user's process exists under that pid: /proc tells more where there is one
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return "running" if not os.path.isdir("/proc/self") else "gone"  # no /proc (macOS): existence only
    if fields[0] == "Z":
        return "a zombie"
    started = _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    if started > not_started_after + _PID_REUSE_SLACK_S:
        return "gone (the pid is another process now)"
    return "running"


def _boot_time() -> float:
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("btime "):
                return float(line.split()[1])
    raise OSError("no btime in /proc/stat")
