"""Benchmark: the listening report over ten years of history vs what its numbers and drawings cost at least.

    .venv/bin/python benchmarks/bench_report.py                     # 200,000 listens over ten years, ~1 min
    .venv/bin/python benchmarks/bench_report.py --listens 1000000   # a heavier listener

Generates a synthetic ``listens`` table (the listens contract's columns: ten years, 2014–2023, with two
gaps, podcasts, skips, removed content and an API-only tail without durations) and writes it as one zstd
Parquet file, as the asset will read the published table. Then times, each in its own subprocess (peak RSS
from ``os.wait4``; libraries imported before the clock starts), best of ``--repeat`` interleaved runs:

* ``report``: read the Parquet file, ``build_report`` (series, four charts, the HTML page), write the page;
  the phases are printed (read, series, charts and page);
* ``duckdb``: the computing floor — DuckDB over the same file computes the same numbers (hours per week and
  kind, weekday × hour, the top 5 artists of each year, monthly skips and first-heard artists) and
  draws nothing;
* ``draw``: the drawing floor — matplotlib saves four figures of the report's sizes holding one bar or line
  each, as default PNGs: what any four charts cost before there is anything in them.

Target (set with this benchmark): the report of 200,000 listens in ≤ 10 s and ≤ 1 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TARGET_SECONDS, TARGET_RSS_MB = 10.0, 1024


def run_report(path: str, out: str) -> dict:
    import pyarrow.parquet as pq

    # build_report's three steps, called one by one to time them
    from spotify_assets.report.charts import render_charts
    from spotify_assets.report.page import render_html
    from spotify_assets.report.series import compute_series

    t0 = time.perf_counter()
    table = pq.read_table(path)
    t1 = time.perf_counter()
    series = compute_series(table)
    t2 = time.perf_counter()
    charts = render_charts(series, 5)
    html = render_html(series, charts)
    t3 = time.perf_counter()
    with open(f"{out}/listening_report.html", "w", encoding="utf-8") as f:
        f.write(html)
    return {"phases": {"read": t1 - t0, "series": t2 - t1, "charts_and_page": t3 - t2},
            "png_bytes": {c.key: len(c.png) for c in charts}, "html_bytes": len(html.encode()),
            "hours": round(series.hours, 1)}


def run_duckdb(path: str, out: str) -> dict:
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2; SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW l AS SELECT *, listened_at AS t, coalesce(ms_played, "
                f"(SELECT median(ms_played) FROM '{path}' WHERE kind = 'track' AND ms_played > 30000)) / 3.6e6 AS h "
                f"FROM '{path}'")
    queries = {
        "weekly": "SELECT date_trunc('week', t) w, kind, sum(h), count(*) FROM l GROUP BY ALL",
        "heatmap": "SELECT isodow(t) d, hour(t) hr, sum(h) FROM l GROUP BY ALL",
        "top_artists": "SELECT * FROM (SELECT year(t) y, trim(artist_name) a, sum(h) AS hrs, count(*) AS n, "
                       "row_number() OVER (PARTITION BY year(t) ORDER BY sum(h) DESC, count(*) DESC, a) r "
                       "FROM l WHERE kind = 'track' AND nullif(trim(artist_name), '') IS NOT NULL GROUP BY 1, 2) "
                       "WHERE r <= 5",
        "trend": "WITH m AS (SELECT date_trunc('month', t) p, trim(artist_name) a, skipped FROM l WHERE kind = 'track'), "
                 "d AS (SELECT a, min(p) p0 FROM m WHERE nullif(a, '') IS NOT NULL GROUP BY a) "
                 "SELECT p, count(*), count(skipped), count(*) FILTER (WHERE skipped), count(DISTINCT m.a), "
                 "count(DISTINCT m.a) FILTER (WHERE d.p0 = m.p) FROM m LEFT JOIN d USING (a) GROUP BY p",
    }
    return {"rows": {name: len(con.execute(sql).fetchall()) for name, sql in queries.items()}}


def run_draw(path: str, out: str) -> dict:
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    sizes = []
    for height in (3.9, 3.7, 7.6, 3.7):
        fig = Figure(figsize=(10, height), dpi=100)
        FigureCanvasAgg(fig)
        fig.add_subplot().plot([0, 1], [0, 1])
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        sizes.append(len(buffer.getvalue()))
    return {"png_bytes": sizes}


def generate(path: str, listens: str) -> dict:
    import pyarrow.parquet as pq

    from spotify_assets_tests.report.synthetic import history

    table = history(int(listens))
    pq.write_table(table, path, compression="zstd")
    first, last = table["listened_at"][0].as_py(), table["listened_at"][-1].as_py()
    return {"listens": table.num_rows, "first": f"{first:%Y-%m-%d}", "last": f"{last:%Y-%m-%d}"}


CONTENDERS = {"report": run_report, "duckdb": run_duckdb, "draw": run_draw}
STEPS = {**CONTENDERS, "generate": generate}
PRELOAD = {
    "generate": (),
    "report": ("pyarrow.parquet", "spotify_assets.report"),
    "duckdb": ("duckdb",),
    "draw": ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"),
}


def _child(name: str, path: str, out: str) -> None:
    import importlib

    for module in PRELOAD[name]:
        importlib.import_module(module)
    t0 = time.perf_counter()
    info = STEPS[name](path, out)
    info["seconds"] = time.perf_counter() - t0
    print("RESULT " + json.dumps(info), flush=True)


def _run(name: str, path: str, out: str) -> dict:
    p = subprocess.Popen([sys.executable, __file__, "--child", name, "--data", path, "--out", out],
                         stdout=subprocess.PIPE, text=True)
    stdout = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{name} failed with exit code {os.waitstatus_to_exitcode(status)}")
    info = json.loads(next(ln for ln in stdout.splitlines() if ln.startswith("RESULT "))[7:])
    info["peak_rss_mb"] = usage.ru_maxrss / 1024
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listens", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="interleaved runs per contender; the best is reported")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--data", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return _child(a.child, a.data, a.out)

    # The parent stays small (standard library only): a child's peak RSS must not start from the parent's
    # (a forked child counts the pages it was forked with).
    with tempfile.TemporaryDirectory(prefix="bench_report_") as out:
        path = f"{out}/listens.parquet"
        generated = _run("generate", path, str(a.listens))
        print(f"generated {generated['listens']:,} listens, {generated['first']} – {generated['last']}, "
              f"{os.path.getsize(path) / 1e6:.1f} MB Parquet, in {generated['seconds']:.1f} s")
        print(f"load average before: {os.getloadavg()[0]:.2f} (best of {a.repeat} interleaved runs is reported)")
        runs: dict[str, list[dict]] = {name: [] for name in CONTENDERS}
        for rep in range(a.repeat):
            for name in CONTENDERS:
                r = _run(name, path, out)
                print(f"  {name:7s} run {rep + 1}: {r['seconds']:.2f} s, peak RSS {r['peak_rss_mb']:,.0f} MB", flush=True)
                runs[name].append(r)
        print(f"load average after: {os.getloadavg()[0]:.2f}\n")
        best = {}
        for name, results in runs.items():
            r = best[name] = min(results, key=lambda x: x["seconds"])
            rss = max(x["peak_rss_mb"] for x in results)
            r["peak_rss_mb"] = rss
            print(f"  {name:7s} {r['seconds']:6.2f} s  peak RSS {rss:5,.0f} MB  runs {[round(x['seconds'], 2) for x in results]}")
        report = best["report"]
        phases = ", ".join(f"{k} {v:.2f} s" for k, v in report["phases"].items())
        png = report["png_bytes"]
        print(f"\n  report phases: {phases}")
        print(f"  charts: {', '.join(f'{k} {v / 1000:.0f} kB' for k, v in png.items())} "
              f"(total {sum(png.values()) / 1000:.0f} kB, {sum(png.values()) * 4 / 3 / 1000:.0f} kB as base64 metadata); "
              f"HTML page {report['html_bytes'] / 1000:.0f} kB")
        print(f"  the floors: computing (DuckDB) {best['duckdb']['seconds']:.2f} s, drawing four empty charts "
              f"{best['draw']['seconds']:.2f} s; the report takes {report['seconds']:.2f} s, "
              f"{report['seconds'] / (best['duckdb']['seconds'] + best['draw']['seconds']):.1f}x their sum")
        ok = report["seconds"] <= TARGET_SECONDS and report["peak_rss_mb"] <= TARGET_RSS_MB
        verdict = ("OK" if ok else "MISSED") if a.listens == 200_000 else f"(at {a.listens:,} listens)"
        print(f"  target (≤ {TARGET_SECONDS:.0f} s, ≤ {TARGET_RSS_MB:,} MB at 200,000 listens): "
              f"{report['seconds']:.2f} s, {report['peak_rss_mb']:,.0f} MB {verdict}")


if __name__ == "__main__":
    main()
