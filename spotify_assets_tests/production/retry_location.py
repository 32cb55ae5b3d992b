"""A code location for the daemon tests: the production retry wiring (run tags, the permanent-failure hook,
``run_failure_alert``) over small assets that fail in controlled ways.

Loaded by ``dagster api grpc -f`` in a subprocess; ``RETRY_TEST_DIR`` is where the test and the assets
exchange markers (which attempt this is, the run worker's pid, when to go on).
"""

import os
import time
from pathlib import Path

import dagster as dg

from spotify_assets.defs.automation.alerts import run_failure_alert
from spotify_assets.defs.automation.retries import RUN_HOOKS, RUN_RETRY_TAGS

CONTROL = Path(os.environ["RETRY_TEST_DIR"])


def _attempt(name: str) -> int:
    """Count executions of ``name`` across runs (1 on the first)."""
    path = CONTROL / f"{name}.attempts"
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    return n


@dg.asset
def flaky_source():
    if _attempt("flaky_source") == 1:
        raise ConnectionError("injected transient failure: connection reset by peer")


@dg.asset(deps=[flaky_source])
def after_flaky():
    _attempt("after_flaky")


@dg.asset
def ok_first():
    _attempt("ok_first")


@dg.asset(deps=[ok_first])
def needs_credentials():
    _attempt("needs_credentials")
    raise dg.Failure(description="injected: SPOTIFY_CLIENT_SECRET not set", allow_retries=False)


@dg.asset
def checked_table():
    _attempt("checked_table")


@dg.asset_check(asset=checked_table, blocking=True)
def keys_unique():
    return dg.AssetCheckResult(passed=False, description="injected: duplicate keys")


@dg.asset(deps=[checked_table])
def after_check():
    _attempt("after_check")


@dg.asset
def long_step(context: dg.AssetExecutionContext):
    """Writes the run worker's pid, then waits (for the test to kill it) unless this is a retry. Markers
    are per test case (run tag ``test/case``, which the retry inherits)."""
    case = context.run.tags["test/case"]
    if _attempt(f"long_step-{case}") == 1:
        (CONTROL / f"long_step-{case}.pid").write_text(str(os.getpid()))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not (CONTROL / "release").exists():
            time.sleep(0.1)


@dg.asset
def cli_long_step(context: dg.AssetExecutionContext):
    """For a run executed from the CLI (``dagster job execute``): writes its run id, then waits (for the test
    to kill the CLI's process group)."""
    (CONTROL / "cli_long_step.run").write_text(context.run_id)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (CONTROL / "release").exists():
        time.sleep(0.1)


def _job(name, selection, **kwargs):
    return dg.define_asset_job(name, selection=selection, tags=RUN_RETRY_TAGS, hooks=RUN_HOOKS, **kwargs)


defs = dg.Definitions(
    assets=[flaky_source, after_flaky, ok_first, needs_credentials, checked_table, after_check, long_step,
            cli_long_step],
    asset_checks=[keys_unique],
    jobs=[
        _job("transient_job", [flaky_source, after_flaky]),
        _job("permanent_job", [ok_first, needs_credentials]),
        _job("check_job", dg.AssetSelection.assets(checked_table, after_check)),
        # In-process: the step runs inside the run worker, so killing the worker kills the step too.
        _job("killed_job", [long_step], executor_def=dg.in_process_executor),
        # The default (multiprocess) executor: the CLI process runs the executor, a child process the step.
        dg.define_asset_job("cli_killed_job", [cli_long_step]),
    ],
    sensors=[run_failure_alert],
)
