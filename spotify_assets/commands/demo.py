"""``make demo``: today's partition end to end, then a summary of what landed, one analytics result and the
user's listening (plays today, top artists, busiest hour); then, when the bundled emulator stands in for
Spotify, its demo user's data export imported like a user's own (``make import-history``): years of
listening whose tail is the emulator's API history, drawn by the listening report (the path of its HTML
page is printed).

With no Spotify credentials the bundled emulator is started in-process, so this runs offline on a fresh
laptop. Runs go to the instance in ``$DAGSTER_HOME`` (the Makefile points it at ``./data/dagster_home``)
so ``make dev`` shows them afterwards.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import sys
import time

import dagster as dg

from .. import settings
from ..defs.partitions import today_utc
from ..defs.resources import current_environment, lake_resource
from ..lake.paths import PLAYS_SOURCE, RAW_SOURCES
from ..lake.quarantine import read_quarantine
from ..lake.raw import iter_raw_envelopes, list_raw_files
from . import console


def main() -> int:
    from ..definitions import defs

    partition = today_utc()
    job = defs.resolve_job_def("daily_job")
    print(f"spotify_assets demo: running daily_job for partition {partition} ...", flush=True)
    started = time.monotonic()
    with console.instance() as instance:
        result = job.execute_in_process(
            partition_key=partition,
            instance=instance,
            raise_on_error=False,
            # INFO keeps the crawl's progress lines and drops Dagster's per-event DEBUG chatter.
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    seconds = time.monotonic() - started
    if not result.success:
        print(f"\nThe run failed after {seconds:.1f} s; see the errors above (or `make dev` → Runs).", file=sys.stderr)
        return 1

    step_seconds = {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.event_type_value == "STEP_SUCCESS" and e.step_key
    }
    lake = lake_resource(current_environment()).get_lake()

    responses = {
        m.asset_key.path[-1]: m.metadata["dagster/row_count"].value
        for m in result.asset_materializations_for_node("raw_spotify")
    }
    raw_rows = []
    for source in RAW_SOURCES:
        files = list_raw_files(lake, source, partition)[0]
        # plays: every file of the day, whichever run landed it (each run adds one)
        n = sum(1 for _ in iter_raw_envelopes(lake, source, partition)) if source == PLAYS_SOURCE \
            else responses.get(f"raw_{source}", 0)
        raw_rows.append((source, len(files), n, sum(f.size for f in files)))
    console.print_table("Raw zone", raw_rows, ("source", "files", "responses", "bytes (gz)"))

    table_rows = []
    for event in result.asset_materializations_for_node("transformed_tables"):
        name = event.asset_key.path[-1]
        table_rows.append((name, event.metadata["dagster/row_count"].value, len(read_quarantine(lake, name, partition))))
    console.print_table("Transformed tables", sorted(table_rows), ("table", "rows", "quarantined"))

    slowest = sorted(step_seconds.items(), key=lambda kv: -kv[1])[:4]
    print(f"\nWhole run {seconds:.1f} s; slowest steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest))
    print(f"Lake: {lake.uri()}")
    _print_analytics_sample(partition)
    _print_listening(partition)
    if _import_demo_history(defs) != 0:
        return 1
    print("\nNext: `make dev` opens the Dagster UI on http://127.0.0.1:3000 with these runs in its history "
          "(Assets → listening_report shows the report's charts).")
    return 0


DEMO_EXPORTS = "./data/exports"  # beside the lake, never inside it: an export holds IP addresses


def _import_demo_history(defs: dg.Definitions) -> int:
    """The emulator demo user's export (the day's, written once a day) imported through ``import_history_job``.
    Only when the bundled emulator stands in: a real account's lake gets its owner's export, not the demo's."""
    if current_environment() != "local" or settings.load().client_id:
        print("\nListening history: import your Spotify data export with `make import-history EXPORT=<zip>` (README).")
        return 0
    from ..emulator.export import write_export
    from .import_history import run_import, summarize

    midnight = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    path = os.path.abspath(f"{DEMO_EXPORTS}/emulator-demo-user-{midnight.date()}.zip")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        for old in glob.glob(os.path.join(os.path.dirname(path), "emulator-demo-user-*.zip")):
            os.remove(old)  # the demo's own exports of earlier days: today's repeats their history
        print(f"\nWriting the emulator demo user's data export (listening up to {midnight:%Y-%m-%d} 00:00 UTC) ...",
              flush=True)
        truth = write_export(path, seed=42, scale="small", now=midnight)
        print(f"  {len(truth.streams):,} streams since {truth.first_day}: {path}")
    print(f"\nImporting it (import_history_job, as `make import-history EXPORT={os.path.relpath(path)}`) ...",
          flush=True)
    started = time.monotonic()
    with console.instance() as instance:
        result = run_import(path, instance=instance, defs=defs)  # the code location main() built, not a second one
    if not result.success:
        print("\nThe import failed; see the errors above (or `make dev` → Runs).", file=sys.stderr)
        return 1
    summarize(result)
    print(f"Imported in {time.monotonic() - started:.1f} s.")
    _print_history()
    return 0


