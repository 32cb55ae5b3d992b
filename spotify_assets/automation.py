"""Jobs, schedules and sensors: what runs the pipeline without anyone clicking.

``build_automation()`` returns an :class:`AutomationDefs` that ``definitions.py`` splats into
``dg.Definitions(...)``:

* ``daily_job`` — the whole pipeline (raw → transformed → catalog → analytics) for one daily partition,
  with run-level retries (one retry, re-executing from the failed step).
* ``transform_job`` — everything downstream of the raw zone (transformed → catalog → analytics); the
  raw-landing sensor and backfills of past days use it (the raw zone is the source of truth for them).
* ``daily_schedule`` — ``daily_job`` for *today's* partition, at ``SPOTIFY_SCHEDULE_CRON`` (default
  ``0 6 * * *``) in ``SPOTIFY_SCHEDULE_TIMEZONE`` (default ``UTC``).
* ``plays_job`` / ``plays_schedule`` — ``raw_plays`` alone (the user's recently played tracks: the API
  remembers the last 50 only), for today's partition at ``SPOTIFY_PLAYS_SCHEDULE_CRON`` (default
  ``5 * * * *``, hourly, UTC). The plays files it lands are raw files like any other: the raw-landing
  sensor requests the day's transform (once the day's crawl has landed).
* ``raw_landing_sensor`` — requests ``transform_job`` for each partition whose raw files are new or
  changed, whoever landed them (this pipeline, a Lambda, a backfill script, another extractor).
* ``automation_sensor`` — evaluates the declarative ``AutomationCondition`` of catalog and analytics assets.
* ``run_failure_alert`` — one structured JSON line per failed run (log + optional webhook).

Everything is STOPPED by default. A laptop that loads this code location (``make dev``, tests, a
colleague browsing the lineage) must not start crawling Spotify, writing the lake or posting alerts
on its own. Production sets ``SPOTIFY_AUTOMATION_DEFAULT_ON=true`` so a fresh deployment starts its
schedule and sensors without a manual toggle; either way the UI toggle wins once it has been used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import urllib.parse
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from .lake.paths import PLAYS_SOURCE, RAW_SOURCES
from .lake.raw import crawl_landed
from .partitions import daily_partitions

log = logging.getLogger(__name__)

RAW_GROUP, TRANSFORMED_GROUP, CATALOG_GROUP, ANALYTICS_GROUP = "raw", "transformed", "catalog", "analytics"

DAILY_JOB_NAME = "daily_job"
TRANSFORM_JOB_NAME = "transform_job"
PLAYS_JOB_NAME = "plays_job"
SCHEDULE_NAME = "daily_schedule"
PLAYS_SCHEDULE_NAME = "plays_schedule"
RAW_SENSOR_NAME = "raw_landing_sensor"
AUTOMATION_SENSOR_NAME = "automation_sensor"
FAILURE_SENSOR_NAME = "run_failure_alert"

# Run-level retries (the daemon re-executes a failed run; see "When something fails" in the README):
# a run of these jobs that fails for a transient reason — a step that still fails after its own retries
# (a Spotify or AWS outage), a run worker that crashed or was killed (detected by run monitoring) — is
# retried once, re-executing only the failed steps and what depends on them. The instance default
# (dagster.yaml: retry_on_asset_or_op_failure: false) keeps ad-hoc runs from the UI out of step-failure
# retries; these jobs opt in, and PERMANENT failures opt out again per run (permanent_failure_hook).
RETRY_ON_STEP_FAILURE_TAG = "dagster/retry_on_asset_or_op_failure"
NO_RETRY_REASON_TAG = "spotify/no_retry_reason"
RUN_RETRY_TAGS = {
    "dagster/max_retries": "1",
    "dagster/retry_strategy": "FROM_FAILURE",
    RETRY_ON_STEP_FAILURE_TAG: "true",
}

# A raw file is ``raw/<source>/dt=YYYY-MM-DD/<name>.jsonl.gz`` below the lake root (DESIGN.md).
RAW_KEY = re.compile(
    r"(?:^|/)raw/(?P<source>[^/]+)/dt=(?P<partition>\d{4}-\d{2}-\d{2})/(?P<name>[^/]+\.jsonl\.gz)$"
)

# A transform step that started before this many seconds after a raw file's mtime is not trusted to
# have read it (clock skew between S3 and the Dagster host, filesystem mtime granularity).
COVERAGE_MARGIN_S = 2.0


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def automation_default_on() -> bool:
    """``SPOTIFY_AUTOMATION_DEFAULT_ON=true`` starts schedule and sensors by default (production)."""
    return _env_flag("SPOTIFY_AUTOMATION_DEFAULT_ON")


def _schedule_status() -> dg.DefaultScheduleStatus:
    return dg.DefaultScheduleStatus.RUNNING if automation_default_on() else dg.DefaultScheduleStatus.STOPPED


def _sensor_status() -> dg.DefaultSensorStatus:
    return dg.DefaultSensorStatus.RUNNING if automation_default_on() else dg.DefaultSensorStatus.STOPPED


# ---------------------------------------------------------------------------------------------------
# Jobs and schedule
# ---------------------------------------------------------------------------------------------------


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


def build_daily_job():
    return dg.define_asset_job(
        DAILY_JOB_NAME,
        selection=dg.AssetSelection.groups(RAW_GROUP, TRANSFORMED_GROUP, CATALOG_GROUP, ANALYTICS_GROUP),
        partitions_def=daily_partitions,
        tags=RUN_RETRY_TAGS,
        hooks=RUN_HOOKS,
        description="The whole pipeline for one day: crawl Spotify into the raw zone, normalize into "
        "Parquet, register in the catalog, refresh analytics. Only today's partition can be crawled; "
        "past days are rebuilt with transform_job.",
    )


def build_transform_job():
    return dg.define_asset_job(
        TRANSFORM_JOB_NAME,
        selection=dg.AssetSelection.groups(TRANSFORMED_GROUP, CATALOG_GROUP, ANALYTICS_GROUP),
        partitions_def=daily_partitions,
        tags=RUN_RETRY_TAGS,
        hooks=RUN_HOOKS,
        description="Rebuild one day from the raw zone (transformed → catalog → analytics). Requested by "
        "raw_landing_sensor when raw files land; use it to backfill past days.",
    )


def schedule_cron() -> str:
    return os.environ.get("SPOTIFY_SCHEDULE_CRON", "").strip() or "0 6 * * *"


def schedule_timezone() -> str:
    return os.environ.get("SPOTIFY_SCHEDULE_TIMEZONE", "").strip() or "UTC"


def build_daily_schedule(daily_job) -> dg.ScheduleDefinition:
    """``daily_job`` for the partition of the day the tick falls on (UTC day; partitions end today)."""
    cron, tz = schedule_cron(), schedule_timezone()

    @dg.schedule(
        name=SCHEDULE_NAME,
        job=daily_job,
        cron_schedule=cron,
        execution_timezone=tz,
        default_status=_schedule_status(),
        description=f"Crawl Spotify and rebuild today's partition ({cron}, {tz}). The Spotify API only "
        "answers for today, so each tick targets the UTC day of the tick.",
    )
    def daily_schedule(context: dg.ScheduleEvaluationContext):
        tick = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        partition = tick.astimezone(dt.UTC).date().isoformat()
        return dg.RunRequest(
            run_key=f"{partition}@{tick.astimezone(dt.UTC).strftime('%H%M')}",
            partition_key=partition,
            tags={"spotify/trigger": "schedule"},
        )

    return daily_schedule


def build_plays_job():
    return dg.define_asset_job(
        PLAYS_JOB_NAME,
        selection=dg.AssetSelection.assets(f"raw_{PLAYS_SOURCE}"),
        partitions_def=daily_partitions,
        tags=RUN_RETRY_TAGS,
        hooks=RUN_HOOKS,
        description="Land the user's plays since the last run (recently played) in the raw zone. The API "
        "remembers the last 50 plays only, hence its own, frequent schedule; raw_landing_sensor then "
        "transforms the day.",
    )


def plays_schedule_cron() -> str:
    return os.environ.get("SPOTIFY_PLAYS_SCHEDULE_CRON", "").strip() or "5 * * * *"


def build_plays_schedule(plays_job) -> dg.ScheduleDefinition:
    """``plays_job`` for the partition of the UTC day the tick falls on (the plays themselves land in the
    day they were played on, whatever the partition)."""
    cron = plays_schedule_cron()

    @dg.schedule(
        name=PLAYS_SCHEDULE_NAME,
        job=plays_job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=_schedule_status(),
        description=f"Land the user's recently played tracks ({cron}, UTC; SPOTIFY_PLAYS_SCHEDULE_CRON). Spotify "
        "remembers a user's last 50 plays only: run at least every few hours, or plays are lost.",
    )
    def plays_schedule(context: dg.ScheduleEvaluationContext):
        tick = (context.scheduled_execution_time or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        partition = tick.date().isoformat()
        return dg.RunRequest(
            run_key=f"plays-{partition}@{tick.strftime('%H%M')}",
            partition_key=partition,
            tags={"spotify/trigger": "plays_schedule"},
        )

    return plays_schedule


# ---------------------------------------------------------------------------------------------------
# Raw-landing sensor
# ---------------------------------------------------------------------------------------------------


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


def parse_raw_key(key: str) -> tuple[str, str] | None:
    """``(source, partition)`` for a raw-zone file key (relative or absolute), else ``None``."""
    name = key.rsplit("/", 1)[-1]
    if name.startswith(("_", ".")):  # temporary (atomic writes) and hidden files
        return None
    m = RAW_KEY.search(key)
    if not m:
        return None
    try:
        dt.date.fromisoformat(m["partition"])
    except ValueError:
        return None
    return m["source"], m["partition"]


@dataclass
class RawSensorCursor:
    """The sensor's memory, stored as JSON in Dagster's cursor (survives daemon restarts).

    ``high_water``: the latest mtime seen. ``seen``: signature → mtime of every file with an mtime in the
    look-back window below ``high_water`` (files are listed from ``high_water - lookback`` on, so a file
    whose mtime lands late — an S3 multipart upload is stamped with its start time — or within the same
    second as the last tick is still noticed, and nothing is reported twice). ``pending``: partitions
    with a change deferred because a run for that partition was in progress (partition → run key).
    """

    high_water: float = 0.0
    seen: dict[str, float] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> RawSensorCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            return cls(
                high_water=float(data.get("high_water", 0.0)),
                seen={str(k): float(v) for k, v in (data.get("seen") or {}).items()},
                pending={str(k): str(v) for k, v in (data.get("pending") or {}).items()},
            )
        except (ValueError, TypeError, AttributeError):
            log.warning("raw_landing_sensor: unreadable cursor %r; starting from scratch", text[:200])
            return cls()

    def to_json(self) -> str:
        return json.dumps(
            {"high_water": self.high_water, "seen": dict(sorted(self.seen.items())), "pending": self.pending},
            sort_keys=True,
            separators=(",", ":"),
        )


def lookback_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("SPOTIFY_RAW_SENSOR_LOOKBACK_S", "300")))
    except ValueError:
        return 300.0


def run_key_for(partition: str, objects: Sequence[RawObject]) -> str:
    """Deterministic per change: partition + latest mtime + a digest of the changed files' signatures."""
    latest = max(o.mtime for o in objects)
    digest = hashlib.sha1("\n".join(sorted(o.signature for o in objects)).encode()).hexdigest()[:12]
    stamp = dt.datetime.fromtimestamp(latest, dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{partition}:{stamp}:{digest}"


def detect_changes(
    objects: Iterable[RawObject], cursor: RawSensorCursor, lookback: float
) -> tuple[dict[str, list[RawObject]], RawSensorCursor, list[str]]:
    """Pure core of the sensor: the changed raw files per partition, the next cursor, skipped keys."""
    floor = cursor.high_water - lookback
    changed: dict[str, list[RawObject]] = {}
    skipped: list[str] = []
    seen = dict(cursor.seen)
    high_water = cursor.high_water
    for obj in objects:
        if obj.mtime < floor or obj.signature in cursor.seen:
            continue
        seen[obj.signature] = obj.mtime
        high_water = max(high_water, obj.mtime)
        parsed = parse_raw_key(obj.key)
        if parsed is None:
            continue
        source, partition = parsed
        if source not in RAW_SOURCES:
            skipped.append(f"{obj.key} (unknown source {source!r})")
            continue
        changed.setdefault(partition, []).append(obj)
    new_floor = high_water - lookback
    seen = {sig: m for sig, m in seen.items() if m >= new_floor}
    return changed, RawSensorCursor(high_water, seen, dict(cursor.pending)), skipped


def _s3_client():
    import boto3

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", endpoint_url=endpoint, region_name=region)


def list_raw_objects(lake, since: float, *, s3_client=None) -> list[RawObject]:
    """Raw-zone ``*.jsonl.gz`` files modified at or after ``since`` (epoch s), keys relative to the lake."""
    if lake.is_local:
        return [
            RawObject(f.path, f.mtime, str(f.size))
            for f in lake.list_files("raw", suffix=".jsonl.gz")
            if f.mtime >= since
        ]
    from dagster_aws.s3.sensor import get_objects

    bucket, _, prefix = lake.base.partition("/")
    prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    since_dt = dt.datetime.fromtimestamp(since, dt.UTC) - dt.timedelta(seconds=1) if since > 0 else None
    objects = get_objects(
        bucket, prefix=f"{prefix}raw/", since_last_modified=since_dt, client=s3_client or _s3_client()
    )
    found = []
    for obj in objects:
        key = obj["Key"]
        if not key.endswith(".jsonl.gz"):
            continue
        mtime = obj["LastModified"].timestamp()
        if mtime < since:
            continue
        found.append(RawObject(key[len(prefix) :], mtime, str(obj.get("ETag", "")).strip('"')))
    return found


_IN_PROGRESS = None


def _in_progress_statuses():
    global _IN_PROGRESS
    if _IN_PROGRESS is None:
        _IN_PROGRESS = [
            dg.DagsterRunStatus.QUEUED,
            dg.DagsterRunStatus.NOT_STARTED,
            dg.DagsterRunStatus.STARTING,
            dg.DagsterRunStatus.STARTED,
        ]
    return _IN_PROGRESS


def partition_run_in_progress(instance, partition: str) -> str | None:
    """The id of a queued/running run of daily_job or transform_job for ``partition``, if any."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(
            job_name=None,
            tags={"dagster/partition": partition},
            statuses=_in_progress_statuses(),
        ),
        limit=20,
    )
    for run in runs:
        if run.job_name in (DAILY_JOB_NAME, TRANSFORM_JOB_NAME):
            return run.run_id
    return None


def transformed_since(instance, partition: str, latest_mtime: float, probe_key: str = "tracks") -> bool:
    """True when the latest transform of ``partition`` started after the raw files' latest mtime.

    That is the daily job itself: it lands the raw files and then transforms them in the same run, so
    the sensor must not transform that partition a second time. The transform step's start time (not
    the materialization time) is what counts: a transform that started before a file landed did not read it.
    """
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(probe_key), asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return False
    record = records[0]
    run_id, step_key = record.event_log_entry.run_id, record.event_log_entry.step_key
    started = None
    try:
        stats = instance.get_run_step_stats(run_id, step_keys=[step_key] if step_key else None)
        starts = [s.start_time for s in stats if s.start_time is not None]
        started = min(starts) if starts else None
    except Exception:  # storage without step stats: fall back to the materialization time
        started = None
    if started is None:
        started = record.timestamp
    return started >= latest_mtime + COVERAGE_MARGIN_S


def build_raw_landing_sensor(
    transform_job, *, minimum_interval_seconds: int | None = None
) -> dg.SensorDefinition:
    interval = minimum_interval_seconds or int(os.environ.get("SPOTIFY_RAW_SENSOR_INTERVAL_S", "60"))

    @dg.sensor(
        name=RAW_SENSOR_NAME,
        job=transform_job,
        minimum_interval_seconds=interval,
        default_status=_sensor_status(),
        required_resource_keys={"lake"},
        description="Watches the raw zone (raw/<source>/dt=YYYY-MM-DD/*.jsonl.gz, on S3 or a local "
        "directory) and requests transform_job once per partition whose raw files are new or changed — "
        "whoever landed them. Partitions already transformed by the run that landed them are skipped; "
        "partitions with a run in progress are retried on a later tick.",
    )
    def raw_landing_sensor(context: dg.SensorEvaluationContext):
        lake = context.resources.lake.get_lake()
        cursor = RawSensorCursor.from_json(context.cursor)
        lookback = lookback_seconds()
        since = max(0.0, cursor.high_water - lookback) if cursor.high_water else 0.0
        objects = list_raw_objects(lake, since)
        changed, next_cursor, skipped = detect_changes(objects, cursor, lookback)
        for item in skipped:
            context.log.info(f"Ignoring raw file {item}")

        candidates: dict[str, tuple[str, float]] = {}
        for partition, objs in changed.items():
            candidates[partition] = (run_key_for(partition, objs), max(o.mtime for o in objs))
        for partition, key in cursor.pending.items():  # deferred earlier, newest change wins
            if partition not in candidates:
                candidates[partition] = (key, 0.0)

        requests, pending, notes = [], {}, []
        for partition in sorted(candidates):
            run_key, latest = candidates[partition]
            if not daily_partitions.has_partition_key(partition):
                notes.append(f"{partition}: outside the partitions of {TRANSFORM_JOB_NAME}, ignored")
                continue
            if not crawl_landed(lake, partition):  # plays land hourly from midnight, the crawl at SPOTIFY_SCHEDULE_CRON
                notes.append(f"{partition}: only plays landed so far; the day's crawl (daily_job) transforms it")
                continue
            running = partition_run_in_progress(context.instance, partition)
            if running:
                pending[partition] = run_key
                notes.append(f"{partition}: run {running} in progress, deferred")
                continue
            if latest and transformed_since(context.instance, partition, latest):
                notes.append(f"{partition}: already transformed after its raw files landed")
                continue
            requests.append(
                dg.RunRequest(
                    run_key=run_key,
                    partition_key=partition,
                    tags={"spotify/trigger": RAW_SENSOR_NAME, "spotify/raw_change": run_key},
                )
            )
        next_cursor.pending = pending
        for note in notes:
            context.log.info(note)
        if not requests:
            reason = "; ".join(notes) if notes else "No new or changed raw files"
            return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=next_cursor.to_json())
        return dg.SensorResult(run_requests=requests, cursor=next_cursor.to_json())

    return raw_landing_sensor


# ---------------------------------------------------------------------------------------------------
# Declarative automation
# ---------------------------------------------------------------------------------------------------


def build_automation_condition_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR_NAME,
        target=dg.AssetSelection.groups(CATALOG_GROUP, ANALYTICS_GROUP),
        default_status=_sensor_status(),
        minimum_interval_seconds=30,
        description="Evaluates the AutomationCondition (eager) of catalog and analytics assets: when a "
        "transformed partition is updated, its catalog partition and the analytics follow.",
    )


# ---------------------------------------------------------------------------------------------------
# Run failure alerts
# ---------------------------------------------------------------------------------------------------

_SECRET_ENV = (
    "SPOTIFY_CLIENT_SECRET",
    "SPOTIFY_REFRESH_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "SPOTIFY_FAILURE_WEBHOOK_URL",
)
MAX_MESSAGE_CHARS = 2000


def scrub(text: str | None) -> str:
    """Remove credentials from a message: known secret env values, bearer/basic headers, token fields."""
    if not text:
        return ""
    for name in _SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, "<redacted>")
    try:
        from .spotify.redact import redact

        text = redact(text)
    except Exception:  # pragma: no cover - redaction module unavailable
        pass
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[: MAX_MESSAGE_CHARS - 1] + "…"
    return text


def _root_cause_message(error) -> str:
    """The user's exception (Dagster wraps it in DagsterExecutionStepExecutionError), one line per cause."""
    chain = []
    while error is not None and len(chain) < 5:
        chain.append(error)
        error = error.cause or getattr(error, "context", None)
    root = chain[-1]
    message = (root.message or "").strip()
    if root is not chain[0]:
        outer = (chain[0].message or "").strip().splitlines()
        message = f"{message} (in {outer[0]})" if outer else message
    return message


