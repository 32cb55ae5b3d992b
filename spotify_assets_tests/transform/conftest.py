"""Fixtures for the transform tests: a temporary lake and builders of OpenAPI-shaped objects."""

from __future__ import annotations

import gzip
import itertools

import orjson
import pytest

from spotify_assets.lake.storage import Lake

PARTITION = "2026-11-24"
FETCHED = "2026-11-24T06:00:00Z"


def sid(label: str) -> str:
    """A valid 22-character base62 Spotify ID derived from ``label``."""
    base = "".join(ch for ch in label if ch.isalnum())
    return (base + "0" * 22)[:22]


def simple_artist(label: str, name: str | None = None) -> dict:
    i = sid(label)
    return {"external_urls": {"spotify": f"https://open.spotify.com/artist/{i}"}, "href": f"https://api.spotify.com/v1/artists/{i}",
            "id": i, "name": name or f"Artist {label}", "type": "artist", "uri": f"spotify:artist:{i}"}


def full_artist(label: str, *, followers=1000, popularity=50, genres=("pop",), name=None) -> dict:
    a = simple_artist(label, name)
    a.update({"followers": {"href": None, "total": followers}, "genres": list(genres), "images": [],
              "popularity": popularity})
    return a


def simple_album(label: str, *, artists=("ar1",), release_date="2020-05-01", precision="day", name=None,
                 markets=("DE", "US")) -> dict:
    i = sid(label)
    return {"album_type": "album", "total_tracks": 10, "available_markets": list(markets),
            "external_urls": {}, "href": f"https://api.spotify.com/v1/albums/{i}", "id": i, "images": [],
            "name": f"Album {label}" if name is None else name, "release_date": release_date, "release_date_precision": precision,
            "type": "album", "uri": f"spotify:album:{i}", "artists": [simple_artist(a) for a in artists]}


def full_album(label: str, *, label_name="Label", popularity=40, upc="00602", **kw) -> dict:
    a = simple_album(label, **kw)
    a.update({"tracks": {"href": "", "limit": 50, "next": None, "offset": 0, "previous": None, "total": 0, "items": []},
              "copyrights": [], "external_ids": {"upc": upc}, "genres": [], "label": label_name,
              "popularity": popularity})
    return a


def track(label: str, *, album="al1", artists=("ar1",), popularity=60, duration_ms=200000, name=None,
          markets=("DE", "US"), **extra) -> dict:
    i = sid(label)
    t = {"album": simple_album(album) if isinstance(album, str) else album,
         "artists": [simple_artist(a) for a in artists], "available_markets": list(markets),
         "disc_number": 1, "duration_ms": duration_ms, "explicit": False,
         "external_ids": {"isrc": f"US{label[:10]}"}, "external_urls": {}, "href": "", "id": i,
         "is_playable": True, "name": f"Track {label}" if name is None else name, "popularity": popularity,
         "preview_url": None, "track_number": 1, "type": "track", "uri": f"spotify:track:{i}", "is_local": False}
    if popularity is None:
        del t["popularity"]
    t.update(extra)
    return t


def episode(label: str) -> dict:
    i = sid(label)
    return {"audio_preview_url": None, "description": "ep", "duration_ms": 1000, "explicit": False, "id": i,
            "name": f"Episode {label}", "release_date": "2024-01-01", "release_date_precision": "day",
            "type": "episode", "uri": f"spotify:episode:{i}"}


def local_track(name="My local file") -> dict:
    return {"album": {"album_type": None, "artists": [], "available_markets": [], "external_urls": {}, "href": None,
                      "id": None, "images": [], "name": "", "release_date": None, "release_date_precision": None,
                      "type": "album", "uri": None},
            "artists": [{"external_urls": {}, "href": None, "id": None, "name": "Someone", "type": "artist", "uri": None}],
            "available_markets": [], "disc_number": 0, "duration_ms": 123000, "explicit": False, "external_ids": {},
            "external_urls": {}, "href": None, "id": None, "is_local": True, "name": name, "popularity": 0,
            "preview_url": None, "track_number": 0, "type": "track", "uri": f"spotify:local:::{name}:123"}


def item(obj, *, added_at="2025-01-02T03:04:05Z", added_by="user1", dev=False, is_local=False) -> dict:
    it = {"added_at": added_at, "added_by": None if added_by is None else
          {"external_urls": {}, "href": "", "id": added_by, "type": "user", "uri": f"spotify:user:{added_by}"},
          "is_local": is_local}
    it["item" if dev else "track"] = obj
    return it


