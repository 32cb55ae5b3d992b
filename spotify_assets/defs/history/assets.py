"""``streams`` and ``listens``: the listening history tables, staged, audited and published month by month
(:mod:`spotify_assets.history.wap`) in one step each — an import of ten years is one run, not 3,650.

``streams`` is rebuilt from every export in the raw zone; ``listens`` from ``streams`` and every published
day of ``plays``, so it follows the hourly plays too. A blocking check that fails publishes nothing (every
month keeps its version; the staged files stay for inspection) and fails the step.
"""

import time

import dagster as dg
import pyarrow as pa

from ...history import audit as history_audit
from ...history.listens import build_listens, read_plays
from ...history.streams import build_streams
from ...history.wap import (
    StagedTable,
    new_staging,
    publish_table,
    read_history,
    stage_table,
    summarize_publication,
)
from ...lake.io_manager import LAKE_IO_MANAGER_KEY
from ...lake.resource import LakeResource
from ...publish.audit import CheckOutcome, blocking_failures
from ...publish.preview import markdown_preview
from ...publish.wap import hold_back_reason
from ...tables.contract import TableSpec
from ...tables.history import LISTENS, STREAMS
from ...tables.transformed import PLAYS
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from ..metadata import column_schema
from ..transformed.checks import check_result
from .importing import RAW_HISTORY_KEY


def _check_specs(table: str) -> list[dg.AssetCheckSpec]:
    return [dg.AssetCheckSpec(c.name, asset=table, description=c.description, blocking=c.blocking)
            for c in history_audit.checks_of(table)]


def _history_table(spec: TableSpec, *, deps: list):
    """The asset decorator both history tables share: published month by month, checked by their audit."""
    return dg.asset(
        key=spec.name,
        deps=deps,
        group_name=groups.HISTORY,
        kinds={"python", "parquet", "s3"},
        metadata={"dagster/column_schema": column_schema(spec), "dagster/table_name": spec.name,
                  "key": ", ".join(spec.key), "partitioned_by": "month (month=YYYY-MM); rows carry dt (YYYY-MM-DD)"},
        check_specs=_check_specs(spec.name),
        automation_condition=conditions.history(),
        io_manager_key=LAKE_IO_MANAGER_KEY,
        hooks=RUN_HOOKS,
    )


def _publish_or_hold_back(context, staged: StagedTable, checks: list[CheckOutcome], *, with_quarantine: bool) -> dict:
    """Publish the staged months when no blocking check failed (else keep them, noted): the metadata to show."""
    lake = staged.staging.lake
    failures = blocking_failures(checks)
    if failures:
        reason = hold_back_reason(failures)
        uri = staged.staging.hold_back(reason, {"failed_checks": [f"{o.table}.{o.check}" for o in failures]})
        context.log.error(f"Held back {staged.spec.name}: {reason}. Staged version kept at {uri}")
        return {"publication": "held back", "held_back_reason": reason, "staged_path": dg.MetadataValue.path(uri)}
    started = time.perf_counter()
    published = publish_table(staged, with_quarantine=with_quarantine)
    staged.staging.discard()
    counts = summarize_publication(published)
    context.log.info(f"Published {staged.spec.name}: {len(staged.months)} months ({counts}) in "
                     f"{time.perf_counter() - started:.1f} s")
    return {
        "publication": "published",
        "months_created": counts["created"],
        "months_replaced": counts["replaced"],
        "months_unchanged": counts["unchanged"],
        "path": dg.MetadataValue.path(lake.uri(f"transformed/{staged.spec.name}/")),
    }


def _results(context, staged: StagedTable, checks: list[CheckOutcome], publication: dict, metadata: dict, table: pa.Table):
    first, last = (min(staged.months), max(staged.months)) if staged.months else ("", "")
    yield dg.MaterializeResult(metadata={
        **publication,
        "dagster/row_count": staged.rows,
        "dagster/column_schema": column_schema(staged.spec),
        "months": len(staged.months),
        "first_month": first,
        "last_month": last,
        "bytes_written": staged.bytes,
        "preview": dg.MetadataValue.md(markdown_preview(table)),
        **metadata,
    })
    for outcome in checks:
        yield check_result(outcome, audited_version="staged, then published" if publication["publication"] ==
                           "published" else "staged, held back")
    if publication["publication"] != "published":
        raise dg.Failure(description=f"{staged.spec.name} was not published: {publication['held_back_reason']}. Every "
                         "month keeps its published version.", allow_retries=False)


