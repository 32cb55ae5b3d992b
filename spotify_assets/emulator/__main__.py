"""``python -m spotify_assets.emulator``: serve the emulator in the foreground;
``python -m spotify_assets.emulator export --out PATH``: write its demo user's account-data export."""

from __future__ import annotations

import argparse
import gc
import signal
import sys
import time
from datetime import date, datetime

from . import EMULATOR_CLIENT_ID, EMULATOR_CLIENT_SECRET, EMULATOR_REFRESH_TOKEN, EmulatorConfig
from .server import EmulatorServer


def _stop(signum, frame) -> None:
    raise KeyboardInterrupt


def export_main(argv: list[str]) -> None:
    """Write the demo user's account-data export (the history behind the emulator's API)."""
    from .export import DEFAULT_FIRST_DAY, GENERATIONS, write_export

    ap = argparse.ArgumentParser(prog="python -m spotify_assets.emulator export", description=export_main.__doc__)
    ap.add_argument("--out", required=True, help="the .zip to write (with --folder: the folder)")
    ap.add_argument("--generation", choices=GENERATIONS, default="extended",
                    help="extended (current), endsong (older) or account_data (the last year); default extended")
    ap.add_argument("--variant", default="default",
                    help="endsong: location (the 2020-era files with city, region...); account_data: combined "
                         "(the older StreamingHistory<n>.json)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", choices=["tiny", "small", "large"], default="small")
    ap.add_argument("--now", type=datetime.fromisoformat, default=None,
                    help="the emulator's clock, e.g. 2026-11-24T13:05:00Z (default: now); streams up to it are written")
    ap.add_argument("--first-day", type=date.fromisoformat, default=None,
                    help=f"the first day of the history, YYYY-MM-DD (default {DEFAULT_FIRST_DAY})")
    ap.add_argument("--streams", type=int, default=None, help="about this many streams in total")
    ap.add_argument("--folder", action="store_true", help="write the extracted folder instead of a zip")
    ap.add_argument("--max-file-mb", type=float, default=None, help="split history files at about this size")
    a = ap.parse_args(argv)
    started = time.perf_counter()
    try:
        truth = write_export(a.out, seed=a.seed, scale=a.scale, now=a.now, first_day=a.first_day,
                             generation=a.generation, variant=a.variant, zipped=not a.folder,
                             target_streams=a.streams,
                             max_file_bytes=int(a.max_file_mb * 1_000_000) if a.max_file_mb else None,
                             log=lambda line: print(line, file=sys.stderr, flush=True))
    except ValueError as e:
        ap.error(str(e))
    print(f"wrote {a.out} ({truth.generation}, {truth.variant}): {len(truth.streams):,} streams in "
          f"{len(truth.files)} history files ({truth.records:,} records, {truth.duplicates} duplicates), "
          f"{len(truth.other_files)} other files; {truth.first_day} to {truth.now.isoformat(timespec='seconds')}; "
          f"{len(truth.api_plays()):,} are plays of the API; {time.perf_counter() - started:.1f} s")


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["export"]:
        export_main(argv[1:])
        return
    ap = argparse.ArgumentParser(prog="python -m spotify_assets.emulator", description=__doc__,
                                 epilog="python -m spotify_assets.emulator export --help: the account-data export")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--scale", choices=["tiny", "small", "large"], default="small")
    ap.add_argument("--mode", choices=["extended", "development"], default="extended")
    ap.add_argument("--latency-ms", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--rate-limit", type=int, default=None, help="max requests per rolling 30 s window")
    ap.add_argument("--token-lifetime", type=float, default=3600)
    ap.add_argument("--today", type=date.fromisoformat, default=None, help="catalog clock, YYYY-MM-DD")
    ap.add_argument("--now", type=datetime.fromisoformat, default=None,
                    help="the whole clock, e.g. 2026-11-24T13:05:00Z (only plays up to it exist); overrides --today")
    ap.add_argument("--dev-keep-disputed-fields", action="store_true",
                    help="development mode: also send external_ids, label, linked_from and album_group "
                         "(left out by default: sources disagree on whether Spotify still sends them)")
    a = ap.parse_args(argv)
    # Served on its own, the emulator's LRU caches hold millions of objects; with Python's default
    # thresholds its full collections stalled every handler thread for 0.3-0.44 s, 17 times a large
    # crawl. Real Spotify has no such pauses, so the standalone server collects far less often.
    gc.set_threshold(100_000, 50, 1000)
    cfg = EmulatorConfig(port=a.port, seed=a.seed, scale=a.scale, mode=a.mode, latency_ms=a.latency_ms,
                         fault_rate=a.fault_rate, rate_limit=a.rate_limit, token_lifetime_s=a.token_lifetime,
                         today=a.today, now=a.now, dev_keep_disputed_fields=a.dev_keep_disputed_fields)
    # A parent that ignored SIGTERM/SIGINT while it forked us (some test runners, process supervisors) passes
    # that on: without its own handlers the server would outlive every polite request to stop.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server = EmulatorServer(cfg)
    c = server.music.counts()
    kept = ", disputed fields kept" if cfg.mode == "development" and cfg.dev_keep_disputed_fields else ""
    print(f"Spotify emulator ({cfg.scale}, seed {cfg.seed}, {cfg.mode} mode{kept}) - {c}", flush=True)
    print(f"  SPOTIFY_API_URL={server.api_url}")
    print(f"  SPOTIFY_ACCOUNTS_URL={server.accounts_url}")
    print(f"  SPOTIFY_CLIENT_ID={EMULATOR_CLIENT_ID}  SPOTIFY_CLIENT_SECRET={EMULATOR_CLIENT_SECRET}")
    print(f"  SPOTIFY_REFRESH_TOKEN={EMULATOR_REFRESH_TOKEN}")
    print(f"  admin: {server.base_url}/_admin/stats  /_admin/catalog  /_admin/clock", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
