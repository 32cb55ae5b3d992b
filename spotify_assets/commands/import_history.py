"""``make import-history EXPORT=<path>``: import a Spotify data export through Dagster, then say what it did.

Runs ``import_history_job`` in this process on the instance in ``$DAGSTER_HOME`` (the Makefile points it at
``./data/dagster_home``, as for ``make demo``), with the same lake and DuckDB file (``SPOTIFY_LAKE_URI``,
``SPOTIFY_DUCKDB_PATH``): the run is in the UI's history with its metadata, and the tables are queryable at
once. ``EXPORT`` is the zip Spotify sent, the folder it extracts to, or an ``s3://`` URI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import dagster as dg

from . import console


def run_import(export: str, *, reland: bool = False, instance: dg.DagsterInstance | None = None,
               defs: dg.Definitions | None = None) -> dg.ExecuteInProcessResult:
    """Execute ``import_history_job`` for ``export`` (on ``instance``, default: ``$DAGSTER_HOME``'s) with the
    code location as the environment defines it now (or ``defs``)."""
    from ..definitions import build_definitions

    job = (defs or build_definitions()).resolve_job_def("import_history_job")
    run_config = {
        "ops": {"raw_streaming_history": {"config": {"export": export, "reland": reland}}},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    if instance is not None:
        return job.execute_in_process(instance=instance, run_config=run_config, raise_on_error=False)
    with console.instance() as own:
        return job.execute_in_process(instance=own, run_config=run_config, raise_on_error=False)


def _metadata(result: dg.ExecuteInProcessResult, node: str) -> dict[str, dict]:
    return {m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
            for m in result.asset_materializations_for_node(node)}


def summarize(result: dg.ExecuteInProcessResult) -> None:
    """Print what the import landed, published and matched (from the run's metadata)."""
    raw = _metadata(result, "raw_streaming_history").get("raw_streaming_history", {})
    streams = _metadata(result, "streams").get("streams", {})
    listens = _metadata(result, "listens").get("listens", {})
    print(f"\nExport {raw.get('export_id')}" + (" (landed before: nothing new written)" if raw.get("already_landed")
                                                else "") + f": {raw.get('path')}")
    console.print_table("History files read", [(f["path"], f["generation"], f["records_in"], f["records_landed"])
                                        for f in raw.get("files_read", [])],
                 ("file", "generation", "records", "landed"))
    for f in raw.get("files_not_read", []):
        print(f"  not read: {f['path']} — {f['reason']}")
    removed = raw.get("privacy/personal_values_removed_by_field", {})
    print(f"\nPersonal data removed before landing: {raw.get('privacy/personal_values_removed', 0):,} values ("
          + (", ".join(f"{k} {v:,}" for k, v in removed.items()) or "none in this export") + ")")
    if raw.get("unknown_fields_removed"):
        print(f"Unknown fields not kept: {raw['unknown_fields_removed']}")
    for problem in raw.get("records_with_problems", []):
        print(f"  problem in {problem['file']}: {problem['reason']}")
    if streams:
        print(f"\nstreams: {streams['dagster/row_count']:,} rows in {streams['months']} months "
              f"({streams['first_month']} … {streams['last_month']}), {streams['quarantined']:,} quarantined, "
              f"excluded {streams['excluded'] or 'none'}; records in {streams['records_in']:,}; "
              f"publication: {streams['publication']}")
    if listens:
        print(f"listens: {listens['dagster/row_count']:,} rows — {listens['streams']:,} streams + {listens['plays']:,} "
              f"plays, {listens['matched']:,} matched {listens['matched_by']}")
    report = _metadata(result, "listening_report").get("listening_report", {})
    if report:
        print(f"\nListening report: {report['report_html']} (one HTML page: open it in a browser; the charts are also "
              "on the listening_report asset's page in the UI)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make import-history EXPORT=", description=__doc__.splitlines()[0])
    parser.add_argument("export", help="the zip Spotify sent, its extracted folder, or s3://bucket/key")
    parser.add_argument("--reland", action="store_true", help="land the export again even if it was landed before")
    args = parser.parse_args(argv)
    if not args.export.strip():
        parser.error("give the export: make import-history EXPORT=path/to/my_spotify_data.zip")
    export = args.export if args.export.startswith("s3://") else os.path.abspath(os.path.expanduser(args.export))
    print(f"spotify_assets: importing {export} (import_history_job) ...", flush=True)
    started = time.monotonic()
    result = run_import(export, reland=args.reland)
    seconds = time.monotonic() - started
    if not result.success:
        failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        for event in failures:
            error = event.event_specific_data.error
            print(f"\n{event.step_key} failed: {error.message.strip() if error else 'see the logs above'}",
                  file=sys.stderr)
        print(f"\nThe import failed after {seconds:.1f} s (`make dev` → Runs shows the run).", file=sys.stderr)
        return 1
    summarize(result)
    print(f"\nImported in {seconds:.1f} s. Query it: SELECT dt, count(*) FROM listens GROUP BY dt ORDER BY dt "
          "(DuckDB file: SPOTIFY_DUCKDB_PATH, default ./data/spotify.duckdb); `make dev` shows the run.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