@_history_table(STREAMS, deps=[RAW_HISTORY_KEY])
def streams(context: dg.AssetExecutionContext, lake: LakeResource):
    """Every stream of every imported export, once: tracks, episodes, audiobook chapters, music videos and
    removed content, with start and end, how long it played, how it started and ended, platform (verbatim
    and a normalized family), country, shuffle, skip, offline and private-session flags. Rebuilt from the raw
    zone, staged by month, audited and published month by month (`transformed/streams/month=YYYY-MM/`);
    records that cannot be read are quarantined with the reason (`quarantine/streams/`), duplicates and
    records a better one covers are counted by reason. The accounting is on the asset.
    """
    the_lake = lake.ready_lake()
    started = time.perf_counter()
    build = build_streams(the_lake)
    context.log.info(f"Read {build.accounting['records_in']:,} records of {len(build.exports)} export(s): "
                     f"{build.table.num_rows:,} streams, {len(build.quarantine):,} quarantined, excluded "
                     f"{build.excluded} ({time.perf_counter() - started:.1f} s)")
    staging = new_staging(the_lake, f"{context.run_id}.{STREAMS.name}", other_runs_in_progress=True)
    staged = stage_table(staging, STREAMS, build.table, build.quarantine)
    previous = read_history(the_lake, STREAMS, columns=["stream_id"])["stream_id"].combine_chunks()
    checks = history_audit.audit_streams(staged.read(), staged.quarantined, build.accounting, previous,
                                         build.covered_ids)
    publication = _publish_or_hold_back(context, staged, checks, with_quarantine=True)
    accounting = {k: v for k, v in build.accounting.items() if k != "exports"}
    yield from _results(context, staged, checks, publication, {
        "records_in": build.accounting["records_in"],
        "quarantined": len(build.quarantine),
        "excluded": dg.MetadataValue.json(build.excluded),
        "accounting": dg.MetadataValue.json(accounting),
        "accounting_by_export": dg.MetadataValue.json(build.accounting["exports"]),
        "exports": len(build.exports),
        "quarantine_path": dg.MetadataValue.path(the_lake.uri("quarantine/streams/")),
    }, build.table)


@_history_table(LISTENS, deps=[STREAMS.name, PLAYS.name])
def listens(context: dg.AssetExecutionContext, lake: LakeResource):
    """Each listen once: every stream of the imported exports and every play landed hourly (recently
    played), a play that the export also holds being one row (source `both`). A play matches a stream of the
    same track that ended within 5 s of its played_at (or, failing that, started within 5 s of it; or, for
    account data, ended in the same minute with the same names), nearest first, one to one. The listening
    report's input; loadable as `listens: pa.Table` through the lake IO manager.
    """
    the_lake = lake.ready_lake()
    started = time.perf_counter()
    stream_rows = read_history(the_lake, STREAMS)
    plays, names = read_plays(the_lake)
    build = build_listens(stream_rows, plays, names)
    context.log.info(f"Matched {build.plays:,} plays with {build.streams:,} streams: {build.summary()} "
                     f"({time.perf_counter() - started:.1f} s)")
    staging = new_staging(the_lake, f"{context.run_id}.{LISTENS.name}", other_runs_in_progress=True)
    staged = stage_table(staging, LISTENS, build.table)
    checks = history_audit.audit_listens(staged.read(), stream_rows["stream_id"].combine_chunks(),
                                         plays["played_at"].combine_chunks())
    publication = _publish_or_hold_back(context, staged, checks, with_quarantine=False)
    summary = build.summary()
    yield from _results(context, staged, checks, publication, {
        "streams": summary["streams"],
        "plays": summary["plays"],
        "matched": summary["matched"],
        "matched_by": dg.MetadataValue.json(summary["matched_by"]),
        "export_only": summary["export_only"],
        "plays_only": summary["plays_only"],
    }, build.table)
