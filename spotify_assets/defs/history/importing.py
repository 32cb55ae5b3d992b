"""``raw_streaming_history``: the user's Spotify data export landed in the raw zone, without personal data.

Launched by a person, with the export's location as run config: ``make import-history EXPORT=<path>`` runs
``import_history_job`` (this asset, then ``streams``, ``listens`` and their catalog entries); in the UI,
*Materialize* the ``history`` group from the launchpad with ``export`` set. No sensor watches an upload
prefix: an export arrives once in a long while, and the upload prefix would hold the export's IP addresses
— the very data that must never reach the lake.
"""

import dagster as dg
from pydantic import Field

from ...history.export import ExportError
from ...history.landing import inside_lake, land_export, landed_exports, verify_landed
from ...lake.paths import HISTORY_SOURCE
from ...lake.resource import LakeResource
from .. import groups
from ..automation.retries import RUN_HOOKS

RAW_HISTORY_KEY = dg.AssetKey("raw_streaming_history")


class ImportConfig(dg.Config):
    export: str = Field(
        default="",
        description="The export as Spotify sent it: the zip (my_spotify_data.zip) or the folder it extracts to; a "
        "path on the machine that runs the step, or s3://bucket/key. Keep it outside the lake: it holds IP "
        "addresses, which the import removes.",
    )
    reland: bool = Field(
        default=False,
        description="Land the export again even when it was landed before (e.g. after the import learnt a new field).",
    )


@dg.asset(
    key=RAW_HISTORY_KEY,
    group_name=groups.HISTORY,
    kinds={"python", "json", "s3"},
    metadata={"lake_path": f"raw/{HISTORY_SOURCE}/export=<export id>/"},
    hooks=RUN_HOOKS,
    # Without an export there is nothing to import: the step materializes nothing and the tables downstream are
    # skipped (e.g. "Materialize all" in the UI), instead of failing the run.
    output_required=False,
)
def raw_streaming_history(context: dg.AssetExecutionContext, config: ImportConfig, lake: LakeResource):
    """Land a Spotify data export ("Download your data") in the raw zone: every streaming history file of
    every generation (extended `Streaming_History_Audio/Video_*.json`, older `endsong_*.json`, account data
    `StreamingHistory*.json`, in any folder of the zip or folder), each record without its IP address, user
    agent, location and user name — removed before anything is written, and counted. Other files of the
    export are listed as not read, with the reason. Importing the same export again lands nothing new.
    """
    if not config.export.strip():
        context.log.warning("No export given: nothing imported, and streams and listens are not rebuilt in this run. "
                            "Set the run config `export` to the zip Spotify sent (or its folder, or an s3:// URI), "
                            "e.g. `make import-history EXPORT=~/my_spotify_data.zip`.")
        return
    the_lake = lake.ready_lake()  # a wrong SPOTIFY_LAKE_URI fails here, naming it (not retried)
    if inside_lake(the_lake, config.export):
        raise dg.Failure(description=f"{config.export} lies inside the lake ({the_lake.uri()}): the export holds IP "
                         "addresses that must never be stored there. Move it outside the lake and import it from "
                         "there.", allow_retries=False)
    try:
        report = land_export(the_lake, config.export, reland=config.reland, log=context.log.info)
    except ExportError as error:
        raise dg.Failure(description=str(error), allow_retries=False) from error
    manifest = report.manifest
    problems = [dict(p, file=f["path"]) for f in manifest["files"] for p in f["problems"]]
    removed = manifest["personal_values_removed"]
    yield dg.MaterializeResult(
        metadata={
            "export_id": report.export_id,
            "already_landed": report.already_landed,
            "path": dg.MetadataValue.path(the_lake.uri(report.folder)),
            "landed_at": manifest["landed_at"],
            "files_read": dg.MetadataValue.json([
                {k: f[k] for k in ("path", "generation", "bytes", "records_in", "records_landed")} for f in manifest["files"]
            ]),
            "files_not_read": dg.MetadataValue.json(manifest["not_read"]),
            "records_in": manifest["records_in"],
            "records_landed": manifest["records_landed"],
            "records_with_problems": dg.MetadataValue.json(problems),
            "file_notes": dg.MetadataValue.json({f["path"]: f["notes"] for f in manifest["files"] if f["notes"]}),
            "privacy/personal_values_removed": sum(removed.values()),
            "privacy/personal_values_removed_by_field": dg.MetadataValue.json(removed),
            "unknown_fields_removed": dg.MetadataValue.json(manifest["unknown_fields_removed"]),
            "bytes_written": report.bytes_written,
            "dagster/row_count": manifest["records_landed"],
        }
    )


@dg.asset_check(asset=RAW_HISTORY_KEY, blocking=True)
def no_personal_data_landed(lake: LakeResource) -> dg.AssetCheckResult:
    """Every record of every export in the raw zone, read back: no IP address, user agent, location or user
    name reached it, and each landed file holds as many records as its manifest says."""
    the_lake = lake.ready_lake()
    found: dict[str, int] = {}
    read_back = landed = 0
    exports = landed_exports(the_lake)
    for manifest in exports:
        verified = verify_landed(the_lake, manifest)
        read_back += verified["records"]
        landed += manifest["records_landed"]
        for key, n in verified["personal_fields"].items():
            found[key] = found.get(key, 0) + n
    clean = not found and read_back == landed
    return dg.AssetCheckResult(
        passed=clean,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{read_back} landed records of {len(exports)} export(s) read back: no personal field"
        if clean else f"landed records hold personal fields {found} ({read_back} records read back, {landed} landed)",
        metadata={"records_read_back": read_back, "exports": len(exports),
                  "personal_fields_found": dg.MetadataValue.json(found)},
    )
