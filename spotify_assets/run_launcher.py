"""A run launcher for one-machine deployments whose run workers Dagster's run monitoring can check.

Dagster's ``DefaultRunLauncher`` starts each run worker as a subprocess of the code server. If the worker
alone dies, the code server notices and marks the run failed; but if the code server dies with it (its
container restarted, the machine's OOM killer took both, a ``kill -9`` of the process group), nobody is
left to notice and the run stays STARTED forever: the daemon's run monitoring can only act on a launcher
that reports worker health, and ``DefaultRunLauncher`` reports none.

:class:`MonitoredRunLauncher` is ``DefaultRunLauncher`` plus that report: it asks the code server that
started the run (its address is in the run's ``dagster/grpc_info`` tag) whether it still executes it. A
server that answers "no" (it restarted, or the worker is gone), or cannot be reached after a few tries,
means the worker is dead; run monitoring then marks the run failed, ``run_failure_alert`` reports it and
the run retry re-executes it. On ECS, ``EcsRunLauncher`` reports task health itself (deploy/dagster.yaml).
"""

from __future__ import annotations

import json
import time

from dagster._core.launcher import CheckRunHealthResult, DefaultRunLauncher, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG


class MonitoredRunLauncher(DefaultRunLauncher):
    """``DefaultRunLauncher`` whose run workers the daemon's run monitoring can check."""

    # A code server busy starting or loading code can miss a ping: try a few times before declaring
    # the run's worker lost (monitoring only acts on a definite FAILED).
    attempts = 3
    retry_wait_s = 2.0
    timeout_s = 10

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        from dagster._grpc.client import DagsterGrpcClient
        from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
        from dagster_shared.serdes import deserialize_value

        raw = (run.tags or {}).get(GRPC_INFO_TAG)
        if not raw:
            # Not started by a code server (e.g. `make demo` executes in its own process): nothing to ask,
            # and anything but RUNNING would make monitoring fail a healthy run. max_runtime_seconds still applies.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched through a code server; not checked")
        info = json.loads(raw)
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