def _print_history() -> None:
    """The whole history in a few lines, from the listens table (DuckDB)."""
    from ..warehouse.resources import build_query_engine

    engine = build_query_engine()
    try:
        years = engine.query(
            "SELECT substr(dt, 1, 4) AS year, count(*) AS listens, round(sum(ms_played) / 3.6e6) AS hours, "
            "round(avg(CASE WHEN skipped THEN 1.0 WHEN NOT skipped THEN 0.0 END), 3) AS skip_rate "
            "FROM listens GROUP BY 1 ORDER BY 1").table.to_pylist()
        sources = engine.query("SELECT source, count(*) AS n FROM listens GROUP BY 1 ORDER BY 1").table.to_pylist()
    finally:
        engine.close()
    console.print_table("Listening history (table listens: the export and the hourly plays, each listen once)",
                 [(r["year"], r["listens"], int(r["hours"] or 0), r["skip_rate"] if r["skip_rate"] is not None else "")
                  for r in years], ("year", "listens", "hours", "skip rate"))
    print("  by source: " + ", ".join(f"{r['source']} {r['n']:,}" for r in sources)
          + " (both: a play landed hourly that a later export holds too; the demo's export ends at today's midnight, "
          "so today's plays are in none yet)")


def _print_analytics_sample(partition: str) -> None:
    from ..warehouse.resources import build_query_engine

    engine = build_query_engine()
    try:
        result = engine.query(
            "SELECT track_rank, name, popularity, playlist_appearances, ranked_by FROM daily_top_tracks "
            f"WHERE dt = '{partition}' ORDER BY track_rank LIMIT 10"
        )
    finally:
        engine.close()
    rows = [tuple(r.values()) for r in result.table.to_pylist()]
    console.print_table(
        f"Analytics: daily_top_tracks for {partition} ({engine.name}, lake analytics/daily_top_tracks)",
        rows,
        tuple(result.table.column_names),
    )


def _print_listening(partition: str) -> None:
    """Plays today, the top 3 artists by plays over the last 7 days, and today's busiest hour (UTC)."""
    from ..warehouse.resources import build_query_engine

    engine = build_query_engine()
    try:
        today = engine.query(
            "SELECT count(*) AS plays, min(played_at) AS first, max(played_at) AS last FROM plays "
            f"WHERE dt = '{partition}'").table.to_pylist()[0]
        top = engine.query(
            "SELECT artist_rank, name, plays FROM top_artists_by_plays "
            f"WHERE dt = '{partition}' AND window_days = 7 ORDER BY artist_rank LIMIT 3").table.to_pylist()
        busiest = engine.query(
            "SELECT hour(played_at) AS hour, count(*) AS plays FROM plays "
            f"WHERE dt = '{partition}' GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1").table.to_pylist()
        library = engine.query(
            f"SELECT (SELECT count(*) FROM saved_tracks WHERE dt = '{partition}') AS saved, "
            f"(SELECT count(*) FROM top_tracks WHERE dt = '{partition}') AS top_tracks").table.to_pylist()[0]
    finally:
        engine.close()
    print(f"\nListening on {partition} (UTC; tables plays, top_artists_by_plays)")
    if not today["plays"]:
        print("  no plays today yet (a day without listening, or no user token: see the raw_plays metadata)")
    else:
        print(f"  plays today: {today['plays']} (first {today['first']:%H:%M}, last {today['last']:%H:%M})")
        print("  top artists by plays, last 7 days: "
              + ", ".join(f"{r['artist_rank']}. {r['name']} ({r['plays']})" for r in top))
        hour = busiest[0]
        plays = f"{hour['plays']} play" + ("s" if hour["plays"] != 1 else "")
        print(f"  busiest hour today: {hour['hour']:02d}:00-{hour['hour'] + 1:02d}:00 ({plays})")
    print(f"  library: {library['saved']} saved tracks; {library['top_tracks']} top-track rows (3 time ranges)")


if __name__ == "__main__":
    sys.exit(main())
