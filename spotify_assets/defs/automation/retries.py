"""Run retries: which failed runs the daemon re-executes, and which it must not.

A run that fails for a transient reason — a step that still fails after its own retries (a Spotify or AWS
outage), a run worker that crashed or was killed (detected by run monitoring) — is retried once,
re-executing only the failed steps and what depends on them. The instance default (``dagster.local.yaml``:
``retry_on_asset_or_op_failure: false``) keeps other runs out of step-failure retries; the pipeline's runs
opt in with :data:`RUN_RETRY_TAGS` (the jobs and the automation sensor set them), and a PERMANENT failure
opts out again: :func:`permanent_failure_hook`, attached to every asset of the pipeline, tags the run.
"""

from __future__ import annotations

import dagster as dg

from .alerts import NO_RETRY_REASON_TAG, scrub

RETRY_ON_STEP_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"
RUN_RETRY_TAGS = {
    "dagster/max_retries": "1",
    "dagster/retry_strategy": "FROM_FAILURE",
    RETRY_ON_STEP_FAILURE_TAG: "true",
}


def permanent_failure_reason(error: BaseException | None) -> str | None:
    """Why a step failure must not be retried at run level, or ``None`` when a retry may help.

    Permanent: a step that says so (``dg.Failure(allow_retries=False)``: bad or missing credentials, an
    expired refresh token, a past partition, invalid seed ids, a Retry-After beyond the ceiling) and a
    failed blocking check (re-running the check on the same data gives the same answer).
    """
    from dagster._core.errors import DagsterAssetCheckFailedError

    if isinstance(error, dg.Failure) and not error.allow_retries:
        return f"not retriable: {(error.description or type(error).__name__).splitlines()[0][:200]}"
    if isinstance(error, DagsterAssetCheckFailedError):
        return "a blocking asset check failed"
    return None


@dg.failure_hook(name="permanent_failure_blocks_run_retry")
def permanent_failure_hook(context: dg.HookContext):
    """Tag the run so the daemon's run retry skips it (the tag is read when the run's failure is stored)."""
    reason = permanent_failure_reason(context.op_exception)
    if reason is None:
        return
    reason = scrub(reason)  # tags are shown in the UI and sent in alerts: never a credential
    context.instance.add_run_tags(
        context.run_id, {RETRY_ON_STEP_FAILURE_TAG: "false", NO_RETRY_REASON_TAG: f"{context.step_key}: {reason}"}
    )
    context.log.info(f"Run will not be retried automatically: {context.step_key}: {reason}")


RUN_HOOKS = {permanent_failure_hook}
