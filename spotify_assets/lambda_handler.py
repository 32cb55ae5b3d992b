"""The serverless path: an AWS Lambda that transforms a partition as soon as its raw files land on S3.

Wire an S3 event notification (``s3:ObjectCreated:*``, prefix ``<lake prefix>/raw/``, suffix
``.jsonl.gz``) — directly, through SQS, or through EventBridge — to
``spotify_assets.lambda_handler.handler``. For each raw object ``s3://bucket/<prefix>/raw/<source>/dt=YYYY-MM-DD/<name>.jsonl.gz``
the lake root is ``s3://bucket/<prefix>`` and the partition ``YYYY-MM-DD``; the handler then runs
exactly the write–audit–publish the ``transformed_tables`` asset runs (:func:`spotify_assets.wap.transform_day`:
staged, audited by the same checks, published only when no blocking check failed — otherwise held back,
the published day untouched and the staged version kept), once per (lake, partition) in the event however
many of its files the event names. Dagster does not see these runs (no check results in its UI): the
summary this handler returns and logs is the record.

No Dagster is imported here (cold starts stay short). Choose this path *or* Dagster's
``raw_landing_sensor`` for a given lake, not both, or each partition is transformed twice (harmless —
the output is the same — but wasted work).

Concurrent invocations for one partition (several files landing together) are safe: each invocation
lists the partition's raw files before and after transforming and transforms again if they changed in
between, so the last write always reflects every file present (writes are atomic and deterministic).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
import urllib.parse
import uuid
from collections.abc import Iterator

log = logging.getLogger(__name__)
if not logging.getLogger().handlers:  # Lambda installs a handler; elsewhere make the summary visible
    logging.basicConfig(level=logging.INFO)
log.setLevel(logging.INFO)

# spotify_assets.lake.paths.RAW_SOURCES, copied so that rejecting other keys imports nothing (a test keeps them equal)
RAW_SOURCES = ("playlists", "playlist_items", "tracks", "albums", "artists", "top_tracks", "top_artists",
               "saved_tracks", "plays")
_RAW_KEY = re.compile(
    r"^(?P<prefix>(?:.*/)?)raw/(?P<source>[^/]+)/dt=(?P<partition>\d{4}-\d{2}-\d{2})/(?P<name>[^/]+)$"
)
# A partition is transformed again when its raw files changed while it was being transformed, at most:
MAX_PASSES = int(os.environ.get("SPOTIFY_LAMBDA_MAX_PASSES", "3"))


def parse_raw_object(bucket: str, key: str) -> tuple[str, str] | str:
    """``(lake_root_uri, partition)`` for a raw object, or the reason it is not one (a str)."""
    m = _RAW_KEY.match(key)
    if not m:
        return "not under raw/<source>/dt=YYYY-MM-DD/"
    name = m["name"]
    if name.startswith(("_", ".")):
        return "temporary or hidden file"
    if not name.endswith(".jsonl.gz"):
        return "not a .jsonl.gz file"
    if m["source"] not in RAW_SOURCES:
        return f"unknown raw source {m['source']!r}"
    try:
        import datetime as dt

        dt.date.fromisoformat(m["partition"])
    except ValueError:
        return f"invalid partition {m['partition']!r}"
    prefix = m["prefix"].rstrip("/")
    root = f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"
    return root, m["partition"]


def iter_s3_objects(event: dict) -> Iterator[tuple[str, str]]:
    """(bucket, decoded key) of every object named by an S3 event, an SQS batch of them, or EventBridge."""
    if not isinstance(event, dict):
        return
    detail = event.get("detail")
    if isinstance(detail, dict) and "bucket" in detail and "object" in detail:  # EventBridge "Object Created"
        yield detail["bucket"]["name"], detail["object"]["key"]  # EventBridge keys are not URL-encoded
        return
    for record in event.get("Records") or []:
        if not isinstance(record, dict):
            continue
        if "s3" in record:
            s3 = record["s3"]
            # S3 notifications URL-encode keys with '+' for spaces.
            yield s3["bucket"]["name"], urllib.parse.unquote_plus(s3["object"]["key"])
        elif isinstance(record.get("body"), str):  # SQS message carrying an S3 notification
            try:
                inner = json.loads(record["body"])
            except ValueError:
                continue
            yield from iter_s3_objects(inner)


def _make_lake(root: str):
    from spotify_assets.lake.storage import Lake

    return Lake(
        root,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None,
    )


def _raw_listing(lake, partition: str) -> tuple:
    from spotify_assets.lake.paths import raw_dir

    return tuple(
        (f.path, f.size, f.mtime)
        for source in RAW_SOURCES
        for f in lake.list_files(raw_dir(source, partition), suffix=".jsonl.gz")
    )


def transform_lake_partition(lake, partition: str) -> dict:
    """Stage, audit and publish ``partition`` (as the transformed asset does) until the raw files are stable."""
    from spotify_assets.wap import transform_day

    started = time.monotonic()
    passes = 0
    before = _raw_listing(lake, partition)
    while True:
        passes += 1
        run_id = f"lambda-{uuid.uuid4().hex[:16]}"
        outcome = transform_day(lake, partition, run_id, other_runs_in_progress=True)
        after = _raw_listing(lake, partition)
        if outcome.held_back or after == before or passes >= MAX_PASSES:
            break
        log.info("Raw files of %s changed during the transform; transforming again", partition)
        before = after
    result = outcome.result
    summary = {
        "lake": lake.uri(),
        "partition": partition,
        "raw_files": result.raw_files,
        "raw_bytes": result.raw_bytes,
        "rows": result.row_counts,
        "quarantined": result.quarantined,
        "published": not outcome.held_back,
        "passes": passes,
        "raw_stable": after == before,
        "seconds": round(time.monotonic() - started, 3),
    }
    if outcome.held_back:
        summary["held_back"] = outcome.held_back
        summary["staged"] = outcome.staging.uri()
        log.error("Held back %s of %s: %s (staged version at %s)", partition, lake.uri(), outcome.held_back,
                  outcome.staging.uri())
    else:
        summary["versions"] = {p.table: lake.uri(p.version.file) for p in outcome.published if p.zone == "transformed"}
    return summary


def handler(event: dict, context=None) -> dict:
    """Lambda entry point; returns a JSON-able summary. Raises when a transform fails (Lambda retries)."""
    targets: dict[tuple[str, str], list[str]] = {}
    ignored = []
    for bucket, key in iter_s3_objects(event):
        parsed = parse_raw_object(bucket, key)
        if isinstance(parsed, str):
            ignored.append({"object": f"s3://{bucket}/{key}", "reason": parsed})
            continue
        targets.setdefault(parsed, []).append(key)
    for item in ignored:
        log.info("Ignoring s3 object %s: %s", item["object"], item["reason"])

    processed = []
    if targets:
        from spotify_assets.lake.raw import crawl_landed
    for (root, partition), keys in sorted(targets.items()):
        lake = _make_lake(root)
        if not crawl_landed(lake, partition):  # plays land hourly from midnight; the daily run transforms the day
            log.info("Not transforming %s partition %s: only plays landed so far (the day's crawl has not)", root,
                     partition)
            processed.append({"lake": lake.uri(), "partition": partition, "published": False,
                              "skipped": "only plays landed so far; the daily run transforms the day after its crawl",
                              "triggered_by": sorted(keys)})
            continue
        log.info("Transforming %s partition %s (triggered by %d raw object(s))", root, partition, len(keys))
        try:
            summary = transform_lake_partition(lake, partition)
        except Exception:
            log.exception("Transform of %s partition %s failed", root, partition)
            raise
        summary["triggered_by"] = sorted(keys)
        processed.append(summary)
        log.info("%s", json.dumps({k: v for k, v in summary.items() if k != "written"}, sort_keys=True))

    if not processed:
        message = "No raw-zone objects (raw/<source>/dt=YYYY-MM-DD/*.jsonl.gz) in the event; nothing to do"
        log.info(message)
        return {"status": "ignored", "message": message, "processed": [], "ignored": ignored}
    return {"status": "ok", "processed": processed, "ignored": ignored}