def page(items, *, offset=0, total=None, limit=100) -> dict:
    return {"href": "", "limit": limit, "next": None, "offset": offset, "previous": None,
            "total": total if total is not None else offset + len(items), "items": items}


def playlist(label: str, items=None, *, dev=False, total=None, followers=7) -> dict:
    i = sid(label)
    p = {"collaborative": False, "description": "d", "external_urls": {}, "href": "", "id": i, "images": [],
         "name": f"Playlist {label}", "owner": {"external_urls": {}, "href": "", "id": "owner1", "type": "user",
                                               "uri": "spotify:user:owner1", "display_name": "Owner"},
         "public": True, "snapshot_id": "snap", "type": "playlist", "uri": f"spotify:playlist:{i}"}
    if followers is not None:
        p["followers"] = {"href": None, "total": followers}
    pg = page(items or [], total=total) if items is not None else {"href": "", "total": total or 0}
    p["items" if dev else "tracks"] = pg
    return p


def env(request: str, body, *, status=200, fetched_at=FETCHED, **extra) -> dict:
    return {"request": request, "status": status, "fetched_at": fetched_at, "body": body, **extra}


_counter = itertools.count()


class RawWriter:
    def __init__(self, lake: Lake, partition: str = PARTITION):
        self.lake = lake
        self.partition = partition

    def write(self, source: str, lines, name: str | None = None) -> str:
        """Write envelopes (dicts) or raw byte strings as one gzip JSONL raw file; returns its path."""
        data = b"".join((ln if isinstance(ln, bytes) else orjson.dumps(ln)) + b"\n" for ln in lines)
        rel = f"raw/{source}/dt={self.partition}/{name or f'f{next(_counter):05d}'}.jsonl.gz"
        self.lake.write_bytes(rel, gzip.compress(data))
        return rel


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake(str(tmp_path / "lake"))


@pytest.fixture
def raw(lake) -> RawWriter:
    return RawWriter(lake)


# -- fast path == Python path, on every transform test ---------------------------------------------------


def _extract_snapshot(out) -> tuple:
    return ({t: tab for t, tab in out.candidates.items()},
            {t: [r.to_dict() | {"task": r.task} for r in recs] for t, recs in out.quarantine.items() if recs},
            {s: sc.as_dict() for s, sc in out.sources.items()},
            out.files,
            out.coerced)


def assert_same_extraction(a, b, what: str) -> None:
    ca, qa, sa, fa, xa = _extract_snapshot(a)
    cb, qb, sb, fb, xb = _extract_snapshot(b)
    assert sorted(ca) == sorted(cb), what
    for t in ca:  # candidates before dedupe, _rank/_seq/_pseq included: the strongest comparison
        assert ca[t].equals(cb[t]), f"{what}: candidate rows of {t} differ"
    assert qa == qb, f"{what}: quarantine differs"
    assert sa == sb, f"{what}: accounting differs"
    assert fa == fb, f"{what}: per-file accounting differs"
    assert xa == xb, f"{what}: coercions to null differ"


@pytest.fixture(autouse=True)
def fast_path_matches_python_path(monkeypatch):
    """Every transform in these tests runs the extraction three ways — Python only, the Arrow fast path
    with the default chunk size, and the fast path with tiny chunks (about one line per chunk, so clean
    and quirky lines of one file alternate between the two paths and share the early-dedupe state) —
    and asserts identical candidate rows, quarantine and accounting before returning the fast result."""
    from spotify_assets.transform import pipeline
    from spotify_assets.transform.fast import reader as fast

    original = pipeline.extract_tasks

    def checked(lake, tasks, chunk_rows, fast_=True, stats=None, **kw):
        if "fast" in kw:
            fast_ = kw.pop("fast")
        slow_out = original(lake, tasks, chunk_rows, fast=False, **kw)
        fast_out = original(lake, tasks, chunk_rows, fast=True, stats=stats, **kw)
        assert_same_extraction(fast_out, slow_out, "fast path (default chunks)")
        with monkeypatch.context() as m:
            m.setattr(fast, "CHUNK_BYTES", 512)
            tiny_out = original(lake, tasks, chunk_rows, fast=True, **kw)
        assert_same_extraction(tiny_out, slow_out, "fast path (tiny chunks)")
        return fast_out if fast_ else slow_out

    monkeypatch.setattr(pipeline, "extract_tasks", checked)
