"""Run failure alerts: one structured JSON line per failed run (the sensor's log, and a webhook).

``run_failure_alert`` reports every failed run of the code location — job, run id, partition, failed
steps, the root cause, whether the daemon will retry it — with credentials scrubbed, and POSTs the same
JSON to ``SPOTIFY_FAILURE_WEBHOOK_URL`` when set.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import urllib.parse
import urllib.request

import dagster as dg

from ... import settings
from .conditions import sensor_status

log = logging.getLogger(__name__)

FAILURE_SENSOR_NAME = "run_failure_alert"
NO_RETRY_REASON_TAG = "spotify/no_retry_reason"  # (set by .retries)
TRIGGER_TAG = "spotify/trigger"  # which schedule or sensor launched a run (set by them)


# the platform's declared secrets and AWS's own; their raw values are read here, not through settings.load(),
# because the scrubbing must work even when another setting is invalid (that failure is what gets reported)
_SECRET_ENV = (*settings.SECRET_NAMES, "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
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
        from ...spotify.redact import redact

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
        "trigger": tags.get(TRIGGER_TAG)
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
    return settings.load().failure_webhook_timeout_s


def failure_sensor_interval() -> int:
    return settings.load().failure_sensor_interval_s


@dg.run_failure_sensor(
    name=FAILURE_SENSOR_NAME,
    default_status=sensor_status(),
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
    url = settings.load().failure_webhook_url
    if url:
        ok, detail = post_webhook(url, record, timeout=webhook_timeout())
        (context.log.info if ok else context.log.warning)(detail)
        (log.info if ok else log.warning)(detail)
