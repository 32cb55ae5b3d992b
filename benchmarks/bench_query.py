"""Bytes scanned by the analytics queries: Parquet lake (as Athena bills it) vs a crawler table over raw JSON.

    .venv/bin/python benchmarks/bench_query.py [--days 30] [--playlists 150] [--out DIR] [--keep]

1. Generates ``--days`` daily partitions of synthetic, Spotify-shaped raw responses (the raw zone's envelopes,
   jsonl.gz: playlists, playlist item pages with full track objects, tracks, albums, artists batches —
   including ``available_markets``, images, external URLs, as the Web API returns them).
2. Builds the Parquet partitions with the colleague's transform (``transform_partition``) when it accepts the
   data, else with this script's own writer (printed).
3. For every analytics query, estimates the bytes Athena would scan: it parses the SQL with sqlglot, takes
   the columns each referenced table uses, and sums the Parquet ``total_compressed_size`` of those columns'
   chunks in the partitions the query reads (1 day, and a 30-day window). The raw-JSON alternative (the
   seed's Glue-crawler table) has to read whole files. Two figures for it, for the same days: the responses
   as plain JSON files (what a crawler table over JSON as an extractor lands it scans; the 2% target is set
   against this one), and our gzip raw zone (a crawler table over it scans the compressed bytes: all
   sources, and only the sources behind the tables used). Athena's 10 MB per-query minimum charge is
   ignored in every column.
4. Runs each query once on DuckDB over the generated lake as a sanity check.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import os
import random
import shutil
import sys
import tempfile
import time

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from spotify_assets.lake.paths import raw_file  # noqa: E402
from spotify_assets.lake.publication.manifests import published_file  # noqa: E402
from spotify_assets.lake.publication.publish import publish  # noqa: E402
from spotify_assets.lake.publication.staging import Staging  # noqa: E402
from spotify_assets.lake.storage import Lake  # noqa: E402
from spotify_assets.sql import ANALYTICS, analytics_params, render_analytics, run_analytics  # noqa: E402
from spotify_assets.tables import TABLES  # noqa: E402

MARKETS = [a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "AEIOUSTRN"][:185]
GENRES = [f"{a} {b}" for a in ("indie", "dark", "nu", "swedish", "latin", "uk", "k") for b in ("pop", "rock", "jazz", "trap", "folk", "house", "soul", "metal")]
TABLE_SOURCE = {
    "playlists": "playlists", "playlist_items": "playlist_items", "tracks": "tracks", "track_artists": "tracks",
    "albums": "albums", "album_artists": "albums", "artists": "artists", "artist_genres": "artists",
}
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def sid(rng: random.Random) -> str:
    return "".join(rng.choice(B62) for _ in range(22))


_IMAGE_HASHES: dict[str, list[str]] = {}


def images(rng, kind, id_):
    # Real image URLs carry a content hash per entity and size (stable from day to day).
    hashes = _IMAGE_HASHES.setdefault(id_, [f"{rng.getrandbits(96):024x}" for _ in range(3)])
    return [{"url": f"https://i.scdn.co/image/ab67616d0000{size:04x}{h}", "height": size, "width": size}
            for size, h in zip((640, 300, 64), hashes, strict=True)]


class World:
    """A synthetic catalog that drifts a little every day."""

    def __init__(self, seed: int, n_playlists: int, items_per_playlist: int, n_tracks: int, n_artists: int, n_albums: int):
        rng = self.rng = random.Random(seed)
        self.artists = {sid(rng): {"name": f"Artist {i}", "followers": rng.randint(10, 5_000_000), "popularity": rng.randint(0, 100),
                                   "genres": rng.sample(GENRES, rng.randint(0, 3))} for i in range(n_artists)}
        artist_ids = list(self.artists)
        self.albums = {sid(rng): {"name": f"Album {i}", "type": rng.choice(["album", "single", "compilation"]),
                                  "release": f"{rng.randint(1970, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                                  "artists": rng.sample(artist_ids, rng.choice([1, 1, 2])), "total": rng.randint(1, 20),
                                  "label": f"Label {rng.randint(1, 300)}", "popularity": rng.randint(0, 100),
                                  "upc": str(rng.randint(10**11, 10**12))} for i in range(n_albums)}
        album_ids = list(self.albums)
        self.tracks = {}
        for i in range(n_tracks):
            album = rng.choice(album_ids)
            self.tracks[sid(rng)] = {"name": f"Track {i}", "album": album,
                                     "artists": self.albums[album]["artists"] + rng.sample(artist_ids, rng.choice([0, 0, 1])),
                                     "duration": rng.randint(90_000, 400_000), "explicit": rng.random() < 0.2,
                                     "popularity": rng.randint(0, 100), "isrc": f"US{rng.randint(10**8, 10**9)}",
                                     "track_number": rng.randint(1, 15)}
        self.track_ids = list(self.tracks)
        self.playlists = {sid(rng): {"name": f"Playlist {i}", "owner": f"user{rng.randint(1, 50)}", "followers": rng.randint(0, 10**6),
                                     "items": rng.sample(self.track_ids, items_per_playlist)} for i in range(n_playlists)}

    def drift(self):
        rng = self.rng
        for t in self.tracks.values():
            t["popularity"] = max(0, min(100, t["popularity"] + rng.randint(-2, 2)))
        for a in self.artists.values():
            a["popularity"] = max(0, min(100, a["popularity"] + rng.randint(-1, 1)))
            a["followers"] += rng.randint(0, 500)
        for p in self.playlists.values():
            if rng.random() < 0.3:
                p["items"].pop(rng.randrange(len(p["items"])))
                p["items"].append(rng.choice(self.track_ids))

    # -- Web API shaped objects --------------------------------------------------------------------------
    def artist_simple(self, a):
        return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{a}"}, "href": f"https://api.spotify.com/v1/artists/{a}",
                "id": a, "name": self.artists[a]["name"], "type": "artist", "uri": f"spotify:artist:{a}"}

    def artist_full(self, a):
        x = self.artists[a]
        return {**self.artist_simple(a), "followers": {"href": None, "total": x["followers"]}, "genres": x["genres"],
                "images": images(self.rng, "artist", a), "popularity": x["popularity"]}

    def album_simple(self, al):
        x = self.albums[al]
        return {"album_type": x["type"], "total_tracks": x["total"], "available_markets": MARKETS,
                "external_urls": {"spotify": f"https://open.spotify.com/album/{al}"}, "href": f"https://api.spotify.com/v1/albums/{al}",
                "id": al, "images": images(self.rng, "album", al), "name": x["name"], "release_date": x["release"],
                "release_date_precision": "day", "type": "album", "uri": f"spotify:album:{al}",
                "artists": [self.artist_simple(a) for a in x["artists"]]}

    def album_full(self, al):
        x = self.albums[al]
        return {**self.album_simple(al), "copyrights": [{"text": f"(C) {x['label']}", "type": "C"}], "external_ids": {"upc": x["upc"]},
                "genres": [], "label": x["label"], "popularity": x["popularity"],
                "tracks": {"href": f"https://api.spotify.com/v1/albums/{al}/tracks", "limit": 50, "next": None, "offset": 0,
                           "previous": None, "total": 0, "items": []}}

    def track_full(self, t):
        x = self.tracks[t]
        return {"album": self.album_simple(x["album"]), "artists": [self.artist_simple(a) for a in x["artists"]],
                "available_markets": MARKETS, "disc_number": 1, "duration_ms": x["duration"], "explicit": x["explicit"],
                "external_ids": {"isrc": x["isrc"]}, "external_urls": {"spotify": f"https://open.spotify.com/track/{t}"},
                "href": f"https://api.spotify.com/v1/tracks/{t}", "id": t, "is_local": False, "name": x["name"],
                "popularity": x["popularity"], "preview_url": None, "track_number": x["track_number"], "type": "track",
                "uri": f"spotify:track:{t}"}


def envelope(request: str, body, day: str) -> bytes:
    return orjson.dumps({"request": request, "status": 200, "fetched_at": f"{day}T06:00:00Z", "body": body}) + b"\n"


def write_raw_day(lake: Lake, w: World, day: str) -> None:
    out = {s: io.BytesIO() for s in ("playlists", "playlist_items", "tracks", "albums", "artists")}
    for p, x in w.playlists.items():
        out["playlists"].write(envelope(f"/v1/playlists/{p}", {
            "collaborative": False, "description": f"The best of {x['name']}", "external_urls": {"spotify": f"https://open.spotify.com/playlist/{p}"},
            "followers": {"href": None, "total": x["followers"]}, "href": f"https://api.spotify.com/v1/playlists/{p}", "id": p,
            "images": images(w.rng, "pl", p), "name": x["name"], "owner": {"id": x["owner"], "type": "user", "display_name": x["owner"]},
            "public": True, "snapshot_id": f"{p}{day}", "tracks": {"href": f"https://api.spotify.com/v1/playlists/{p}/tracks", "total": len(x["items"])},
            "type": "playlist", "uri": f"spotify:playlist:{p}"}, day))
        for off in range(0, len(x["items"]), 100):
            page = x["items"][off : off + 100]
            out["playlist_items"].write(envelope(f"/v1/playlists/{p}/tracks?offset={off}&limit=100", {
                "href": f"https://api.spotify.com/v1/playlists/{p}/tracks?offset={off}&limit=100", "limit": 100, "next": None,
                "offset": off, "previous": None, "total": len(x["items"]),
                "items": [{"added_at": "2024-01-01T00:00:00Z", "added_by": {"id": x["owner"], "type": "user"}, "is_local": False,
                           "track": w.track_full(t)} for t in page]}, day))
    for i in range(0, len(w.track_ids), 50):
        ids = w.track_ids[i : i + 50]
        out["tracks"].write(envelope(f"/v1/tracks?ids={','.join(ids)}", {"tracks": [w.track_full(t) for t in ids]}, day))
    album_ids = list(w.albums)
    for i in range(0, len(album_ids), 20):
        ids = album_ids[i : i + 20]
        out["albums"].write(envelope(f"/v1/albums?ids={','.join(ids)}", {"albums": [w.album_full(a) for a in ids]}, day))
    artist_ids = list(w.artists)
    for i in range(0, len(artist_ids), 50):
        ids = artist_ids[i : i + 50]
        out["artists"].write(envelope(f"/v1/artists?ids={','.join(ids)}", {"artists": [w.artist_full(a) for a in ids]}, day))
    for source, buf in out.items():
        lake.write_bytes(raw_file(source, day, "spotify_assets"), gzip.compress(buf.getvalue(), compresslevel=6))


def write_parquet_day(lake: Lake, w: World, day: str) -> None:
    """This script's own writer (used when the transform is unavailable or rejects the synthetic data)."""
    rows = {t: [] for t in TABLES}
    for p, x in w.playlists.items():
        rows["playlists"].append({"playlist_id": p, "name": x["name"], "description": f"The best of {x['name']}", "owner_id": x["owner"],
                                  "public": True, "collaborative": False, "followers": x["followers"], "snapshot_id": f"{p}{day}",
                                  "total_items": len(x["items"])})
        rows["playlist_items"] += [{"playlist_id": p, "position": i, "item_type": "track", "item_id": t,
                                    "added_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "added_by_id": x["owner"]} for i, t in enumerate(x["items"])]
    for t, x in w.tracks.items():
        rows["tracks"].append({"track_id": t, "name": x["name"], "album_id": x["album"], "duration_ms": x["duration"], "explicit": x["explicit"],
                               "popularity": x["popularity"], "isrc": x["isrc"], "disc_number": 1, "track_number": x["track_number"]})
        rows["track_artists"] += [{"track_id": t, "artist_id": a, "position": i} for i, a in enumerate(dict.fromkeys(x["artists"]))]
    for al, x in w.albums.items():
        rows["albums"].append({"album_id": al, "name": x["name"], "album_type": x["type"], "release_date": dt.date.fromisoformat(x["release"]),
                               "release_date_precision": "day", "total_tracks": x["total"], "label": x["label"], "popularity": x["popularity"], "upc": x["upc"]})
        rows["album_artists"] += [{"album_id": al, "artist_id": a, "position": i} for i, a in enumerate(x["artists"])]
    for a, x in w.artists.items():
        rows["artists"].append({"artist_id": a, "name": x["name"], "followers": x["followers"], "popularity": x["popularity"]})
        rows["artist_genres"] += [{"artist_id": a, "genre": g} for g in x["genres"]]
    for table, spec in TABLES.items():
        data = pa.Table.from_pylist(rows[table], schema=spec.schema).sort_by([(k, "ascending") for k in spec.key])
        buf = io.BytesIO()
        pq.write_table(data, buf, compression="zstd")
        staging = Staging(lake, day, "bench-writer")
        lake.write_bytes(staging.file("transformed", table), buf.getvalue())
        publish(staging, [("transformed", table)])
        staging.discard()


def build_parquet(lake: Lake, w: World, day: str) -> str:
    try:
        from spotify_assets.publish.wap import transform_day

        outcome = transform_day(lake, day, run_id=f"bench-{day}")
        rows = outcome.result.row_counts
        if not outcome.held_back and rows.get("playlist_items", 0) and rows.get("artists", 0):
            return "transform"
    except Exception as exc:  # the transform is a colleague's work in progress
        print(f"  transform unavailable for {day} ({type(exc).__name__}: {exc}); using the script's writer", file=sys.stderr)
    write_parquet_day(lake, w, day)
    return "script writer"


# -- scan estimates ---------------------------------------------------------------------------------------------------
def columns_used(sql: str) -> dict[str, set[str]]:
    """Lake tables referenced by ``sql`` and the columns of each it may read (unqualified names are
    attributed to every referenced table that has them: an over-estimate, as Athena's pruning is exact)."""
    tree = sqlglot.parse_one(sql, read="trino")
    cte_names = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    aliases: dict[str, str] = {}
    tables: set[str] = set()
    for t in tree.find_all(exp.Table):
        if t.name in TABLES and t.name not in cte_names:
            tables.add(t.name)
            aliases[t.alias_or_name] = t.name
    used = {t: set() for t in tables}
    for col in tree.find_all(exp.Column):
        if col.table and col.table in aliases:
            targets = [aliases[col.table]]
        elif col.table:
            continue  # a CTE's column
        else:
            targets = list(tables)
        for t in targets:
            if col.name in TABLES[t].schema.names:
                used[t].add(col.name)
    return used


def parquet_bytes(lake: Lake, table: str, columns: set[str], days: list[str]) -> int:
    total = 0
    for day in days:
        rel = published_file(lake, "transformed", table, day)
        if rel is not None:
            meta = pq.ParquetFile(lake.uri(rel)).metadata
            for rg in range(meta.num_row_groups):
                group = meta.row_group(rg)
                for c in range(group.num_columns):
                    chunk = group.column(c)
                    if chunk.path_in_schema.split(".")[0] in columns:
                        total += chunk.total_compressed_size
    return total


def raw_bytes(lake: Lake, sources: set[str], days: list[str]) -> int:
    return sum(f.size for s in sources for d in days for f in lake.list_files(f"raw/{s}/dt={d}", suffix=".jsonl.gz"))


_JSON_BYTES: dict[str, int] = {}


def raw_json_bytes(lake: Lake, sources: set[str], days: list[str]) -> int:
    """Uncompressed bytes of the same responses: what a crawler table over plain JSON files scans."""
    total = 0
    for s in sources:
        for d in days:
            for f in lake.list_files(f"raw/{s}/dt={d}", suffix=".jsonl.gz"):
                if f.path not in _JSON_BYTES:
                    _JSON_BYTES[f.path] = len(gzip.decompress(lake.read_bytes(f.path)))
                total += _JSON_BYTES[f.path]
    return total


def query_days(name: str, params: dict) -> list[str]:
    end = dt.date.fromisoformat(params["dt"])
    start = dt.date.fromisoformat(params.get("start_dt", params["dt"]))
    return [(start + dt.timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]


def fmt(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--playlists", type=int, default=150)
    ap.add_argument("--items", type=int, default=40, help="items per playlist")
    ap.add_argument("--tracks", type=int, default=3000)
    ap.add_argument("--artists", type=int, default=1000)
    ap.add_argument("--albums", type=int, default=1200)
    ap.add_argument("--out", help="lake directory (default: a temporary one, removed unless --keep)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)

    root = args.out or tempfile.mkdtemp(prefix="bench-query-")
    lake = Lake(os.path.join(root, "lake"))
    world = World(7, args.playlists, args.items, args.tracks, args.artists, args.albums)
    last = dt.date(2026, 11, 24)
    days = [(last - dt.timedelta(days=args.days - 1 - i)).isoformat() for i in range(args.days)]
    started = time.perf_counter()
    builders = set()
    for day in days:
        world.drift()
        write_raw_day(lake, world, day)
        builders.add(build_parquet(lake, world, day))
    print(f"generated {len(days)} days ({days[0]} .. {days[-1]}) in {time.perf_counter() - started:.1f}s; "
          f"Parquet by: {', '.join(sorted(builders))}; lake: {root}")
    per_day_raw = raw_bytes(lake, set(TABLE_SOURCE.values()), [days[-1]])
    per_day_pq = sum(parquet_bytes(lake, t, set(TABLES[t].schema.names), [days[-1]]) for t in TABLES)
    print(f"one day: raw {fmt(per_day_raw)} (jsonl.gz, 5 sources) vs Parquet {fmt(per_day_pq)} (8 tables, zstd)\n")

    dt_ = days[-1]
    # The catalog's analytics; the listening ones read the user's plays, which this generator does not make.
    measured = [name for name in ANALYTICS if name in ("daily_top_tracks", "artist_trend", "genre_share",
                                                       "playlist_churn")]
    scenarios = {
        "1 day": {"daily_top_tracks": {}, "genre_share": {}, "artist_trend": {"days": 1}, "playlist_churn": {"lookback_days": 1}},
        f"{args.days} days": {"daily_top_tracks": None, "genre_share": None, "artist_trend": {"days": args.days},
                              "playlist_churn": {"lookback_days": args.days - 1}},
    }
    header = (f"{'query':<18} {'window':<8} {'parts':>5} {'columns read':<62} {'parquet':>10} {'JSON':>10} "
              f"{'ratio':>7} {'gz (all)':>10} {'ratio':>7} {'gz (srcs)':>10} {'ratio':>7}")
    print(header)
    print("-" * len(header))
    worst_json = 0.0
    for window, queries in scenarios.items():
        for name in measured:
            overrides = queries[name]
            if overrides is None:  # a single-day query over N days = N daily runs (a backfill)
                runs = [render_analytics(name, d) for d in days]
                run_days = [[d] for d in days]
            else:
                params = analytics_params(name, dt_, **overrides)
                runs = [render_analytics(name, dt_, **overrides)]
                run_days = [query_days(name, params)]
            pq_total = raw_total = raw_all = json_all = 0
            cols_desc = ""
            for sql, qdays in zip(runs, run_days, strict=True):
                used = columns_used(sql)
                pq_total += sum(parquet_bytes(lake, t, cols, qdays) for t, cols in used.items())
                raw_total += raw_bytes(lake, {TABLE_SOURCE[t] for t in used}, qdays)
                raw_all += raw_bytes(lake, set(TABLE_SOURCE.values()), sorted(set(qdays)))
                json_all += raw_json_bytes(lake, set(TABLE_SOURCE.values()), sorted(set(qdays)))
                cols_desc = "; ".join(f"{t}({len(c)}/{len(TABLES[t].schema)})" for t, c in sorted(used.items()))
            n_parts = sum(len(d) for d in run_days)
            print(f"{name:<18} {window:<8} {n_parts:>5} {cols_desc:<62} {fmt(pq_total):>10} {fmt(json_all):>10} "
                  f"{100 * pq_total / json_all:>6.2f}% {fmt(raw_all):>10} {100 * pq_total / raw_all:>6.2f}% "
                  f"{fmt(raw_total):>10} {100 * pq_total / raw_total:>6.2f}%")
            if window == "1 day":
                worst_json = max(worst_json, 100 * pq_total / json_all)
    print("\ncolumns read: table(columns used/columns in table). JSON = the same responses as plain JSON files "
          "(the seed's approach: a crawler table over the JSON the extractor lands; the target is set against it);\n"
          "gz (all) = every jsonl.gz file of our raw zone for the days read (a crawler table over our raw zone); "
          "gz (srcs) = only the sources behind the tables used.")
    ids = parquet_bytes(lake, "tracks", {"track_id"}, [dt_])
    print(f"\ntarget (single-day queries ≤ 2% of the JSON a crawler table scans): worst {worst_json:.2f}% "
          f"{'OK' if worst_json <= 2 else 'MISSED'}.\nAgainst gzip JSON the queries that read every track id of the "
          f"day cannot get there: tracks.track_id alone (random 22-character ids, incompressible) is "
          f"{100 * ids / per_day_raw:.2f}% of one day's raw gz.")

    from spotify_assets.warehouse.duckdb_engine import DuckDBEngine

    engine = DuckDBEngine(lake, os.path.join(root, "bench.duckdb"))
    engine.refresh_tables()
    print("\nDuckDB sanity run (rows, ms):", ", ".join(
        f"{n}={(r := run_analytics(engine, n, dt_)).num_rows}/{r.engine_ms:.0f}" for n in measured))
    print(f"not measured (no listening data in this generator): {', '.join(sorted(set(ANALYTICS) - set(measured)))}")
    if not args.out and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
