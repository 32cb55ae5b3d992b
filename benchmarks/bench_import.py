"""Benchmark: importing a data export — 200,000 streams over ten years — imported, published and cataloged,
beside DuckDB's ``read_json`` of the same files in the same run.

    .venv/bin/python benchmarks/bench_import.py                  # 200,000 streams over ten years (~2 min)
    .venv/bin/python benchmarks/bench_import.py --streams 50000  # smaller

Generates (once, cached under --workdir) the emulator's export of its demo user
(``spotify_assets.emulator.export.write_export``: the extended generation, ten years ending at the emulator's
clock) and extracts it. Then times, each in its own subprocess (peak RSS from ``os.wait4``; libraries
imported before the clock starts), on the same extracted files:

* ``import``: ``import_history_job`` through Dagster (in process, an ephemeral instance) into a fresh local
  lake and DuckDB file — landing without personal data, ``streams`` and ``listens`` staged, audited and
  published month by month, both registered in the catalog; then the same export again (``reimport``:
  nothing new, every month unchanged);
* ``duckdb``: the parsing floor — DuckDB ``read_json`` (threads=2) of the history files, every field, written
  to one zstd Parquet file.

Targets on the 2-core machine: the import ≤ 60 s and ≤ 1 GB peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def generate(workdir: str, streams: int, years: int) -> dict:
    """The emulator's export of ``streams`` streams over ``years`` years, zipped and extracted."""
    try:
        from spotify_assets.emulator.export import write_export
    except ImportError:
        raise SystemExit("spotify_assets.emulator.export is missing: this benchmark needs the emulator's export "
                         "generator") from None
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    first_day = (now - dt.timedelta(days=round(365.25 * years))).date()
    os.makedirs(workdir, exist_ok=True)
    zipped = f"{workdir}/my_spotify_data.zip"
    truth = write_export(zipped, seed=42, generation="extended", zipped=True, target_streams=streams,
                         first_day=first_day, now=now)
    folder = f"{workdir}/my_spotify_data"
    with zipfile.ZipFile(zipped) as zf:
        zf.extractall(folder)
    files = sorted(glob.glob(f"{folder}/**/Streaming_History_*.json", recursive=True))
    manifest = {"streams": len(truth.streams), "records": truth.records, "files": len(files),
                "json_bytes": sum(os.path.getsize(f) for f in files), "zip_bytes": os.path.getsize(zipped),
                "first_day": first_day.isoformat(), "folder": folder}
    with open(f"{workdir}/manifest.json", "w") as f:
        json.dump(manifest, f)
    return manifest


