"""AWS Glue job script of the transformed step (SPOTIFY_TRANSFORM_COMPUTE=glue).

Started by a Dagster run through Dagster Pipes (``PipesGlueClient``), with the job run arguments
``--dagster-pipes-context`` and ``--dagster-pipes-messages``: it stages the run's partition of the lake
named in the Pipes context and reports what it staged; the checks and the publication stay in Dagster.
The ``spotify_assets`` wheel and its runtime dependencies come with the job's
``--additional-python-modules`` (see docs/serverless.md). Not for S3 events or manual runs: without the
Pipes arguments it stops with a message saying so.
"""

from spotify_assets.remote.staging import glue_main

glue_main()
