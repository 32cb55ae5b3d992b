"""Transformed zone assets: one day of raw responses becomes eight normalized Parquet tables, audited
before anything a consumer reads changes (write–audit–publish, :mod:`spotify_assets.publish.wap`).

The staging may run in this process, in AWS Lambda or in an AWS Glue job (:mod:`spotify_assets.defs.transformed.pipes`,
``SPOTIFY_TRANSFORM_COMPUTE``); the audit and the publication always run here. Downstream Python assets
load the published tables through the ``lake_io_manager`` (:mod:`spotify_assets.lake.io_manager`).
"""

import datetime as dt
import time

import dagster as dg
from pydantic import Field

from ... import settings
from ...lake.io_manager import LAKE_IO_MANAGER_KEY
from ...lake.paths import CRAWL_SOURCES
from ...lake.publication.manifests import published_file
from ...lake.resource import LakeResource
from ...publish.audit import blocking_failures
from ...publish.wap import StagedDay, audit_staged, hold_back_reason, publish_day, stage_day, summarize
from ...tables import TABLE_SOURCES, TABLES, TableSpec
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..metadata import column_schema
from ..partitions import daily_partitions
from ..raw.shared import raw_asset_key
from .checks import check_result, transformed_check_specs
from .pipes import TransformCompute, stage_remotely

# A day's tables are expected by 09:00 UTC (the schedule runs at 06:00); past that the UI shows them late.
FRESHNESS = dg.FreshnessPolicy.cron(
    deadline_cron=settings.load().freshness_deadline_cron, lower_bound_delta=dt.timedelta(hours=24)
)


_IN_PROGRESS = (
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)


# Plays land hourly from midnight, the crawl once a day: a day is transformed once its crawl landed (before,
# the audit would only hold it back), then again whenever a parent changes (each hour's plays).
_CONDITION = (
    conditions.follow_parents()
    & conditions.day_landed([raw_asset_key(s) for s in CRAWL_SOURCES], "the day's crawl landed")
).with_label("follow parents once the day's crawl landed")


# Shown on every table's page, where a person clicks Materialize and sees all the tables selected.
ATOMIC_DAY = (
    f"**A day's {len(TABLES)} tables publish together.** One step (`transformed_tables`) stages the day's "
    "tables, audits them and publishes all of them or none, so Materialize on one table selects them all, "
    "with their checks. The checks audit the staged version inside that step, before anything is "
    "published, so they cannot be executed on their own: materialize the day again to re-run them. To "
    "rebuild a day: Materialize → the day (or `transform_job`, which also refreshes the catalog, "
    "analytics and insights of that day)."
)


def _spec(table: TableSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        table.name,
        deps=[raw_asset_key(s) for s in TABLE_SOURCES[table.name]],
        group_name=groups.TRANSFORMED,
        description=f"{table.description} Key: {', '.join(table.key)}. "
        f"Published at `transformed/{table.name}/dt=<partition>/` (the manifest `_published.json` names the "
        "current version) once the day's blocking checks passed. Python assets load it as a pandas DataFrame "
        f"or an Arrow table through the `lake_io_manager`.\n\n{ATOMIC_DAY}",
        kinds={"python", "parquet", "s3"},
        freshness_policy=FRESHNESS,
        automation_condition=_CONDITION,
        metadata={
            "dagster/column_schema": column_schema(table),
            "dagster/table_name": table.name,
            "key": ", ".join(table.key),
        },
    ).with_io_manager_key(LAKE_IO_MANAGER_KEY)


class TransformConfig(dg.Config):
    accept_empty: bool = Field(
        default=False,
        description="Publish the day even when its tables are empty although the previous day had rows "
        "(the not_empty check then passes). For a day that is empty on purpose.",
    )
    accept_raw_loss: bool = Field(
        default=False,
        description="Publish the day even when raw files were damaged beyond SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE "
        "or cut short (the raw_data_loss_within_limit check then passes, saying so). For a day whose raw data "
        "cannot be repaired: the Spotify API has no history to fetch it again.",
    )
    in_process: bool = Field(
        default=False,
        description="Stage the day in this step's process even when SPOTIFY_TRANSFORM_COMPUTE sends the "
        "transform to AWS Lambda or Glue (e.g. while the function is being repaired).",
    )


def _other_runs_in_progress(context: dg.AssetExecutionContext) -> list[str]:
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(tags={"dagster/partition": context.partition_key}, statuses=list(_IN_PROGRESS)),
        limit=20,
    )
    return [r.run_id for r in runs if r.run_id != context.run_id]


_DESCRIPTION = """Stage, audit and publish one day of the transformed tables (catalog and listening), as one.

The raw responses are parsed, validated and normalized into the run's staging folder — in this process,
or in AWS Lambda / an AWS Glue job through Dagster Pipes when SPOTIFY_TRANSFORM_COMPUTE says so; records
that cannot be parsed or hold a value no valid record can have go to quarantine with their reason and
origin, and so do the rows that name them ("parent quarantined"); the bytes of damaged raw files that could
not be decoded are counted per file (metadata `raw_data_lost`), and the accounting (records in = rows out +
quarantined + documented exclusions) is checked. The checks then read the staged version: when no blocking
check fails, every table's manifest switches to the new version in one atomic step; otherwise the day is
held back — consumers keep reading the previous version — and the staged files stay for inspection (their
path is in the metadata and the error). Records fail, days pass: a day is held back only when the day is
wrong (too much quarantined or lost, a table empty, a broken key or reference).
"""