def run_import(workdir: str, out: str) -> dict:
    import dagster as dg

    from spotify_assets.commands.import_history import run_import as execute

    folder = json.load(open(f"{workdir}/manifest.json"))["folder"]
    figures = {}
    for name in ("import", "reimport"):
        started = time.perf_counter()
        result = execute(folder, instance=dg.DagsterInstance.ephemeral())
        if not result.success:
            raise SystemExit(f"{name} failed")
        figures[f"{name}_seconds"] = time.perf_counter() - started
        figures[f"{name}_steps"] = {e.step_key: round(e.event_specific_data.duration_ms / 1000, 2)
                                    for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
        meta = {m.asset_key.to_user_string(): {k: v.value for k, v in m.metadata.items()}
                for node in ("streams", "listens") for m in result.asset_materializations_for_node(node)}
        figures[f"{name}_rows"] = {t: meta[t]["dagster/row_count"] for t in meta}
        figures[f"{name}_months"] = {t: {k: meta[t].get(k) for k in ("months_created", "months_replaced",
                                                                     "months_unchanged")} for t in meta}
    lake = os.environ["SPOTIFY_LAKE_URI"]
    parquet = glob.glob(f"{lake}/transformed/streams/month=*/v-*/part-00000.parquet")
    figures["streams_parquet_bytes"] = sum(os.path.getsize(p) for p in parquet)
    figures["streams_files"] = len(parquet)
    figures["raw_bytes"] = sum(os.path.getsize(p) for p in glob.glob(f"{lake}/raw/**/*", recursive=True)
                               if os.path.isfile(p))
    return figures


def run_duckdb(workdir: str, out: str) -> dict:
    import duckdb

    folder = json.load(open(f"{workdir}/manifest.json"))["folder"]
    files = sorted(glob.glob(f"{folder}/**/Streaming_History_*.json", recursive=True))
    con = duckdb.connect(config={"threads": 2})
    listed = ", ".join(f"'{f}'" for f in files)
    target = f"{out}/duckdb_streams.parquet"
    con.execute(f"COPY (SELECT * FROM read_json([{listed}], format = 'array', union_by_name = true, "
                "maximum_object_size = 268435456)) TO '" + target + "' (FORMAT parquet, COMPRESSION zstd)")
    return {"rows": con.execute(f"SELECT count(*) FROM '{target}'").fetchone()[0]}


CONTENDERS = {"import": run_import, "duckdb": run_duckdb}
PRELOAD = {"import": ("dagster", "spotify_assets.definitions", "spotify_assets.commands.import_history"), "duckdb": ("duckdb",)}


def _child(name: str, workdir: str, out: str) -> None:
    import importlib

    for module in PRELOAD[name]:
        importlib.import_module(module)
    t0 = time.perf_counter()
    info = CONTENDERS[name](workdir, out)
    info["seconds"] = time.perf_counter() - t0
    print("RESULT " + json.dumps(info), flush=True)


def _run(name: str, workdir: str, out: str) -> dict:
    lake, db = f"{out}/lake", f"{out}/spotify.duckdb"
    shutil.rmtree(lake, ignore_errors=True)
    for f in (db, f"{out}/duckdb_streams.parquet"):
        if os.path.exists(f):
            os.remove(f)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(SPOTIFY_ASSETS_ENV="local", SPOTIFY_LAKE_URI=lake, SPOTIFY_DUCKDB_PATH=db)
    p = subprocess.Popen([sys.executable, __file__, "--child", name, "--workdir", workdir, "--out", out],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=REPO)
    text = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{name} failed")
    info = json.loads(next(ln for ln in text.splitlines() if ln.startswith("RESULT "))[7:])
    info["peak_rss_mb"] = usage.ru_maxrss / 1024
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=200_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--workdir", default=None, help="where the export is generated/cached")
    ap.add_argument("--repeat", type=int, default=2, help="interleaved runs per contender; the best is reported")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    sys.path.insert(0, REPO)
    if a.child:
        return _child(a.child, a.workdir, a.out)
    workdir = a.workdir or f"/tmp/bench_import_{a.streams}_{a.years}y"
    out = f"{workdir}/out"
    os.makedirs(out, exist_ok=True)
    if os.path.exists(f"{workdir}/manifest.json"):
        manifest = json.load(open(f"{workdir}/manifest.json"))
        print(f"using the cached export in {workdir}")
    else:
        t0 = time.perf_counter()
        manifest = generate(workdir, a.streams, a.years)
        print(f"generated the export in {time.perf_counter() - t0:.1f} s: {workdir}")
    print(f"  {manifest['streams']:,} streams from {manifest['first_day']}, {manifest['files']} history files, "
          f"{manifest['json_bytes'] / 1e6:,.0f} MB of JSON ({manifest['zip_bytes'] / 1e6:,.1f} MB zipped)")
    print(f"load average before: {os.getloadavg()[0]:.2f} (best of {a.repeat} interleaved runs is reported)")
    runs: dict[str, list[dict]] = {n: [] for n in CONTENDERS}
    for rep in range(a.repeat):
        for name in CONTENDERS:
            print(f"running {name} (run {rep + 1}) …", flush=True)
            r = _run(name, workdir, out)
            print(f"  {r['seconds']:.1f} s, peak RSS {r['peak_rss_mb']:,.0f} MB", flush=True)
            runs[name].append(r)
    print(f"load average after: {os.getloadavg()[0]:.2f}\n")
    best = {n: min(rs, key=lambda r: r.get("import_seconds", r["seconds"])) for n, rs in runs.items()}
    imp, duck = best["import"], best["duckdb"]
    rss = max(r["peak_rss_mb"] for r in runs["import"])
    print(f"  import   {imp['import_seconds']:6.1f} s  {manifest['streams'] / imp['import_seconds']:>8,.0f} streams/s  "
          f"peak RSS {rss:,.0f} MB  steps {imp['import_steps']}")
    print(f"           rows {imp['import_rows']}; streams: {imp['streams_files']} month files, "
          f"{imp['streams_parquet_bytes'] / 1e6:.1f} MB ({imp['streams_parquet_bytes'] / max(imp['import_rows']['streams'], 1):.0f} "
          f"bytes/stream); raw zone {imp['raw_bytes'] / 1e6:.1f} MB")
    print(f"  reimport {imp['reimport_seconds']:6.1f} s  months {imp['reimport_months']}")
    print(f"  duckdb   {duck['seconds']:6.1f} s  {duck['rows'] / duck['seconds']:>8,.0f} streams/s  "
          f"peak RSS {duck['peak_rss_mb']:,.0f} MB (read_json of the same files → Parquet)")
    print("\ntargets:")
    print(f"  import {imp['import_seconds']:.1f} s (target ≤ 60 s) {'OK' if imp['import_seconds'] <= 60 else 'MISSED'}; "
          f"{imp['import_seconds'] / duck['seconds']:.1f}× DuckDB's read_json")
    print(f"  peak RSS {rss:,.0f} MB (target ≤ 1,024 MB) {'OK' if rss <= 1024 else 'MISSED'}")
    with open(f"{out}/results.json", "w") as f:
        json.dump({"manifest": manifest, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
