"""The shape of the code location as readable JSON: every asset, check, job, schedule and sensor.

``python -m spotify_assets_tests.definitions_snapshot`` prints it; ``--write`` stores it in
``definitions_snapshot.json`` beside this file (``make snapshot``). It is built with the default settings:
run it in an environment without ``SPOTIFY_*`` variables (``make snapshot`` and the test see to that), since
several of them change the definitions (the crawl's cron, the automation's look-back, where the transform
runs). Descriptions and metadata are left out: they are prose, and a snapshot that changes with every
reworded sentence would be skimmed rather than read.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def _name(condition: Any) -> str:
    return condition.get_label() or condition.description or type(condition).__name__


def _condition_lines(condition: Any, depth: int = 0) -> list[str]:
    """An automation condition as an indented outline: its label where it has one, else its description."""
    lines = ["  " * depth + _name(condition)]
    for child in condition.children:
        lines += _condition_lines(child, depth + 1)
    return lines


def _partitions(partitions_def: Any) -> str | None:
    return None if partitions_def is None else str(partitions_def)


def snapshot() -> dict[str, Any]:
    """The code location's structure, sorted so that it compares line by line."""
    import dagster as dg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from spotify_assets.definitions import build_definitions

        defs = build_definitions()
        graph = defs.resolve_asset_graph()
        jobs = {job.name: defs.resolve_job_def(job.name) for job in defs.jobs or []}

    assets, conditions = {}, {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if node.automation_condition is not None:
            conditions[_name(node.automation_condition)] = _condition_lines(node.automation_condition)
        checks = {
            check_key.name: "blocking" if graph.get_check_spec(check_key).blocking else "not blocking"
            for check_key in sorted(node.check_keys, key=lambda k: k.name)
        }
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "automation_condition": _name(node.automation_condition) if node.automation_condition else None,
            "owners": sorted(node.owners),
            "tags": {k: v for k, v in sorted(node.tags.items()) if not k.startswith("dagster/kind/")},
            "io_manager_key": node.io_manager_key,
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "checks": checks,
        }
    repository = defs.get_repository_def()
    return {
        "assets": assets,
        "automation_conditions": dict(sorted(conditions.items())),
        "jobs": {
            name: {
                "assets": sorted(k.to_user_string() for k in job.asset_layer.executable_asset_keys),
                "partitions": _partitions(job.partitions_def),
                "tags": dict(sorted(job.tags.items())),
            }
            for name, job in sorted(jobs.items())
        },
        "schedules": {
            schedule.name: {
                "cron": schedule.cron_schedule,
                "timezone": schedule.execution_timezone,
                "job": None if schedule.job_name.startswith("__anonymous") else schedule.job_name,
                "assets": sorted(k.to_user_string() for k in
                                 repository.get_job(schedule.job_name).asset_layer.executable_asset_keys),
                "default_status": schedule.default_status.value,
            }
            for schedule in sorted(defs.schedules or [], key=lambda s: s.name)
        },
        "sensors": {
            sensor.name: {
                "type": type(sensor).__name__,
                "minimum_interval_seconds": sensor.minimum_interval_seconds,
                "jobs": sorted(target.job_name for target in sensor.targets if target.has_job_def),
                "default_status": sensor.default_status.value,
            }
            for sensor in sorted(defs.sensors or [], key=lambda s: s.name)
            if isinstance(sensor, dg.SensorDefinition)
        },
        "resources": sorted(defs.resources or {}),
    }


def render(value: Any, indent: int = 0) -> str:
    """JSON with one line per entry, and lists of plain values on one line (a diff then shows what changed)."""
    pad = "  " * (indent + 1)
    if isinstance(value, dict) and value:
        body = ",\n".join(f"{pad}{json.dumps(k)}: {render(v, indent + 1)}" for k, v in value.items())
        return "{\n" + body + "\n" + "  " * indent + "}"
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        return "[\n" + ",\n".join(pad + render(v, indent + 1) for v in value) + "\n" + "  " * indent + "]"
    if isinstance(value, list) and len(json.dumps(value, ensure_ascii=False)) > 100:
        return "[\n" + ",\n".join(pad + json.dumps(v, ensure_ascii=False) for v in value) + "\n" + "  " * indent + "]"
    return json.dumps(value, ensure_ascii=False)


def main(argv: list[str]) -> int:
    text = render(snapshot()) + "\n"
    if "--write" in argv:
        SNAPSHOT.write_text(text)
        print(f"wrote {SNAPSHOT}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
