"""One naming rule for the raw zone: exactly ``raw/<source>/dt=YYYY-MM-DD/<name>.jsonl.gz``; whatever else sits
below a partition folder is reported (hidden and temporary names excepted), by every reader."""

from __future__ import annotations

import gzip

import orjson
import pytest

from spotify_assets.lake.paths import parse_raw_key, raw_file, validate_partition
from spotify_assets.lake.raw import iter_raw_lines, list_raw_files
from spotify_assets.transform.pipeline import transform_partition

from .conftest import PARTITION, env, sid, track

FOLDER = f"raw/tracks/dt={PARTITION}"


def _track_file(lake, rel: str, label: str) -> int:
    data = gzip.compress(orjson.dumps(env(f"/v1/tracks/{sid(label)}", track(label))) + b"\n")
    lake.write_bytes(f"{FOLDER}/{rel}", data)
    return len(data)


def test_only_files_named_by_the_rule_are_read_and_the_others_are_reported(lake):
    sizes = {rel: _track_file(lake, rel, label) for rel, label in [
        ("x.jsonl.gz", "read"),
        ("sub/dir/x.jsonl.gz", "nested"),
        ("x.json.gz", "json"),
        ("x.jsonl.GZ", "upper"),
        ("x.jsonl", "plain"),
        ("_tmp-123-x.jsonl.gz", "temp"),       # an atomic write in progress
        (".x.jsonl.gz", "hidden"),
        (".staging/y.jsonl.gz", "staging"),    # another tool's hidden folder
        ("_SUCCESS", "marker"),
    ]}
    r = transform_partition(lake, PARTITION)
    assert r.tables["tracks"]["track_id"].to_pylist() == [sid("read")]
    expected = [
        {"path": f"{FOLDER}/sub/dir/x.jsonl.gz", "size": sizes["sub/dir/x.jsonl.gz"],
         "reason": "in a subdirectory: raw files sit directly in the partition folder"},
        {"path": f"{FOLDER}/x.json.gz", "size": sizes["x.json.gz"], "reason": "not named <name>.jsonl.gz"},
        {"path": f"{FOLDER}/x.jsonl", "size": sizes["x.jsonl"], "reason": "not named <name>.jsonl.gz"},
        {"path": f"{FOLDER}/x.jsonl.GZ", "size": sizes["x.jsonl.GZ"],
         "reason": "the suffix must be .jsonl.gz in lower case"},
    ]
    assert r.unread_files == expected
    assert r.accounting["unread_files"] == expected
    assert list(r.accounting["files"]) == [f"{FOLDER}/x.jsonl.gz"]
    # the carry-over reader follows the same rule
    assert [ln.file for ln in iter_raw_lines(lake, "tracks", PARTITION)] == [f"{FOLDER}/x.jsonl.gz"]
    assert list_raw_files(lake, "tracks", PARTITION)[1] == expected


def test_a_clean_partition_reports_nothing(lake, raw):
    raw.write("tracks", [env(f"/v1/tracks/{sid('t1')}", track("t1"))])
    r = transform_partition(lake, PARTITION)
    assert r.unread_files == [] and r.accounting["unread_files"] == []


@pytest.mark.parametrize("key,want", [
    ("raw/tracks/dt=2026-11-24/x.jsonl.gz", ("tracks", "2026-11-24", "x.jsonl.gz")),
    ("lake/prefix/raw/playlist_items/dt=2026-11-24/spotify_assets.jsonl.gz",
     ("playlist_items", "2026-11-24", "spotify_assets.jsonl.gz")),
    ("raw/tracks/dt=2026-11-24/sub/x.jsonl.gz", None),
    ("raw/tracks/dt=2026-11-24/x.json.gz", None),
    ("raw/tracks/dt=2026-11-24/x.jsonl.GZ", None),
    ("raw/tracks/dt=2026-11-24/_tmp-1-x.jsonl.gz", None),
    ("raw/tracks/dt=2026-11-24/.x.jsonl.gz", None),
    ("raw/tracks/dt=2026-11-24/x.jsonl.gz\n", None),
    ("raw/songs/dt=2026-11-24/x.jsonl.gz", None),
    ("raw/tracks/dt=2026-W47-2/x.jsonl.gz", None),
    ("raw/tracks/dt=2026-02-30/x.jsonl.gz", None),
    ("transformed/tracks/dt=2026-11-24/x.jsonl.gz", None),
])
def test_parse_raw_key_applies_the_same_rule(key, want):
    assert parse_raw_key(key) == want


@pytest.mark.parametrize("bad", ["2026-W47-2", "20261124", "2026-11-24\n", "2026-11-2", "2026-13-01"])
def test_partition_must_be_a_plain_iso_date(bad):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        validate_partition(bad)


def test_written_names_are_checked_whole():
    with pytest.raises(ValueError, match="not a safe file"):
        raw_file("tracks", PARTITION, "name\n")
    assert raw_file("tracks", PARTITION, "spotify_assets") == f"{FOLDER}/spotify_assets.jsonl.gz"
