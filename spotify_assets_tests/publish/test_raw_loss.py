"""Nothing lost silently: raw data the transform cannot read is counted per file (bytes, lines, reason), warns
on the tables it feeds, and holds the day back beyond SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE or when the loss cannot
be measured; the row-count drift check compares with the last published version and fires on a −43% day.

Issue 18, finding 1: on the old code a zero-byte, non-gzip or truncated raw ``playlist_items`` file was one
quarantine record and every check passed — the day published 43% (21%) fewer playlist items, green.
"""

from __future__ import annotations

import gzip

import pytest

from spotify_assets.lake.parquet import read_table_file
from spotify_assets.lake.publication.manifests import published_file
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import transform_day
from spotify_assets.tables import TABLE_SOURCES
from spotify_assets_tests.emulation import copy_raw
from spotify_assets_tests.transform.conftest import (
    PARTITION,
    RawWriter,
    env,
    item,
    page,
    playlist,
    sid,
    track,
)

FED_BY_ITEMS = {t for t, sources in TABLE_SOURCES.items() if "playlist_items" in sources}


@pytest.fixture
def published_day(tmp_path, crawled_raw):
    """A lake with the crawled day published, and the path of its ``playlist_items`` raw file."""
    src_root, day = crawled_raw
    lake = copy_raw(src_root, str(tmp_path / "lake"))
    assert transform_day(lake, day, "clean").held_back is None
    (items,) = [f.path for f in lake.list_files(f"raw/playlist_items/dt={day}")]
    return lake, day, items


def _published_rows(lake: Lake, table: str, day: str) -> int:
    return read_table_file(lake, published_file(lake, "transformed", table, day)).num_rows


def _failed(outcome) -> dict[tuple[str, str], object]:
    return {(o.table, o.check): o for o in outcome.checks if not o.passed}


def _zero_byte(data: bytes) -> bytes:
    return b""


def _not_gzip(data: bytes) -> bytes:
    return gzip.decompress(data)  # the JSON lines, uncompressed


def _cut_in_half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize("damage,reason,measured", [
    (_zero_byte, "empty file (no gzip data)", False),
    (_not_gzip, "not a gzip file (incorrect header check)", True),
    (_cut_in_half, "gzip data truncated (the file ends inside a gzip member)", False),
])
def test_a_damaged_raw_file_is_counted_and_holds_the_day_back(published_day, damage, reason, measured):
    lake, day, items = published_day
    before = lake.read_bytes(items)
    lake.write_bytes(items, damage(before))
    rows_before = _published_rows(lake, "playlist_items", day)

    outcome = transform_day(lake, day, "damaged")

    (loss,) = outcome.result.raw_losses
    size = len(damage(before))
    assert loss | {"lines_read": None, "cut_line_bytes": None} == {
        "file": items, "source": "playlist_items", "reason": reason, "file_bytes": size, "lines_read": None,
        "lost_bytes": size if measured else 0, "cut_line_bytes": None, "loss_measured": measured}
    assert (loss["lines_read"] > 0) is (damage is _cut_in_half)  # the half that is there is read
    failed = _failed(outcome)
    held = {k for k, o in failed.items() if o.blocking}
    assert held == {(t, "raw_data_loss_within_limit") for t in FED_BY_ITEMS}
    assert {(t, "raw_data_intact") for t in FED_BY_ITEMS} <= set(failed)
    check = failed[("playlist_items", "raw_data_loss_within_limit")]
    assert items in check.description and reason in check.description
    assert check.metadata["damaged_files"] == 1 and check.metadata["lost_bytes"] == loss["lost_bytes"]
    assert outcome.result.row_counts["playlist_items"] < rows_before
    assert outcome.held_back and _published_rows(lake, "playlist_items", day) == rows_before

    # a day whose raw data cannot be repaired is published on purpose, what was read of it
    accepted = transform_day(lake, day, "accepted", accept_raw_loss=True)
    assert accepted.held_back is None
    assert "accepted on purpose" in {(o.table, o.check): o for o in accepted.checks}[
        ("playlist_items", "raw_data_loss_within_limit")].description
    assert _published_rows(lake, "playlist_items", day) == outcome.result.row_counts["playlist_items"]


def test_a_small_measured_loss_warns_and_publishes(published_day):
    lake, day, items = published_day
    lake.write_bytes(items, lake.read_bytes(items) + b"\0" * 16)  # zero padding after the gzip data
    outcome = transform_day(lake, day, "padded")
    assert outcome.held_back is None
    failed = _failed(outcome)
    assert not [k for k, o in failed.items() if o.blocking]
    intact = failed[("playlist_items", "raw_data_intact")]
    assert "16 of its" in intact.description and "trailing bytes" in intact.description
    assert intact.metadata["lost_bytes"] == 16
    assert ("playlist_items", "stable_against_previous_partition") not in failed  # nothing was actually lost


def test_the_drift_check_compares_with_the_last_published_version_and_fires_on_a_43_percent_day(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    raw = RawWriter(lake, PARTITION)
    playlist_id = sid("pl1")

    def land(n_items: int, day: str) -> None:
        raw.partition = day
        for f in lake.list_files(f"raw/playlist_items/dt={day}"):
            lake.delete(f.path)
        raw.write("playlists", [env(f"/v1/playlists/{playlist_id}", playlist("pl1", total=n_items))], name="p")
        raw.write("playlist_items", [env(f"/v1/playlists/{playlist_id}/tracks?offset=0&limit=100",
                                         page([item(track(f"t{i}")) for i in range(n_items)]))], name="items")

    previous_day = "2026-11-23"
    land(100, previous_day)
    assert transform_day(lake, previous_day, "d0").held_back is None
    land(100, PARTITION)
    first = transform_day(lake, PARTITION, "d1")  # a first run compares with the latest earlier day
    assert first.held_back is None
    assert {(o.table, o.check): o for o in first.checks}[
        ("playlist_items", "stable_against_previous_partition")].metadata["previous_partition"] == previous_day

    land(57, PARTITION)  # a re-run of the day with 43% fewer items: compared with the day's published version
    outcome = transform_day(lake, PARTITION, "d1-again")
    drift = _failed(outcome)[("playlist_items", "stable_against_previous_partition")]
    assert not drift.blocking and drift.metadata["previous_partition"] == PARTITION
    assert drift.description == f"row count 100 → 57 (-43%) against the published version of {PARTITION}"
    assert outcome.held_back is None  # a smaller day is not a wrong day by itself: warned, published