def build_transformed_tables(compute: TransformCompute | None = None) -> dg.AssetsDefinition:
    """The ``transformed_tables`` multi-asset, staging where ``compute`` says (default: in process).

    A remote ``compute`` makes the asset require its Pipes client resource (``pipes_lambda_client`` or
    ``pipes_glue_client``, see :mod:`spotify_assets.defs.resources`); in process it requires only ``lake``.
    """
    compute = compute or TransformCompute()
    required = {"lake"} | ({compute.resource_key} if compute.resource_key else set())

    @dg.multi_asset(
        name="transformed_tables",
        specs=[_spec(t) for t in TABLES.values()],
        check_specs=transformed_check_specs(),
        partitions_def=daily_partitions,
        hooks=RUN_HOOKS,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        required_resource_keys=required,
        description=_DESCRIPTION,
    )
    def transformed_tables(context: dg.AssetExecutionContext, config: TransformConfig):
        lake: LakeResource = context.resources.lake
        client = getattr(context.resources, compute.resource_key) if compute.resource_key else None
        yield from _stage_audit_publish(context, config, lake, compute, client)

    return transformed_tables


def _stage(context, config: TransformConfig, the_lake, compute: TransformCompute, client, others) -> tuple[StagedDay, dict]:
    """Stage the day where ``compute`` says; returns the staged day and the ``compute`` metadata."""
    partition = context.partition_key
    if compute.remote and not config.in_process:
        started = time.perf_counter()
        remote = stage_remotely(context, compute, client, the_lake, other_runs_in_progress=bool(others))
        context.log.info(  # the remote side logged its "Staged …" line; this is what the round trip cost
            f"{compute.describe()} staged {partition} in {remote.staged.seconds:.1f} s; the invocation took "
            f"{time.perf_counter() - started:.1f} s"
        )
        return remote.staged, remote.metadata
    started = time.perf_counter()
    result = stage_day(the_lake, partition, context.run_id, other_runs_in_progress=bool(others))
    staged = summarize(result, time.perf_counter() - started)
    context.log.info(staged.describe(the_lake))
    return staged, {"compute": "in-process"}


def _stage_audit_publish(
    context: dg.AssetExecutionContext, config: TransformConfig, lake: LakeResource, compute: TransformCompute, client
):
    partition = context.partition_key
    the_lake = lake.ready_lake()  # a wrong SPOTIFY_LAKE_URI fails here, naming it (not retried)
    others = _other_runs_in_progress(context)
    if others:
        context.log.info(f"Other runs of {partition} in progress ({', '.join(others)}): their staged files are kept")
    staged, compute_metadata = _stage(context, config, the_lake, compute, client, others)
    staging = staged.staging(the_lake)
    audit_started = time.perf_counter()
    checks = audit_staged(staging, staged, accept_empty=config.accept_empty, accept_raw_loss=config.accept_raw_loss)
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
        table = staged.tables[name]
        if failures:
            still_published = published_file(the_lake, "transformed", name, partition)
            publication = {
                "publication": "held back",
                "held_back_reason": reason,
                "staged_path": dg.MetadataValue.path(the_lake.uri(table.path)),
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
                "dagster/row_count": table.rows,
                "dagster/column_schema": column_schema(spec),
                "preview": dg.MetadataValue.md(table.preview),
                "quarantined": table.quarantined,
                "bytes_written": table.bytes,
                "accounting": dg.MetadataValue.json(table.accounting),
                "unread_raw_files": dg.MetadataValue.json(
                    [f for f in staged.unread_files if f["path"].split("/")[1] in TABLE_SOURCES[name]]
                ),
                "raw_data_lost": dg.MetadataValue.json(
                    [loss for loss in staged.raw_losses if loss["source"] in TABLE_SOURCES[name]]
                ),
                **compute_metadata,
            },
        )
    audited = "staged, held back" if failures else "staged, then published"
    for outcome in checks:
        extra = {"audited_version": audited}
        if failures:
            extra["staged_path"] = dg.MetadataValue.path(the_lake.uri(staged.tables[outcome.table].path))
        yield check_result(outcome, **extra)
    if failures:
        raise dg.Failure(
            description=f"{partition} was not published: {reason}. The previous version stays published; "
            f"the staged version is kept at {staged_uri} for inspection.",
            metadata={"staged_path": dg.MetadataValue.path(staged_uri)},
            allow_retries=False,
        )


# The in-process asset (tests, scripts); the code location builds the one SPOTIFY_TRANSFORM_COMPUTE asks
# for in transformed_assets().
transformed_tables = build_transformed_tables()


@dg.definitions
def transformed_assets() -> dg.Definitions:
    """The transformed tables, staged where ``SPOTIFY_TRANSFORM_COMPUTE`` says (read at each load)."""
    return dg.Definitions(assets=[build_transformed_tables(TransformCompute.from_env())])