def failure_record(context: dg.RunFailureSensorContext) -> dict:
    """The structured description of a failed run (JSON-able, secrets scrubbed)."""
    run = context.dagster_run
    step_events = []
    try:
        step_events = context.get_step_failure_events()
    except Exception:  # pragma: no cover - event log unavailable
        step_events = []
    failed_steps = sorted({e.step_key for e in step_events if e.step_key})
    error = None
    for event in step_events:
        data = event.step_failure_data
        if data is not None and data.error is not None:
            error = _root_cause_message(data.error)
            break
    if not error:
        error = context.failure_event.message if context.failure_event else None
    tags = run.tags or {}
    return {
        "event": "dagster_run_failure",
        "job": run.job_name,
        "run_id": run.run_id,
        "partition": tags.get("dagster/partition") or context.partition_key,
        "failed_steps": failed_steps,
        "error": scrub((error or "").strip()),
        "retry_number": int(tags.get("dagster/retry_number", "0") or 0),
        # Set by Dagster when the failure is stored: whether the daemon will re-execute the run.
        "will_retry": (tags.get("dagster/will_retry") or "").lower() == "true",
        "no_retry_reason": scrub(tags.get(NO_RETRY_REASON_TAG)) or None,
        "trigger": tags.get("spotify/trigger")
        or tags.get("dagster/schedule_name")
        or tags.get("dagster/sensor_name"),
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def post_webhook(url: str, payload: dict, *, timeout: float = 5.0) -> tuple[bool, str]:
    """POST ``payload`` as JSON; never raises. Returns (ok, short description without the URL's secrets)."""
    host = urllib.parse.urlsplit(url).netloc or "?"
    try:
        request = urllib.request.Request(
            url,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "spotify-assets-alert/1"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (operator-set URL)
            return True, f"webhook {host} answered {response.status}"
    except Exception as exc:  # any error: alerting must never fail the sensor
        return False, f"webhook {host} failed: {type(exc).__name__}: {scrub(str(exc))[:200]}"


def webhook_timeout() -> float:
    try:
        return float(os.environ.get("SPOTIFY_FAILURE_WEBHOOK_TIMEOUT_S", "5"))
    except ValueError:
        return 5.0


def failure_sensor_interval() -> int:
    try:
        return max(1, int(os.environ.get("SPOTIFY_FAILURE_SENSOR_INTERVAL_S", "30")))
    except ValueError:
        return 30


def build_run_failure_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name=FAILURE_SENSOR_NAME,
        default_status=_sensor_status(),
        minimum_interval_seconds=failure_sensor_interval(),
        description="For every failed run of this code location: one JSON line (job, run id, partition, "
        "failed steps, error — credentials scrubbed) in the sensor log, and a POST of the same JSON to "
        "SPOTIFY_FAILURE_WEBHOOK_URL when set (5 s timeout; webhook errors are logged, never raised).",
    )
    def run_failure_alert(context: dg.RunFailureSensorContext):
        record = failure_record(context)
        line = json.dumps(record, sort_keys=True)
        context.log.error(line)
        log.error(line)
        url = os.environ.get("SPOTIFY_FAILURE_WEBHOOK_URL", "").strip()
        if url:
            ok, detail = post_webhook(url, record, timeout=webhook_timeout())
            (context.log.info if ok else context.log.warning)(detail)
            (log.info if ok else log.warning)(detail)

    return run_failure_alert


# ---------------------------------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------------------------------


@dataclass
class AutomationDefs:
    jobs: list = field(default_factory=list)
    schedules: list = field(default_factory=list)
    sensors: list = field(default_factory=list)

    def as_kwargs(self) -> dict:
        return {"jobs": self.jobs, "schedules": self.schedules, "sensors": self.sensors}


def build_automation() -> AutomationDefs:
    """All jobs, schedules and sensors of the code location (``dg.Definitions(**build_automation().as_kwargs())``)."""
    daily_job = build_daily_job()
    transform_job = build_transform_job()
    plays_job = build_plays_job()
    return AutomationDefs(
        jobs=[daily_job, transform_job, plays_job],
        schedules=[build_daily_schedule(daily_job), build_plays_schedule(plays_job)],
        sensors=[
            build_raw_landing_sensor(transform_job),
            build_automation_condition_sensor(),
            build_run_failure_sensor(),
        ],
    )
