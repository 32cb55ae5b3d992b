from __future__ import annotations

import datetime as dt

import pytest

from spotify_assets.transform.coerce import Bad, release_date, spotify_id, timestamp_us, to_int


def _d(days):
    return None if days is None else dt.date(1970, 1, 1) + dt.timedelta(days=days)


@pytest.mark.parametrize("v,want", [(5, 5), (5.0, 5), ("5", 5), ("2.3024383E7", 23024383), ("1e3", 1000), (None, None)])
def test_to_int(v, want):
    assert to_int(v) == want


@pytest.mark.parametrize("v", [True, 1.5, "abc", "nan", "inf", [1], {"a": 1}])
def test_to_int_rejects(v):
    with pytest.raises(Bad):
        to_int(v)


@pytest.mark.parametrize("s,p,want", [
    ("1983", "year", (dt.date(1983, 1, 1), "year")),
    ("2007-03", "month", (dt.date(2007, 3, 1), "month")),
    ("2007-03-15", "day", (dt.date(2007, 3, 15), "day")),
    ("0000", "year", (None, "year")),
    ("0000-00-00", "day", (None, "day")),
    ("2007-13", None, (None, "month")),
    ("2007-03-15", "weird", (dt.date(2007, 3, 15), "day")),
    (None, None, (None, None)),
])
def test_release_date(s, p, want):
    days, prec = release_date(s, p)
    assert (_d(days), prec) == want


def test_timestamps():
    assert timestamp_us("1970-01-01T00:00:01Z") == 1_000_000
    assert timestamp_us("1970-01-01T01:00:00+01:00") == 0
    assert timestamp_us("1970-01-01T00:00:00Z", epoch_is_null=True) is None
    with pytest.raises(Bad):
        timestamp_us("soon")


def test_ids():
    assert spotify_id("4iV5W9uYEdYUVa79Axb7Rh") == "4iV5W9uYEdYUVa79Axb7Rh"
    for bad in (None, "", "short", "4iV5W9uYEdYUVa79Axb7R/", 5):
        with pytest.raises(Bad):
            spotify_id(bad)
