"""Benchmark the request-minimal Spotify crawl against the bundled emulator.

    python benchmarks/bench_extract.py --scale small
    python benchmarks/bench_extract.py --scale large-ish --tracks 50000

Emulator: its own process (``python -m spotify_assets.emulator``, started and killed here, so it never
competes with the client for the GIL), 50 ms latency, a rolling-window rate limit (default 3000 / 30 s =
100 rps). Prints requests made vs the minimum, the naive (one spotipy call per track, album and artist)
request count and its measured rate on a subset, the request rate vs the limit at steady state (the
client's per-request completion times, first and last 10 % of requests excluded, with its 429s) and over
the whole run, wall time, and a fault_rate=0.1 run compared record-for-record with the clean run.

Then the incremental crawl: the same library crawled again the next day, the emulator's catalog unchanged
(an unchanged library), with the first day's records as the previous partition. In extended mode the first
day is the run above; development mode gets its own emulator process and first day. Printed: the requests
of day 1 and day 2 and their ratio (target for development mode: day 2 <= 15 % of day 1).
"""

from __future__ import annotations

import argparse
import logging
import math
import re
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson
import spotipy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spotify_assets.emulator import (  # noqa: E402
    EMULATOR_CLIENT_ID,
    EMULATOR_CLIENT_SECRET,
    EMULATOR_REFRESH_TOKEN,
)
from spotify_assets.spotify.accounting import steady_state  # noqa: E402
from spotify_assets.spotify.client import SpotifyClient  # noqa: E402
from spotify_assets.spotify.config import SpotifyApiSettings  # noqa: E402
from spotify_assets.spotify.crawl import CrawlSeeds, run_crawl  # noqa: E402

TODAY = date(2026, 11, 24)
_BASE = re.compile(rb"http://127\.0\.0\.1:\d+")


