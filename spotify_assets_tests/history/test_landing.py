"""Landing an export in the raw zone: records without personal data (counted), unknown fields dropped
(counted), the manifest's accounting, one folder per export whatever its packaging, nothing landed twice."""

from __future__ import annotations

import datetime as dt
import gzip

import orjson

from spotify_assets.history.fields import KNOWN_FIELDS
from spotify_assets.history.landing import land_export, landed_exports, manifest_path, verify_landed
from spotify_assets.lake.storage import Lake

from .exports import (
    IPV4,
    IPV6,
    PERSONAL_VALUES,
    T1,
    T2,
    dumps,
    endsong,
    extended,
    standard_files,
    write_folder,
    write_zip,
)


def landed_lines(lake: Lake, manifest: dict) -> list[dict]:
    return [orjson.loads(line) for f in manifest["files"]
            for line in gzip.decompress(lake.read_bytes(f["raw_file"])).splitlines()]


def test_records_land_without_personal_data_and_the_removals_are_counted(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    files = {
        "MyData/endsong_0.json": dumps([endsong("2019-01-01T10:00:00Z", 200_000, track=T1, name="A", artist="B"),
                                        endsong("2020-03-01T10:00:00Z", 100_000, name="C", artist="D", location=True)],
                                       "minified"),
        "Spotify Extended Streaming History/Streaming_History_Audio_2021_0.json": dumps(
            [extended("2021-05-05T10:00:00Z", 5_000, track=T2, ip=IPV6)]),
    }
    report = land_export(lake, write_zip(tmp_path / "e.zip", files), log=lambda _: None)
    m = report.manifest
    assert m["personal_values_removed"] == {
        "city": 1, "ip_addr": 1, "ip_addr_decrypted": 2, "latitude": 1, "longitude": 1, "metro_code": 1, "region": 1,
        "user_agent_decrypted": 2, "username": 2}
    assert (m["records_in"], m["records_landed"]) == (3, 3)
    lines = landed_lines(lake, m)
    assert len(lines) == 3 and all(set(line) <= KNOWN_FIELDS for line in lines)
    # verbatim otherwise: the kept fields keep their values and order
    assert list(lines[0]) == ["ts", "platform", "ms_played", "conn_country", "master_metadata_track_name",
                              "master_metadata_album_artist_name", "master_metadata_album_album_name",
                              "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri",
                              "reason_start", "reason_end", "shuffle", "skipped", "offline", "offline_timestamp",
                              "incognito_mode"]
    everything = b"".join(gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
                          for f in (tmp_path / "lake").rglob("*") if f.is_file())
    for value in PERSONAL_VALUES:
        assert value.encode() not in everything, value
    assert verify_landed(lake, m) == {"records": 3, "personal_fields": {}}
    # the check is not a formality: a raw file holding an address (written by something else) is caught
    lake.write_bytes(m["files"][0]["raw_file"], gzip.compress(
        b'{"ts":"2019-01-01T10:00:00Z","ms_played":1,"ip_addr":"198.51.100.1"}\n{"ts":"x","note":"\\"ip_addr\\":"}\n'))
    assert verify_landed(lake, m) == {"records": 3, "personal_fields": {"ip_addr": 1}}


def test_unknown_fields_are_dropped_and_named_and_bad_items_become_problems(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    records = [extended("2021-05-05T10:00:00Z", 5_000, track=T1, device_fingerprint="f00d", mood="happy"),
               "not a record", None,
               extended("2021-05-05T10:10:00Z", 6_000, track=T1, mood="sad")]
    data = dumps(records)
    files = {"Streaming_History_Audio_2021_0.json": data[: data.rindex(b'"ms_played"') + 5],  # cut in record 4
             "Streaming_History_Audio_2021_1.json": b""}
    m = land_export(lake, write_folder(tmp_path / "e", files), log=lambda _: None).manifest
    first, empty = m["files"]
    assert first["unknown_fields_removed"] == {"device_fingerprint": 1, "mood": 1}
    assert m["unknown_fields_removed"] == {"device_fingerprint": 1, "mood": 1}
    assert [(p["index"], p["reason"]) for p in first["problems"]] == [
        (1, "not a JSON object but a JSON string"), (2, "not a JSON object but a JSON null"),
        (3, "truncated JSON array: the file ends inside a record, after 3 complete records")]
    assert (first["records_in"], first["records_landed"]) == (4, 1)
    assert (empty["records_in"], empty["records_landed"], empty["notes"]) == (0, 0, ["empty file (0 bytes): no records"])
    assert b"f00d" not in gzip.decompress(lake.read_bytes(first["raw_file"]))


def test_one_folder_per_export_whatever_its_packaging_and_nothing_landed_twice(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    files = standard_files()
    quiet = {"log": lambda _: None}
    first = land_export(lake, write_zip(tmp_path / "my_spotify_data.zip", files, top="my_spotify_data/"),
                        now=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), **quiet)
    assert not first.already_landed and first.bytes_written > 0
    raw = {f.path: f.mtime for f in lake.list_files("raw")}
    again = land_export(lake, write_folder(tmp_path / "extracted", files), **quiet)
    assert again.export_id == first.export_id and again.already_landed and again.bytes_written == 0
    assert {f.path: f.mtime for f in lake.list_files("raw")} == raw  # nothing rewritten
    relanded = land_export(lake, str(tmp_path / "my_spotify_data.zip"), reland=True,
                           now=dt.datetime(2026, 6, 1, tzinfo=dt.UTC), **quiet)
    assert relanded.bytes_written == first.bytes_written
    assert relanded.manifest["landed_at"] == "2026-01-01T00:00:00Z"  # keeps its place among the exports
    assert [lake.read_bytes(p) for p in relanded.raw_files] == [lake.read_bytes(p) for p in first.raw_files]
    newer = {**files, "Streaming_History_Audio_2024_1.json": dumps([extended("2024-01-01T00:00:00Z", 1, track=T1)])}
    other = land_export(lake, write_folder(tmp_path / "newer", newer), **quiet)
    assert other.export_id != first.export_id
    assert [m["export_id"] for m in landed_exports(lake)] == [first.export_id, other.export_id]
    assert IPV4.encode() not in lake.read_bytes(manifest_path(first.export_id))


def test_a_folder_without_manifest_is_an_unfinished_import_and_is_ignored(tmp_path):
    lake = Lake(str(tmp_path / "lake"))
    report = land_export(lake, write_zip(tmp_path / "e.zip", standard_files()), log=lambda _: None)
    lake.delete(manifest_path(report.export_id))  # as if the import died before its manifest
    assert landed_exports(lake) == []
    again = land_export(lake, str(tmp_path / "e.zip"), log=lambda _: None)
    assert not again.already_landed and [m["export_id"] for m in landed_exports(lake)] == [report.export_id]
