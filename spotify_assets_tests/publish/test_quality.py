"""Data-quality rules: each one passes on clean data and fails, with counts and examples, on bad data."""

import datetime as dt

import pyarrow as pa

from spotify_assets.publish import quality


def test_keys_unique_and_not_null_counts_nulls_and_duplicates():
    clean = pa.table({"a": ["x", "y"], "b": [1, 1]})
    assert quality.keys_unique_and_not_null(clean, ("a", "b")).passed

    bad = pa.table({"a": ["x", "x", None, "y"], "b": [1, 1, 2, 3]})
    result = quality.keys_unique_and_not_null(bad, ("a", "b"))
    assert not result.passed
    assert result.failing_rows == 3  # one null key + two rows sharing ("x", 1)
    assert result.examples == [("x", 1)]


def test_keys_rule_on_empty_table_passes():
    empty = pa.table({"a": pa.array([], pa.string())})
    assert quality.keys_unique_and_not_null(empty, ("a",)).passed


def test_references_exist_with_filter():
    parent = pa.table({"id": ["t1", "t2"]})
    child = pa.table({"ref": ["t1", "t3", None, "e9"], "kind": ["track", "track", "local", "episode"]})
    only_tracks = quality.references_exist(
        child, "ref", parent, "id", where=pa.chunked_array([pa.array([k == "track" for k in child["kind"].to_pylist()])])
    )
    assert not only_tracks.passed
    assert only_tracks.failing_rows == 1
    assert only_tracks.examples == ["t3"]
    everything = quality.references_exist(child, "ref", parent, "id")
    assert everything.failing_rows == 2


def test_within_range_ignores_nulls_and_reports_bounds():
    t = pa.table({"p": pa.array([0, 100, None, 101, -1], pa.int64())})
    r = quality.within_range(t, "p", 0, 100)
    assert r.failing_rows == 2
    assert sorted(r.examples) == [-1, 101]
    d = pa.table({"d": pa.array([dt.date(2026, 1, 1), dt.date(2026, 12, 1)], pa.date32())})
    assert quality.not_after(d, "d", dt.date(2026, 11, 24)).failing_rows == 1


def test_relative_change_and_schema_differences():
    assert quality.relative_change(150, 100) == 0.5
    assert quality.relative_change(10, 0) is None
    assert quality.relative_change(10, None) is None
    before = pa.schema([("a", pa.string()), ("b", pa.int64())])
    after = pa.schema([("a", pa.string()), ("b", pa.float64()), ("c", pa.bool_())])
    assert quality.schema_differences(after, before) == ["added c (bool)", "b: int64 -> double"]
    assert quality.schema_differences(before, before) == []