class EmulatorProcess:
    """``python -m spotify_assets.emulator`` in its own process, so the emulator (which builds and
    serialises every response in Python) never competes with the client for the GIL."""

    def __init__(self, *, scale: str, latency_ms: float, rate_limit: int | None, fault_rate: float = 0.0,
                 mode: str = "extended", ready_timeout_s: float = 120.0) -> None:
        # The emulator's standalone entry point tunes its own garbage collector (see its __main__).
        cmd = [sys.executable, "-m", "spotify_assets.emulator", "--port", "0", "--seed", "42",
               "--scale", scale, "--latency-ms", str(latency_ms), "--fault-rate", str(fault_rate),
               "--today", TODAY.isoformat(), "--mode", mode]
        if rate_limit:
            cmd += ["--rate-limit", str(rate_limit)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     cwd=Path(__file__).resolve().parents[1])
        try:
            self._wait_ready(ready_timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        self.api_url = self.accounts_url = None
        for line in self.proc.stdout:  # the banner: SPOTIFY_API_URL=..., SPOTIFY_ACCOUNTS_URL=..., admin: ...
            line = line.strip()
            if line.startswith("SPOTIFY_API_URL="):
                self.api_url = line.split("=", 1)[1]
            elif line.startswith("SPOTIFY_ACCOUNTS_URL="):
                self.accounts_url = line.split("=", 1)[1]
            elif line.startswith("admin:"):
                break
        if not (self.api_url and self.accounts_url):
            raise RuntimeError(f"emulator did not start (exit code {self.proc.poll()})")
        while True:  # listening since the banner; wait until it answers
            try:
                self.stats()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("emulator not ready") from None
                time.sleep(0.05)

    def _admin(self, path: str, method: str = "GET") -> dict:
        req = urllib.request.Request(self.accounts_url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return orjson.loads(r.read())

    def stats(self) -> dict:
        return self._admin("/_admin/stats")

    def reset_stats(self) -> None:
        self._admin("/_admin/reset-stats", "POST")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()


def settings(srv, args, mode: str = "extended", **kw) -> SpotifyApiSettings:
    return SpotifyApiSettings(client_id=EMULATOR_CLIENT_ID, client_secret=EMULATOR_CLIENT_SECRET,
                              refresh_token=EMULATOR_REFRESH_TOKEN, api_url=srv.api_url,
                              accounts_url=srv.accounts_url, mode=mode, max_workers=args.workers,
                              rate_limit_per_30s=args.rate_limit, backoff_base_s=0.05, backoff_cap_s=1.0, **kw)


class LineSink:
    """Keeps each record as its JSON line, as the lake's raw writer does, instead of the parsed objects:
    an in-memory sink of parsed bodies (500+ MB of JSON at the larger scale) makes the client's garbage
    collector walk an ever-growing heap, which the production crawl never does (measured: 10.8 s of
    15.5 s client CPU for 2,809 requests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[tuple[str, bytes]] = []

    def write(self, source: str, envelope: dict) -> None:
        line = orjson.dumps(envelope)
        with self._lock:
            self._lines.append((source, line))

    def __len__(self) -> int:
        return len(self._lines)

    @property
    def records(self):
        return ((s, orjson.loads(line)) for s, line in self._lines)

    def by_source(self, source: str):
        return (orjson.loads(line) for s, line in self._lines if s == source)


def record_set(records):
    return {(s, e["request"], e["status"], _BASE.sub(b"E", orjson.dumps(e["body"], option=orjson.OPT_SORT_KEYS)))
            for s, e in records}


def pick_seeds(srv, args, mode: str = "extended") -> CrawlSeeds:
    if args.scale == "small":
        return CrawlSeeds(playlist_ids=[])
    client = SpotifyClient(settings(srv, args, mode))
    ids, tracks, offset = [], 0, 0
    while tracks < args.tracks:
        body = client.get("me/playlists", {"limit": 50, "offset": offset}).body
        for p in body["items"]:
            ids.append(p["id"])
            tracks += (p.get("tracks") or p.get("items") or {}).get("total", 0)
            if tracks >= args.tracks:
                break
        offset += 50
        if offset >= body["total"]:
            break
    return CrawlSeeds(playlist_ids=ids, include_my_playlists=False)


def naive_requests(sink: LineSink) -> tuple[int, list[dict]]:
    """Seed-style Lambda: every playlist page at limit 100, then per track item one track, one album and
    one artist call per credited artist (no batching, no de-duplication)."""
    n = 0
    tracks = []
    for env in sink.by_source("playlists"):
        if env["status"] != 200:
            continue
        page = env["body"].get("tracks") or env["body"].get("items")
        n += 1 + math.ceil(max(0, page["total"] - 100) / 100)
    for s, env in sink.records:
        if s in ("playlists", "playlist_items") and env["status"] == 200:
            page = env["body"].get("tracks") or env["body"].get("items") if s == "playlists" else env["body"]
            for it in page.get("items", []):
                t = it.get("track") or it.get("item")
                if t and t.get("type") == "track" and t.get("id"):
                    tracks.append(t)
                    n += 2 + len(t.get("artists") or [])
    return n, tracks


def run_naive_subset(srv, tracks: list[dict], n: int) -> tuple[int, float]:
    token = SpotifyClient(settings(srv, argparse.Namespace(workers=1, rate_limit=None))).tokens.token()
    sp = spotipy.Spotify(auth=token, retries=0, status_retries=0)
    sp.prefix = srv.api_url
    calls = 0
    t0 = time.monotonic()
    for t in tracks[:n]:
        sp.track(t["id"])
        sp.album(t["album"]["id"])
        calls += 2
        for a in t["artists"]:
            sp.artist(a["id"])
            calls += 1
    return calls, time.monotonic() - t0


def crawl_day(srv, args, mode: str, seeds: CrawlSeeds, sink: LineSink, today: date, previous=None):
    """One day's crawl into ``sink``, counted from a reset of the emulator's stats. Returns (report, requests
    the emulator counted)."""
    srv.reset_stats()
    report = run_crawl(SpotifyClient(settings(srv, args, mode)), seeds, sink, previous=previous, today=today,
                       logger=logging.getLogger("bench"))
    time.sleep(0.2)
    return report, emulator_api_requests(srv)


def next_day(srv, args, mode: str, seeds: CrawlSeeds, day1: LineSink, today: date):
    """Day 2 of an unchanged library: the same seeds crawled a day later with day 1 as the previous
    partition (the emulator's clock is not moved). Returns (report, requests the emulator counted)."""
    return crawl_day(srv, args, mode, seeds, LineSink(), today + timedelta(days=1), previous=day1.records)


def api_requests(stats: dict) -> int:
    """The ``/v1/`` requests in the emulator's stats (its accounts and admin requests left out)."""
    return sum(v for k, v in stats["requests"].items() if " /v1/" in k)


def emulator_api_requests(srv) -> int:
    return api_requests(srv.stats())


def print_incremental(mode: str, day1, day1_emu: int, day2, day2_emu: int, target: float | None) -> None:
    ratio = day2.total_requests / day1.total_requests
    verdict = f", target <= {target:.0%}: {'met' if ratio <= target else 'MISSED'}" if target else ""
    print(f"  {mode:<12} day 1 {day1.total_requests} requests (emulator {day1_emu}), day 2 {day2.total_requests} "
          f"(emulator {day2_emu}) = {100 * ratio:.1f}% of day 1{verdict}")
    print(f"  {'':<12} day 2: playlists {day2.playlists_unchanged} unchanged of {day2.playlists_total}; albums "
          f"{day2.albums_carried} carried / {day2.albums_fetched} looked up; artists {day2.artists_carried} carried "
          f"/ {day2.artists_fetched} looked up; requests {day2.minimum_breakdown}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=["small", "large-ish"], default="small")
    ap.add_argument("--tracks", type=int, default=50_000, help="large-ish: playlists up to this many items")
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--rate-limit", type=int, default=3000, help="requests per rolling 30 s")
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--naive-subset", type=int, default=100, help="tracks crawled the naive way, for its rate")
    ap.add_argument("--no-faults", action="store_true")
    ap.add_argument("--trim", type=float, default=0.1, help="steady state: fraction of requests cut at each end")
    ap.add_argument("--no-incremental", action="store_true", help="skip the two-day (incremental crawl) runs")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scale = "small" if args.scale == "small" else "large"

    srv = EmulatorProcess(scale=scale, latency_ms=args.latency_ms, rate_limit=args.rate_limit)
    try:
        seeds = pick_seeds(srv, args)
        srv.reset_stats()
        sink = LineSink()
        client = SpotifyClient(settings(srv, args))
        # the crawl ages carried copies by this day (its fetched_at is the wall clock)
        today = datetime.now(UTC).date()
        report = run_crawl(client, seeds, sink, logger=logging.getLogger("bench"), today=today)
        steady = steady_state(client.stats.timeline, args.trim)
        time.sleep(0.2)
        emu = srv.stats()
        emu_api = api_requests(emu)
        if not args.no_incremental:
            ext_day2, ext_day2_emu = next_day(srv, args, "extended", seeds, sink, today)
        naive, tracks = naive_requests(sink)
        calls, secs = run_naive_subset(srv, tracks, args.naive_subset)
    finally:
        srv.stop()
    limit_rps = args.rate_limit / 30
    # steady state: the look-up/page phases; the rate over the whole run includes the ramp-up
    print(f"emulator: separate process, GC thresholds raised by its __main__; {args.workers} workers, "
          f"{args.latency_ms:g} ms latency, limit {args.rate_limit}/30 s")
    print(f"scale={args.scale} playlists={report.playlists_total} track items={len(tracks)} "
          f"unique tracks={report.tracks} albums={report.albums} artists={report.artists}")
    print(f"requests made           {report.total_requests} (emulator counted {emu_api})")
    print(f"minimum                 {report.minimum_requests}  breakdown {report.minimum_breakdown}")
    print(f"naive seed-style crawl  {naive} requests  ({naive / report.total_requests:.1f}x more)")
    print(f"naive subset measured   {calls} spotipy calls in {secs:.1f} s = {calls / secs:.1f} req/s "
          f"(sequential) -> full naive run ~{naive / (calls / secs) / 60:.0f} min")
    print(f"wall time               {report.seconds:.1f} s")
    print(f"steady-state rate       {steady['rps']:.1f} req/s vs limit {limit_rps:.1f} req/s = "
          f"{100 * steady['rps'] / limit_rps:.0f}%  ({steady['requests']} requests in {steady['seconds']:.1f} s, "
          f"first/last {100 * args.trim:.0f}% excluded; 429s there: {steady['rate_limited']})")
    print(f"whole-run rate          {report.total_requests / report.seconds:.1f} req/s vs limit "
          f"{limit_rps:.1f} req/s = {100 * report.total_requests / report.seconds / limit_rps:.0f}%  "
          f"(requests / wall time; first-to-last completion {steady['whole_rps']:.1f} req/s)  "
          f"429s={report.rate_limited} (emulator {emu['rate_limited_429']})")
    print(f"bytes                   {report.bytes / 1e6:.1f} MB")
    if not args.no_incremental:
        srv = EmulatorProcess(scale=scale, latency_ms=args.latency_ms, rate_limit=args.rate_limit, mode="development")
        try:
            dev_seeds = pick_seeds(srv, args, "development")
            dev_sink = LineSink()
            dev_day1, dev_day1_emu = crawl_day(srv, args, "development", dev_seeds, dev_sink, today)
            dev_day2, dev_day2_emu = next_day(srv, args, "development", dev_seeds, dev_sink, today)
        finally:
            srv.stop()
        print(f"incremental crawl, unchanged library: the same seeds the next day, day 1 as the previous partition "
              f"(album/artist copies younger than {dev_day2.full_copy_max_age_days} days carried; extended mode "
              f"looks artists up daily)")
        print_incremental("extended", report, emu_api, ext_day2, ext_day2_emu, None)
        print_incremental("development", dev_day1, dev_day1_emu, dev_day2, dev_day2_emu, 0.15)
    if args.no_faults:
        return
    srv = EmulatorProcess(scale=scale, latency_ms=args.latency_ms, rate_limit=args.rate_limit, fault_rate=0.1)
    try:
        sink_f = LineSink()
        rep_f = run_crawl(SpotifyClient(settings(srv, args)), seeds, sink_f)
    finally:
        srv.stop()
    same = record_set(sink_f.records) == record_set(sink.records)
    print(f"fault_rate=0.1 run      {rep_f.total_requests} requests, {rep_f.retries} retries "
          f"({rep_f.rate_limited} x429, {rep_f.server_errors} x5xx, {rep_f.dropped_connections} dropped), "
          f"{rep_f.seconds:.1f} s; records identical to clean run: {same} "
          f"({len(sink_f)} vs {len(sink)})")


if __name__ == "__main__":
    main()
