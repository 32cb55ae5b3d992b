"""What running the transformed step's staging remotely through Dagster Pipes costs over running it in process.

A demo-size day (the bundled emulator at scale ``small``, what ``make demo`` crawls) is landed on a moto S3
server; the ``transformed_tables`` step then runs ``--repeat`` times in process and ``--repeat`` times with
``SPOTIFY_TRANSFORM_COMPUTE=lambda`` semantics: ``PipesLambdaClient`` invokes the real entry point
(``spotify_assets.remote.lambda_handler.handler``) in a fresh subprocess — a cold start every time, as a new
Lambda container would have — with the Pipes messages going through S3. Each run gets a fresh lake prefix,
so every run creates the day's versions.

Printed: the step's duration (Dagster's STEP_SUCCESS) for both, medians and the difference, and for the
Pipes runs how the difference splits between the staging itself (in the subprocess) and the rest (process
start and imports, Pipes session and message round trips). Real Lambda adds its own invoke latency and,
on a cold start, the image pull; this measures what the protocol and a fresh interpreter cost.

    python benchmarks/bench_pipes.py [--repeat 3] [--scale small]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--scale", default="small", choices=["tiny", "small", "large"])
    args = parser.parse_args()

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=f"http://{host}:{port}",
    )
    import datetime as dt

    import dagster as dg

    from spotify_assets.aws import clients as aws
    from spotify_assets.defs.transformed.assets import build_transformed_tables
    from spotify_assets.defs.transformed.pipes import TransformCompute, build_pipes_lambda_client
    from spotify_assets.lake.io_manager import LakeIOManager
    from spotify_assets.lake.resource import LakeResource
    from spotify_assets.lake.storage import Lake
    from spotify_assets_tests.emulation import crawl_into_lake
    from spotify_assets_tests.remote.fake_aws import FakeLambdaClient

    day = dt.date(2026, 11, 24)
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="bench")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        crawl_into_lake(tmp, day, scale=args.scale, mode="extended")
        raw = Lake(tmp)
        files = raw.list_files("raw")
        print(f"crawled scale {args.scale}: {len(files)} raw files, {sum(f.size for f in files) / 1e6:.1f} MB "
              f"({time.perf_counter() - started:.0f} s)")
        blobs = {f.path: raw.read_bytes(f.path) for f in files}

    def run(prefix: str, compute: TransformCompute) -> tuple[float, list[str]]:
        for path, data in blobs.items():
            s3.put_object(Bucket="bench", Key=f"{prefix}/{path}", Body=data)
        uri = f"s3://bench/{prefix}"
        lake = LakeResource(root_uri=uri)
        resources = {"lake": lake, "lake_io_manager": LakeIOManager(lake=lake)}
        if compute.remote:
            resources["pipes_lambda_client"] = build_pipes_lambda_client(uri, s3_client=s3, lambda_client=FakeLambdaClient())
        defs = dg.Definitions(assets=[build_transformed_tables(compute)], resources=resources)
        with dg.instance_for_test() as instance:
            result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
                partition_key=day.isoformat(), instance=instance
            )
            step = next(e for e in result.all_events if e.event_type_value == "STEP_SUCCESS")
            logs = [e.user_message for e in instance.all_logs(result.run_id)]
        return step.event_specific_data.duration_ms / 1000, logs

    in_process, remote, stage_in_remote = [], [], []
    for i in range(args.repeat):
        seconds, logs = run(f"inproc-{i}", TransformCompute())
        in_process.append(seconds)
        seconds, logs = run(f"lambda-{i}", TransformCompute("lambda", lambda_function="bench"))
        remote.append(seconds)
        staged = next(m for m in (re.search(r"staged \S+ in ([\d.]+) s; the invocation took ([\d.]+) s", x) for x in logs) if m)
        stage_in_remote.append((float(staged.group(1)), float(staged.group(2))))
        print(f"run {i + 1}: in process {in_process[-1]:.2f} s, through Pipes (Lambda subprocess) {remote[-1]:.2f} s "
              f"(stage {staged.group(1)} s of an invocation of {staged.group(2)} s)")
    a, b = statistics.median(in_process), statistics.median(remote)
    stage = statistics.median(s for s, _ in stage_in_remote)
    invocation = statistics.median(t for _, t in stage_in_remote)
    print(f"\ntransformed step, median of {args.repeat}: in process {a:.2f} s, through Pipes {b:.2f} s: "
          f"+{b - a:.2f} s ({(b / a - 1) * 100:.0f} %)")
    print(f"  of the Pipes invocation ({invocation:.2f} s), the staging took {stage:.2f} s; process start, imports "
          f"and the Pipes session {invocation - stage:.2f} s")
    server.stop()


if __name__ == "__main__":
    main()
