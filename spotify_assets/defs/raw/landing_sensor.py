"""The raw-landing sensor: raw files landed by other tools become materializations of the raw assets.

Anything that writes ``raw/<source>/dt=YYYY-MM-DD/<name>.jsonl.gz`` in the lake (a backfill script, a
Lambda, another extractor) is part of the pipeline's input. The sensor lists the raw zone (S3 by last
modified, or file mtimes locally), and for each source and day with new or changed files it reports a
materialization of that raw asset partition — it requests no run itself: the transformed tables follow
their raw parents through their automation condition (:mod:`..automation.conditions`), so one trigger model
decides what runs. Files our own crawl writes (``spotify_assets*.jsonl.gz``) are materialized by the crawl's
run and not reported twice.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg
from dagster_aws.s3 import S3Resource

from ... import settings
from ...aws import clients as aws
from ...lake.paths import RAW_SUFFIX, parse_raw_key
from ...lake.raw import is_extractor_file
from ...lake.resource import LakeResource
from ..automation.conditions import sensor_status
from ..partitions import daily_partitions
from .shared import raw_asset_key

log = logging.getLogger(__name__)

RAW_SENSOR_NAME = "raw_landing_sensor"


@dataclass(frozen=True)
class RawObject:
    """A raw file seen by the sensor: key relative to the lake root, mtime (epoch s), content tag."""

    key: str
    mtime: float
    tag: str  # ETag on S3, size locally

    @property
    def signature(self) -> str:
        # Any rewrite gives a new signature (new mtime, or on S3 within the same second a new ETag).
        return f"{self.key}|{self.tag}|{self.mtime!r}"


@dataclass
class RawSensorCursor:
    """The sensor's memory, stored as JSON in Dagster's cursor (survives daemon restarts).

    ``high_water``: the latest mtime seen. ``seen``: signature → mtime of every file with an mtime in the
    look-back window below ``high_water`` (files are listed from ``high_water - lookback`` on, so a file
    whose mtime lands late — an S3 multipart upload is stamped with its start time — or within the same
    second as the last tick is still noticed, and nothing is reported twice).
    """

    high_water: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> RawSensorCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                high_water=float(data.get("high_water", 0.0)),
                seen={str(k): float(v) for k, v in (data.get("seen") or {}).items()},
            )
        except (ValueError, TypeError, AttributeError):
            log.warning("raw_landing_sensor: unreadable cursor %r; starting from scratch", text[:200])
            return cls()

    def to_json(self) -> str:
        return json.dumps(
            {"high_water": self.high_water, "seen": dict(sorted(self.seen.items()))},
            sort_keys=True,
            separators=(",", ":"),
        )


def lookback_seconds() -> float:
    return settings.load().raw_sensor_lookback_s


def detect_landings(
    objects: Iterable[RawObject], cursor: RawSensorCursor, lookback: float
) -> tuple[dict[tuple[str, str], list[RawObject]], RawSensorCursor, list[str]]:
    """Pure core of the sensor: the new or changed raw files of other tools per ``(source, partition)``,
    the next cursor, and the keys it ignored (with the reason)."""
    floor = cursor.high_water - lookback
    landed: dict[tuple[str, str], list[RawObject]] = {}
    ignored: list[str] = []
    seen = dict(cursor.seen)
    high_water = cursor.high_water
    for obj in objects:
        if obj.mtime < floor or obj.signature in cursor.seen:
            continue
        seen[obj.signature] = obj.mtime
        high_water = max(high_water, obj.mtime)
        parsed = parse_raw_key(obj.key)
        if parsed is None:
            ignored.append(f"{obj.key} (not a raw file the pipeline reads)")
            continue
        source, partition, name = parsed
        if is_extractor_file(source, name):
            continue  # the run that wrote it (the crawl, raw_plays) materialized it already
        landed.setdefault((source, partition), []).append(obj)
    new_floor = high_water - lookback
    seen = {sig: m for sig, m in seen.items() if m >= new_floor}
    return landed, RawSensorCursor(high_water, seen), ignored


def list_raw_objects(lake, since: float, *, s3_client=None) -> list[RawObject]:
    """Raw-zone files modified at or after ``since`` (epoch s), keys relative to the lake.

    On S3, ``s3_client`` lists the objects (the ``s3`` resource's client; by default one made by
    :func:`spotify_assets.aws.clients.client`)."""
    if lake.is_local:
        return [RawObject(f.path, f.mtime, str(f.size)) for f in lake.list_files("raw") if f.mtime >= since]
    from dagster_aws.s3.sensor import get_objects

    bucket, _, prefix = lake.base.partition("/")
    prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    since_dt = dt.datetime.fromtimestamp(since, dt.UTC) - dt.timedelta(seconds=1) if since > 0 else None
    objects = get_objects(
        bucket, prefix=f"{prefix}raw/", since_last_modified=since_dt, client=s3_client or aws.client("s3")
    )
    found = []
    for obj in objects:
        mtime = obj["LastModified"].timestamp()
        if mtime >= since:
            found.append(RawObject(obj["Key"][len(prefix) :], mtime, str(obj.get("ETag", "")).strip('"')))
    return found


@dg.sensor(
    name=RAW_SENSOR_NAME,
    minimum_interval_seconds=settings.load().raw_sensor_interval_s,
    default_status=sensor_status(),
    description=f"Watches the raw zone (raw/<source>/dt=YYYY-MM-DD/<name>{RAW_SUFFIX}, on S3 or a local "
    "directory) for files landed by other tools and reports each new or changed source and day as a "
    "materialization of its raw asset; the transformed tables then follow through their automation "
    "condition. Files of our own crawl are not reported (its run materialized them).",
)
def raw_landing_sensor(context: dg.SensorEvaluationContext, lake: LakeResource, s3: S3Resource):
    the_lake = lake.ready_lake()  # a wrong SPOTIFY_LAKE_URI fails the tick naming it
    cursor = RawSensorCursor.from_json(context.cursor)
    lookback = lookback_seconds()
    since = max(0.0, cursor.high_water - lookback) if cursor.high_water else 0.0
    objects = list_raw_objects(the_lake, since, s3_client=None if the_lake.is_local else s3.get_client())
    landed, next_cursor, ignored = detect_landings(objects, cursor, lookback)
    for item in ignored:
        context.log.info(f"Ignoring {item}")
    events = []
    for (source, partition), objs in sorted(landed.items()):
        if not daily_partitions.has_partition_key(partition):
            context.log.info(f"{source} {partition}: outside the daily partitions, ignored")
            continue
        events.append(
            dg.AssetMaterialization(
                asset_key=raw_asset_key(source),
                partition=partition,
                description="Raw files landed by another tool.",
                metadata={
                    "files": dg.MetadataValue.json(sorted(o.key for o in objs)),
                    "landed_by": "another tool (reported by raw_landing_sensor)",
                },
            )
        )
    if not events:
        return dg.SensorResult(skip_reason=dg.SkipReason("No new or changed raw files of other tools"),
                               cursor=next_cursor.to_json())
    context.log.info(f"Reporting {len(events)} raw partition(s) landed by other tools")
    return dg.SensorResult(asset_events=events, cursor=next_cursor.to_json())
