"""``listening_report``: the whole listening history as four charts — on the asset's page in the Dagster UI
and as one self-contained HTML page in the lake.

It reads the published ``listens`` table through the lake IO manager (every published month, only the
columns of the report's contract), builds the report with :mod:`spotify_assets.report` and writes the page
to :data:`REPORT_PATH`. The asset sits in the ``history`` group, beside its only input: like the history's
tables it is not partitioned by day, follows ``listens`` (each import, each hour's plays) and is part of
``import_history_job`` — the ``insights`` group holds the daily assets of the daily jobs.

**One address, replaced whole.** The page keeps one path, so a bookmark or a link always opens the latest
report; it is written the way the lake writes every single object (a temporary file renamed locally, one PUT
on S3), so a reader sees the previous page or the new one, never half of one. Earlier reports are not kept
as files: each is rebuilt from the published listens, and each materialization keeps its own charts in its
metadata.
"""

import hashlib
import time

import dagster as dg
import pyarrow as pa

from ... import settings
from ...lake.io_manager import COLUMNS
from ...lake.resource import LakeResource
from ...report import build_report
from ...report.listens import LISTENS_COLUMNS
from ...tables.history import LISTENS
from .. import groups
from ..automation import conditions
from ..automation.retries import RUN_HOOKS
from .report_metadata import report_metadata

LISTENING_REPORT_KEY = dg.AssetKey("listening_report")
REPORT_PATH = "insights/listening_report/listening_report.html"


def report_timezone() -> str:
    """``SPOTIFY_REPORT_TIMEZONE``, else the schedules' ``SPOTIFY_SCHEDULE_TIMEZONE`` (someone who crawls at 06:00
    their time most likely listens in that zone too; its default is UTC). A name that is not an IANA time zone
    is a :class:`~spotify_assets.settings.ConfigurationError` naming the setting."""
    current = settings.load()
    return current.report_timezone or current.schedule_timezone


@dg.asset(
    key=LISTENING_REPORT_KEY,
    group_name=groups.HISTORY,
    kinds={"python", "matplotlib", "html"},
    ins={"listens": dg.AssetIn(LISTENS.name, metadata={COLUMNS: list(LISTENS_COLUMNS)})},
    metadata={"lake_path": REPORT_PATH},
    # after each publication of listens whose blocking checks passed: a held-back listens changes no report
    automation_condition=conditions.history(after_blocking_checks=True),
    hooks=RUN_HOOKS,
)
def listening_report(context: dg.AssetExecutionContext, listens: pa.Table, lake: LakeResource) -> dg.MaterializeResult:
    """Your whole listening history in four charts: listening time per week (music, podcasts, audiobooks),
    when you listen (weekday × hour), your top 5 artists of each year, and how often you skip and discover new
    artists. The charts are on this page (Metadata: `chart/…`, *Show Markdown* opens one at full size) and in
    one self-contained HTML page in the lake (`report_html`; nothing is fetched when it opens). Built from the
    published `listens` after each import and each hour's plays; times in `SPOTIFY_REPORT_TIMEZONE`.
    """
    try:
        timezone = report_timezone()
    except settings.ConfigurationError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    the_lake = lake.ready_lake()
    started = time.perf_counter()
    context.log.info(f"Building the listening report of {listens.num_rows:,} listens ({timezone}) ...")
    report = build_report(listens, timezone=timezone)
    page = report.html.encode("utf-8")
    the_lake.write_bytes(REPORT_PATH, page)
    seconds = time.perf_counter() - started
    uri = the_lake.uri(REPORT_PATH)
    if report.empty:
        context.log.warning(f"No listens published yet: the report says so ({uri}). Import your data export "
                            "(`make import-history EXPORT=<zip>`) or let the hourly plays land.")
    else:
        context.log.info(f"Wrote the listening report ({len(report.charts)} charts, {len(page) / 1e3:,.0f} kB) to "
                         f"{uri} in {seconds:.1f} s")
    metadata = report_metadata(report, html_path=uri)
    metadata.update({
        "dagster/row_count": dg.MetadataValue.int(listens.num_rows),  # the listens the report covers
        "html_bytes": dg.MetadataValue.int(len(page)),
        "html_sha256": dg.MetadataValue.text(hashlib.sha256(page).hexdigest()),
        "timezone": dg.MetadataValue.text(timezone),
        "build_seconds": dg.MetadataValue.float(round(seconds, 2)),
    })
    return dg.MaterializeResult(metadata=metadata)
