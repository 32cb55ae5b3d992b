"""Transformed zone assets: one day of raw responses becomes eight normalized Parquet tables, audited
before anything a consumer reads changes (write–audit–publish, :mod:`spotify_assets.wap`)."""

import datetime as dt
import os
import time

import dagster as dg
from pydantic import Field

from ..audit import blocking_failures
from ..checks import check_result, transformed_check_specs
from ..lake.publication import published_file
from ..lake.resource import LakeResource
from ..partitions import daily_partitions
from ..tables import TABLE_SOURCES, TABLES, TableSpec
from ..wap import audit_staged, hold_back_reason, publish_day, stage_day
from .metadata import column_schema, markdown_preview
from .raw import raw_asset_key

TRANSFORMED_GROUP = "transformed"
# A day's tables are expected by 09:00 UTC (the schedule runs at 06:00); past that the UI shows them late.
FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=os.environ.get("SPOTIFY_FRESHNESS_DEADLINE_CRON", "0 9 * * *"), lower_bound_delta=dt.timedelta(hours=24)
)


_IN_PROGRESS = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)


def _spec(table: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        table.name,
        deps=[raw_asset_key(s) for s in TABLE_SOURCES[table.name]],
        group_name=TRANSFORMED_GROUP,
        description=f"{table.description} Key: {', '.join(table.key)}. "
        f"Published at `transformed/{table.name}/dt=<partition>/part-00000.parquet` once the day's blocking "
        "checks passed.",
        kinds={"python", "parquet", "s3"},
        freshness_policy=FRESHNESS,
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": table.name,
            "key": ", ".join(table.key),
        },
    )


class TransformConfig(dg.Config):
    accept_empty: bool = Field(
        default=False,
        description="Publish the day even when its tables are empty although the previous day had rows "
        "(the not_empty check then passes). For a day that is empty on purpose.",
    )


def _other_runs_in_progress(context: dg.AssetExecutionContext) -> list[str]:
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/partition": context.partition_key}, statuses=list(_IN_PROGRESS)),
        limit=20,
    )
    return [r.run_id for r in runs if r.run_id != context.run_id]


@dg.multi_asset(
    specs=[_spec(t) for t in TABLES.values()],
    check_specs=transformed_check_specs(),
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
)
def transformed_tables(context: dg.AssetExecutionContext, config: TransformConfig, lake: LakeResource):
    """Stage, audit and publish one day of the transformed tables (catalog and listening).

    The raw responses are parsed, validated and normalized into the run's staging folder; records that
    cannot be parsed go to quarantine with their reason and origin, and the accounting (records in = rows
    out + quarantined + documented exclusions) is checked. The checks then read the staged version: when
    no blocking check fails, every table replaces its published file in one atomic step; otherwise the
    day is held back — consumers keep reading the previous version — and the staged files stay for
    inspection (their path is in the metadata and the error).
    """
    partition = context.partition_key
    the_lake = lake.get_lake()
    others = _other_runs_in_progress(context)
    if others:
        context.log.info(f"Other runs of {partition} in progress ({', '.join(others)}): their staged files are kept")
    started = time.perf_counter()
    result = stage_day(the_lake, partition, context.run_id, other_runs_in_progress=bool(others))
    staging = result.staging
    context.log.info(
        f"Staged {result.raw_files} raw files ({result.raw_bytes} bytes) at {staging.uri()}: rows {result.row_counts}, "
        f"quarantined {result.quarantined} ({time.perf_counter() - started:.1f} s)"
    )
    audit_started = time.perf_counter()
    checks = audit_staged(staging, accept_empty=config.accept_empty, unread_files=result.unread_files)
    failures = blocking_failures(checks)
    context.log.info(
        f"Audited the staged version: {len(checks)} checks, {len(failures)} blocking failures "
        f"({(time.perf_counter() - audit_started) * 1000:.0f} ms)"
    )
    publish_started = time.perf_counter()
    if failures:
        reason = hold_back_reason(failures)
        staged_uri = staging.hold_back(reason, {"failed_checks": [f"{o.table}.{o.check}" for o in failures]})
        context.log.error(f"Held back {partition}: {reason}. Staged version kept at {staged_uri}")
        published = {}
    else:
        published = {p.table: p for p in publish_day(staging) if p.zone == "transformed"}
        context.log.info(
            f"Published {partition} in {(time.perf_counter() - publish_started) * 1000:.0f} ms: "
            + ", ".join(f"{t} {p.action}" for t, p in published.items())
        )

    for name, spec in TABLES.items():
        table = result.tables[name]
        written = result.written[name]
        if failures:
            still_published = published_file(the_lake, "transformed", name, partition)
            publication = {
                "publication": "held back",
                "held_back_reason": reason,
                "staged_path": dg.MetadataValue.path(the_lake.uri(written.path)),
                "path": dg.MetadataValue.path(the_lake.uri(still_published)) if still_published else "none yet",
            }
        else:
            version = published[name].version
            publication = {
                "publication": "published",
                "publish_action": published[name].action,
                "version": version.version,
                "path": dg.MetadataValue.path(the_lake.uri(version.file)),
            }
        yield dg.MaterializeResult(
            asset_key=name,
            metadata={
                **publication,
                "dagster/row_count": written.rows,
                "dagster/column_schema": column_schema(spec),
                "preview": dg.MetadataValue.md(markdown_preview(table)),
                "quarantined": len(result.quarantine.get(name, [])),
                "bytes_written": written.bytes,
                "accounting": dg.MetadataValue.json(result.accounting["tables"][name]),
                "unread_raw_files": dg.MetadataValue.json(
                    [f for f in result.unread_files if f["path"].split("/")[1] in TABLE_SOURCES[name]]
                ),
            },
        )
    audited = "staged, held back" if failures else "staged, then published"
    for outcome in checks:
        extra = {"audited_version": audited}
        if failures:
            extra["staged_path"] = dg.MetadataValue.path(the_lake.uri(result.written[outcome.table].path))
        yield check_result(outcome, **extra)
    if failures:
        raise dg.Failure(
            description=f"{partition} was not published: {reason}. The previous version stays published; "
            f"the staged version is kept at {staged_uri} for inspection.",
            metadata={"staged_path": dg.MetadataValue.path(staged_uri)},
            allow_retries=False,
        )
