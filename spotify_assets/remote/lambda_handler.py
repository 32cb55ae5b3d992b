"""AWS Lambda entry point of the transformed step when ``SPOTIFY_TRANSFORM_COMPUTE=lambda``.

Set the function's handler to ``spotify_assets.remote.lambda_handler.handler``. It is invoked by a Dagster run
through Dagster Pipes (``PipesLambdaClient``), never by S3 events: it stages the run's partition and
reports back; the checks and the publication stay in Dagster (see :mod:`spotify_assets.remote.staging`). Raw
files landing in ``raw/`` reach Dagster through the ``raw_landing_sensor``, which starts that run.

No Dagster import (only ``dagster_pipes``): cold starts stay short and the package small.
"""

from __future__ import annotations

import logging

from .staging import NotAPipesInvocation, lambda_handler

if not logging.getLogger().handlers:  # Lambda installs a handler; elsewhere make the log lines visible
    logging.basicConfig(level=logging.INFO)

handler = lambda_handler

__all__ = ["NotAPipesInvocation", "handler"]
