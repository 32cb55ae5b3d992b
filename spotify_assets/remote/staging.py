"""The transformed step's staging, run outside the Dagster process: in AWS Lambda or an AWS Glue job,
through Dagster Pipes.

When ``SPOTIFY_TRANSFORM_COMPUTE`` is ``lambda`` or ``glue``, the ``transformed_tables`` asset invokes
the function or starts the job (:mod:`spotify_assets.defs.transformed.pipes`) instead of transforming in its own process.
What runs there is :func:`stage_for_dagster`, the same :func:`spotify_assets.publish.wap.stage_day` an in-process
run calls: the day's raw files become its tables and quarantine files in the run's staging folder
(``_staging/dt=<day>/<Dagster run id>/``). Nothing is published here. The summary of what was staged
(:class:`~spotify_assets.publish.wap.StagedDay`: rows, bytes, quarantine counts, accounting, previews, seconds) goes
back to the Dagster run as a Pipes custom message, with log lines; Dagster then runs the checks on the
staged files and publishes or holds the day back, and reports the materializations and check results
exactly as after an in-process stage.

Entry points: :func:`lambda_handler` (``spotify_assets.remote.lambda_handler.handler``) and :func:`glue_main`
(``deploy/glue/transform_job.py``). Pipes channels: the context comes in the Lambda event or, for Glue,
from an S3 object; messages go to S3 objects under the lake's ``_staging/_pipes/`` (or, if Dagster asks
for it, to the process's output). No Dagster import here, only ``dagster_pipes``: cold starts stay short
and the deployment package small.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from dagster_pipes import (
    PipesCliArgsParamsLoader,
    PipesContext,
    PipesDefaultContextLoader,
    PipesDefaultMessageWriter,
    PipesMappingParamsLoader,
    PipesParamsLoader,
    PipesS3ContextLoader,
    PipesS3MessageWriter,
    open_dagster_pipes,
)

from ..aws import clients as aws

log = logging.getLogger(__name__)

# The custom message that carries the staged day back to Dagster.
STAGED_DAY_MESSAGE = "spotify_assets.staged_day"
# Seconds between uploads of buffered messages (log lines) while the transform runs; the last ones are
# uploaded when the Pipes session closes, whatever the interval.
MESSAGE_UPLOAD_INTERVAL_S = 2.0


class NotAPipesInvocation(ValueError):
    """The entry point was called without the Dagster Pipes parameters (not by a Dagster run)."""


def open_pipes(params_loader: PipesParamsLoader) -> PipesContext:
    """Open the Pipes session described by ``params_loader``, with the S3 loader/writer when Dagster sent
    bucket parameters and the default ones (event data, process output) otherwise."""
    if not params_loader.is_dagster_pipes_process():
        raise NotAPipesInvocation(
            "no Dagster Pipes parameters: this entry point runs the staging of the transformed_tables step "
            "of a Dagster run (SPOTIFY_TRANSFORM_COMPUTE=lambda|glue). Raw files landing on S3 are picked up "
            "by the raw_landing_sensor, which starts such a run; do not wire S3 events to this function."
        )
    if PipesContext.is_initialized() and PipesContext.get().is_closed:
        # A warm Lambda container keeps module state: the previous invocation's (closed) session would be
        # returned by open_dagster_pipes instead of a new one.
        PipesContext.set(None)  # type: ignore[arg-type]
    context_params = params_loader.load_context_params()
    message_params = params_loader.load_messages_params()
    s3 = aws.client("s3") if "bucket" in context_params or "bucket" in message_params else None
    return open_dagster_pipes(
        params_loader=params_loader,
        context_loader=PipesS3ContextLoader(s3) if "bucket" in context_params else PipesDefaultContextLoader(),
        message_writer=PipesS3MessageWriter(s3, interval=MESSAGE_UPLOAD_INTERVAL_S)
        if "bucket" in message_params
        else PipesDefaultMessageWriter(),
    )


def stage_for_dagster(
    pipes: PipesContext, lake_uri: str, *, region: str | None = None, other_runs_in_progress: bool = False
) -> dict:
    """Stage the Pipes context's partition for its run into ``lake_uri`` (in ``region``: the lake's, as the
    Dagster side resolved it); report the staged day to Dagster.

    Returns the :class:`~spotify_assets.publish.wap.StagedDay` as JSON (also sent as the custom message)."""
    from ..lake.storage import Lake
    from ..publish.wap import stage_day, summarize

    partition, run_id = pipes.partition_key, pipes.run_id
    lake = Lake(lake_uri, region=region)
    pipes.log.info(f"Staging {partition} of {lake.uri()} for run {run_id}")
    started = time.perf_counter()
    result = stage_day(lake, partition, run_id, other_runs_in_progress=other_runs_in_progress)
    staged = summarize(result, time.perf_counter() - started)
    pipes.log.info(staged.describe(lake))
    data = staged.to_json()
    pipes.report_custom_message({"kind": STAGED_DAY_MESSAGE, "staged_day": data})
    return data


def _reply(data: dict) -> dict:
    """A small answer for the invoker (Dagster reads the custom message, not this)."""
    return {
        "partition": data["partition"],
        "run_id": data["run_id"],
        "rows": {t: s["rows"] for t, s in data["tables"].items()},
        "seconds": round(data["seconds"], 3),
    }


def _arguments(source: Mapping[str, Any]) -> dict[str, Any]:
    """The asset's arguments (``lake_uri``, ``region``, ``other_runs_in_progress``), checked."""
    lake_uri = source.get("lake_uri")
    if not isinstance(lake_uri, str) or not lake_uri:
        raise ValueError("no lake_uri (s3://bucket/prefix of the lake) from the Dagster asset")
    region = source.get("region")
    return {
        "lake_uri": lake_uri,
        "region": region if isinstance(region, str) and region else None,
        "other_runs_in_progress": bool(source.get("other_runs_in_progress")),
    }


def lambda_handler(event: Mapping[str, Any], context: Any = None) -> dict:
    """AWS Lambda entry point: the event is what ``PipesLambdaClient`` sends — ``lake_uri``, ``region`` and
    ``other_runs_in_progress`` from the asset, plus the Pipes bootstrap parameters."""
    if not isinstance(event, Mapping):
        raise NotAPipesInvocation(f"expected a JSON object as the event, got {type(event).__name__}")
    loader = PipesMappingParamsLoader(event)
    with open_pipes(loader) as pipes:
        data = stage_for_dagster(pipes, **_arguments(event))
    return _reply(data)


def glue_main() -> dict:
    """AWS Glue job entry point: the Pipes parameters are the job run's ``--dagster-pipes-*`` arguments;
    ``lake_uri``, ``region`` and ``other_runs_in_progress`` come as extras of the Pipes context."""
    loader = PipesCliArgsParamsLoader()
    with open_pipes(loader) as pipes:
        data = stage_for_dagster(pipes, **_arguments(pipes.extras))
    return _reply(data)
