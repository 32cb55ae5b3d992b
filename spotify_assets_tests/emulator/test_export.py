"""The emulator's account-data export: the files and formats of each generation, the quirks of real exports,
the personal data an importer must strip, determinism, one listening history with the API, the CLI."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from spotify_assets.emulator.export import write_export
from spotify_assets.emulator.export_truth import ExportTruth
from spotify_assets.emulator.listening import HISTORY_START
from spotify_assets_tests.emulation import running_emulator

from .conftest import user_api

NOW = dt.datetime(2026, 11, 24, 13, 5, tzinfo=dt.UTC)
FIRST = dt.date(2026, 5, 1)  # about seven months: every kind of stream and every quirk, in a second or two
SMALL_FILES = 300_000
EXTENDED_FIELDS = [
    "ts", "platform", "ms_played", "conn_country", "ip_addr", "master_metadata_track_name",
    "master_metadata_album_artist_name", "master_metadata_album_album_name", "spotify_track_uri", "episode_name",
    "episode_show_name", "spotify_episode_uri", "audiobook_title", "audiobook_uri", "audiobook_chapter_uri",
    "audiobook_chapter_title", "reason_start", "reason_end", "shuffle", "skipped", "offline", "offline_timestamp",
    "incognito_mode"]
ENDSONG_FIELDS = [
    "ts", "username", "platform", "ms_played", "conn_country", "ip_addr_decrypted", "user_agent_decrypted",
    "master_metadata_track_name", "master_metadata_album_artist_name", "master_metadata_album_album_name",
    "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri", "reason_start", "reason_end",
    "shuffle", "skipped", "offline", "offline_timestamp", "incognito_mode"]
LOCATION_FIELDS = ["city", "region", "metro_code", "latitude", "longitude"]
METADATA = ["master_metadata_track_name", "master_metadata_album_artist_name", "master_metadata_album_album_name",
            "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri", "audiobook_title",
            "audiobook_uri", "audiobook_chapter_uri", "audiobook_chapter_title"]


def _files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def _records(files: dict[str, bytes], pattern: str) -> dict[str, list[dict]]:
    return {name: json.loads(data) for name, data in files.items() if re.search(pattern, name)}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, tuple[ExportTruth, dict[str, bytes]]]:
    """One export per generation and variant, of the same history (zip bytes read back)."""
    out = {}
    base = tmp_path_factory.mktemp("exports")
    for generation, variant in (("extended", "default"), ("endsong", "default"), ("endsong", "location"),
                                ("account_data", "default"), ("account_data", "combined")):
        path = base / f"{generation}-{variant}.zip"
        truth = write_export(path, now=NOW, first_day=FIRST, generation=generation, variant=variant,
                             max_file_bytes=SMALL_FILES)
        out[f"{generation}-{variant}"] = (truth, _files(path))
    return out


# ------------------------------------------------------------------------------------------- files and shapes
def test_extended_export_is_named_and_shaped_as_spotify_delivers_it(exports):
    truth, files = exports["extended-default"]
    folder = "Spotify Extended Streaming History/"
    assert all(name.startswith(folder) for name in files)
    audio = sorted((n for n in files if "_Audio_" in n), key=lambda n: int(n.rsplit("_", 1)[1][:-5]))
    assert all(re.fullmatch(folder + r"Streaming_History_Audio_\d{4}(-\d{4})?_\d+\.json", n) for n in audio)
    assert [int(n.rsplit("_", 1)[1][:-5]) for n in audio] == list(range(len(audio))) and len(audio) >= 5
    assert [n for n in files if "_Video_" in n] == [folder + "Streaming_History_Video_2026.json"]
    pdf = [n for n in files if n.endswith(".pdf")]
    assert pdf == [folder + "ReadMeFirst_ExtendedStreamingHistory.pdf"] and files[pdf[0]].startswith(b"%PDF-1.4")
    assert truth.other_files == pdf and set(truth.files) == set(files) - set(pdf)
    for name in audio:
        data = files[name]
        assert data.startswith(b"[\n  {\n    \"ts\": \"") and data.endswith(b"\n  }\n]")  # 2-space indentation
        assert len(data) <= SMALL_FILES
        records = json.loads(data)
        assert truth.files[name] == len(records)
        assert all(list(r) == EXTENDED_FIELDS or list(r) == [f for f in EXTENDED_FIELDS if f != "reason_end"]
                   for r in records)
        assert [r["ts"] for r in records] == sorted(r["ts"] for r in records)  # newer files are in time order
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["ts"]) for r in records)
    every = [r for name in audio for r in json.loads(files[name])]
    assert {r["platform"] for r in every} <= {"android", "ios", "osx", "windows", "web_player", "cast", "sonos"}
    assert len(every) == sum(truth.files[n] for n in audio)


def test_endsong_export_is_minified_out_of_order_with_its_older_fields(exports):
    truth, files = exports["endsong-default"]
    history = [n for n in files if "endsong" in n]
    assert history == [f"MyData/endsong_{i}.json" for i in range(len(history))] and len(history) >= 5
    assert "MyData/ReadMeFirst_ExtendedStreamingHistory.pdf" in files
    out_of_order = 0
    for name in history:
        assert files[name].startswith(b"[{\"ts\":\"") and b"\n" not in files[name]  # one minified line
        records = json.loads(files[name])
        assert all(list(r) == ENDSONG_FIELDS or list(r) == [f for f in ENDSONG_FIELDS if f != "reason_end"]
                   for r in records)
        ts = [r["ts"] for r in records]
        out_of_order += len(ts) < 20 or ts != sorted(ts)  # (a short last file may happen to be in order)
        for r in records:
            assert r["username"] == "emulator-demo-user"
            if r["offline"]:  # the stream's start, in milliseconds in this generation
                assert 0 <= r["offline_timestamp"] - (_epoch(r["ts"]) * 1000 - r["ms_played"]) < 1000
            else:
                assert r["offline_timestamp"] is None
    assert out_of_order == len(history)
    every = [r for n in history for r in json.loads(files[n])]
    platforms = {r["platform"] for r in every}
    assert "Partner google cast_tv;Chromecast;;" in platforms and any(p.startswith("iOS 17") for p in platforms)
    assert not any(w.kind == "audiobook_chapter" for w in truth.streams)  # this generation predates audiobooks


def test_location_variant_has_no_uris_and_says_where(exports):
    truth, files = exports["endsong-location"]
    every = [r for name, records in _records(files, r"endsong_\d+").items() for r in records]
    fields = [f for f in ENDSONG_FIELDS if f not in ("spotify_track_uri", "spotify_episode_uri")] + LOCATION_FIELDS
    assert all([k for k in r if k != "reason_end"] == [f for f in fields if f != "reason_end"] for r in every)
    assert {r["city"] for r in every} >= {"stockholm", "solna"}
    assert all(isinstance(r["latitude"], float) and isinstance(r["longitude"], float) for r in every)
    assert {(r["city"], r["latitude"]) for r in every} == {(p.city, p.latitude) for p in truth.locations}


def test_account_data_is_the_last_year_at_minute_precision(exports):
    truth, files = exports["account_data-default"]
    music = _records(files, r"StreamingHistory_music_\d+")
    podcasts = _records(files, r"StreamingHistory_podcast_\d+")
    books = _records(files, r"StreamingHistory_audiobook_\d+")
    assert music and podcasts and books
    for name, data in files.items():
        if "StreamingHistory" in name:
            assert data.startswith(b"[\n  {\n    \"endTime\" : \"")  # "key" : value, as these files have it
    for r in (r for records in music.values() for r in records):
        assert list(r) == ["endTime", "artistName", "trackName", "msPlayed"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", r["endTime"])
    assert all(list(r) == ["endTime", "podcastName", "episodeName", "msPlayed"] for rs in podcasts.values() for r in rs)
    assert all(list(r) == ["endTime", "audiobookName", "chapterName", "msPlayed"] for rs in books.values() for r in rs)
    ends = [dt.datetime.strptime(r["endTime"], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
            for records in music.values() for r in records]
    assert min(ends) >= NOW - dt.timedelta(days=365, minutes=1) and max(ends) <= NOW  # the last year only
    assert sum(len(r) for r in music.values()) == sum(truth.files[n] for n in music)
    assert {"artistName": "Unknown Artist", "trackName": "Unknown Track"}.items() <= next(
        r for rs in music.values() for r in rs if r["artistName"] == "Unknown Artist").items()
    # the same track twice in one minute: real, and here too
    minute_pairs = Counter((r["endTime"], r["trackName"]) for rs in music.values() for r in rs)
    assert max(minute_pairs.values()) >= 2
    others = {n.split("/")[1] for n in truth.other_files}
    assert {"Userdata.json", "Playlist1.json", "YourLibrary.json", "SearchQueries.json", "Read_Me_First.pdf"} <= others
    assert json.loads(files["MyData/Userdata.json"])["username"] == "emulator-demo-user"
    assert json.loads(files["MyData/Playlist1.json"])["playlists"][0]["items"]
    assert b'"username" : "emulator-demo-user"' in files["MyData/Userdata.json"]


def test_account_data_combined_mixes_podcasts_into_the_music_file(exports):
    truth, files = exports["account_data-combined"]
    history = list(truth.files)
    assert history == [f"MyData/StreamingHistory{i}.json" for i in range(len(history))] and len(history) >= 2
    records = [r for n in history for r in json.loads(files[n])]
    assert all(list(r) == ["endTime", "artistName", "trackName", "msPlayed"] for r in records)
    shows = {w.show_name for w in truth.streams if w.kind == "episode"}
    assert shows and shows <= {r["artistName"] for r in records}


# ------------------------------------------------------------------------------------------- realism
def test_extended_history_has_the_quirks_of_real_exports(exports):
    truth, files = exports["extended-default"]
    audio = [r for name, rs in _records(files, r"_Audio_").items() for r in rs]
    video = [r for rs in _records(files, r"_Video_").values() for r in rs]
    short = [r for r in audio if r["spotify_track_uri"] and r["ms_played"] < 1000]
    assert any(r["ms_played"] == 0 for r in short) and any(100 <= r["ms_played"] < 1000 for r in short)
    assert any(r["episode_name"] and r["spotify_episode_uri"] for r in audio)  # podcasts
    assert video and all(r["spotify_episode_uri"] and r["episode_name"].endswith("(Official Music Video)")
                         and r["spotify_track_uri"] is None for r in video)
    chapters = [r for r in audio if r["audiobook_chapter_uri"]]
    assert chapters and all(r["audiobook_uri"].startswith("spotify:audiobook:") and r["audiobook_title"] and
                            r["spotify_track_uri"] is None for r in chapters)
    removed = [r for r in audio if all(r[f] is None for f in METADATA)]
    assert removed and any(r["ms_played"] > 0 for r in removed) and any(r["ms_played"] == 0 for r in removed)
    offline = [r for r in audio if r["offline"]]
    # the stream's start, in seconds in this generation
    assert offline and all(abs(r["offline_timestamp"] - (_epoch(r["ts"]) - r["ms_played"] / 1000)) < 1 for r in offline)
    assert all(r["offline_timestamp"] == 0 for r in audio if not r["offline"])
    assert any(r["incognito_mode"] for r in audio)
    assert {type(r["skipped"]) for r in audio} == {type(None), bool}  # null in the oldest part only
    first_bool = min(r["ts"] for r in audio if r["skipped"] is not None)
    assert all(r["skipped"] is not None for r in audio if r["ts"] > first_bool)
    assert any("reason_end" not in r for r in audio) and any(r["reason_start"] == "" for r in audio)
    reasons = Counter(r.get("reason_end") for r in audio)
    assert {"trackdone", "fwdbtn", "endplay"} <= set(reasons)
    # exact duplicates: the same record twice, byte for byte
    elements = Counter(re.findall(rb"\n  \{\n.*?\n  \}", b"".join(files[n] for n in truth.files), flags=re.S))
    assert sum(c - 1 for c in elements.values()) == truth.duplicates > 0
    # IPv4 and IPv6 addresses, a handful, each kept for a while
    addresses = Counter(r["ip_addr"] for r in audio)
    assert any(":" in a for a in addresses) and any("." in a for a in addresses)
    assert 3 <= len(addresses) <= 25 and min(addresses.values()) >= 5
    assert set(addresses) == truth.ip_addresses


def test_file_names_do_not_promise_the_years_inside(tmp_path):
    """A file that starts on a New Year's night is named with the year before (its records are all of the new year)."""
    truth = write_export(tmp_path / "x.zip", now=dt.datetime(2016, 1, 9, tzinfo=dt.UTC),
                         first_day=dt.date(2016, 1, 1), max_file_bytes=SMALL_FILES)
    first = next(n for n in truth.files if n.endswith("_0.json"))
    assert first.endswith("Streaming_History_Audio_2015-2016_0.json")
    assert {w.ts.year for w in truth.streams if w.file == first} == {2016}


def test_sessions_skips_and_the_rhythm_of_a_day(exports):
    truth, _ = exports["extended-default"]
    days = Counter(w.ts.date() for w in truth.streams)
    assert 20 <= sum(days.values()) / len(days) <= 80  # a few dozen streams on a listening day
    tracks = [w for w in truth.streams if w.kind == "track"]
    skipped_fast = [w for w in tracks if w.ms_played <= 30_000]
    assert 0.05 <= len(skipped_fast) / len(tracks) <= 0.35
    kinds = Counter(w.kind for w in truth.streams)
    assert set(kinds) == {"track", "episode", "audiobook_chapter", "unknown"} and kinds["track"] > 0.8 * len(truth.streams)


# ------------------------------------------------------------------------------------------- privacy
def test_personal_data_is_in_the_export_for_the_importer_to_strip(exports):
    for key, fields in (("extended-default", ["ip_addr"]), ("endsong-default", ["ip_addr_decrypted", "user_agent_decrypted"]),
                        ("endsong-location", ["ip_addr_decrypted", "user_agent_decrypted", *LOCATION_FIELDS])):
        truth, files = exports[key]
        assert set(truth.private_fields) == set(fields)
        assert all(truth.private_fields[f] == truth.records for f in fields)  # every record carries them
        blob = b"".join(files[n] for n in truth.files)
        values = truth.private_values()
        assert values and all(v.encode() in blob for v in values), key
        assert any(":" in v for v in truth.ip_addresses) and any(v.count(".") == 3 for v in truth.ip_addresses)
    assert exports["endsong-default"][0].user_agents
    assert not exports["account_data-default"][0].private_values()


# ------------------------------------------------------------------------------------------- determinism
def test_same_arguments_same_bytes_zip_or_folder(tmp_path):
    args = {"now": NOW, "first_day": dt.date(2026, 10, 1), "max_file_bytes": SMALL_FILES, "scale": "tiny"}
    a = write_export(tmp_path / "a.zip", **args)
    write_export(tmp_path / "b.zip", **args)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    write_export(tmp_path / "folder", zipped=False, **args)
    on_disk = {str(p.relative_to(tmp_path / "folder")): p.read_bytes() for p in (tmp_path / "folder").rglob("*") if p.is_file()}
    assert on_disk == _files(tmp_path / "a.zip")
    other = write_export(tmp_path / "c.zip", **{**args, "seed": 7})
    assert [w.track_id for w in other.streams[:20]] != [w.track_id for w in a.streams[:20]]


def test_target_streams_sets_the_size_of_the_history(tmp_path):
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)  # two years before the API's era: all of it scales
    truth = write_export(tmp_path / "t.zip", now=now, first_day=dt.date(2023, 1, 1), target_streams=10_000,
                         scale="tiny", max_file_bytes=2_000_000)
    assert 9_000 <= len(truth.streams) <= 11_000 and truth.archive_density < 0.5
    assert len({w.ts.date() for w in truth.streams}) > 500  # spread over the two years, not bunched


@pytest.mark.parametrize("kwargs,message", [
    ({"generation": "endsong_2"}, "unknown generation"),
    ({"generation": "extended", "variant": "location"}, "no variant"),
    ({"first_day": dt.date(2009, 12, 31)}, "before the emulator's listening starts"),
    ({"first_day": dt.date(2026, 11, 25)}, "after now"),
    ({"target_streams": -1}, "target_streams"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        write_export(tmp_path / "x.zip", now=NOW, **kwargs)
    assert not (tmp_path / "x.zip").exists()


def test_a_failed_export_leaves_no_zip(tmp_path, monkeypatch):
    from spotify_assets.emulator import export

    def broken(*args):
        raise OSError("disk full")

    monkeypatch.setattr(export, "_other_files", broken)
    with pytest.raises(OSError, match="disk full"):
        write_export(tmp_path / "x.zip", now=NOW, first_day=dt.date(2026, 11, 20), scale="tiny")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------------------------- one history with the API
@pytest.mark.parametrize("mode", ["extended", "development"])
@pytest.mark.parametrize("now", [NOW, dt.datetime(2025, 1, 1, 0, 30, tzinfo=dt.UTC)], ids=["2026", "new-year-2025"])
def test_recently_played_is_the_tail_of_the_export(tmp_path, mode, now):
    """The API's last 50 plays are the export's newest track streams of more than 30 s (not in a private
    session): same track, ``ts`` = ``played_at`` truncated to the second. At 2025-01-01 00:30 they reach back
    into the history before the API's era."""
    truth = write_export(tmp_path / "e.zip", now=now, first_day=now.date() - dt.timedelta(days=20), scale="tiny",
                         max_file_bytes=SMALL_FILES)
    records = [r for rs in _records(_files(tmp_path / "e.zip"), r"_Audio_").values() for r in rs]
    eligible = sorted({(r["ts"], r["spotify_track_uri"]) for r in records if r["spotify_track_uri"]
                       and r["ms_played"] > 30_000 and not r["incognito_mode"]}, reverse=True)
    with running_emulator(mode=mode, now=now) as server:
        items = user_api(server).ok("me/player/recently-played", limit=50)["items"]
    api = [(_second(i["played_at"]), i["track"]["uri"]) for i in items]
    assert len(api) == 50 and api == eligible[:50]
    assert [truth.streams[i].played_at_ms for i in truth.recently_played] == [_ms(i["played_at"]) for i in items]
    if now.year == 2025:
        assert min(i["played_at"] for i in items) < HISTORY_START.isoformat()


def test_every_play_of_the_model_is_an_export_stream_and_nothing_else_is(tmp_path):
    """Over weeks: the export's non-private track streams of more than 30 s are exactly the model's plays."""
    with running_emulator(now=NOW) as server:
        model = server.app.listening
        first = NOW.date() - dt.timedelta(days=45)
        plays = [p for d in range(first.toordinal(), NOW.date().toordinal() + 1) for p in model.plays_on(d)
                 if p.at_ms <= int(NOW.timestamp() * 1000)]
    truth = write_export(tmp_path / "e.zip", now=NOW, first_day=first, scale="tiny", max_file_bytes=SMALL_FILES)
    eligible = [w for w in truth.streams if w.kind == "track" and w.ms_played > 30_000 and not w.incognito]
    assert [w.played_at_ms for w in eligible] == [p.at_ms for p in plays]
    assert all(w.end_s == p.at_ms // 1000 and w.ms_played == p.ms_played for w, p in zip(eligible, plays, strict=True))
    others = [w for w in truth.streams if w.played_at_ms is None]
    assert others and all(w.kind != "track" or w.ms_played <= 30_000 or w.incognito for w in others)
    # a play's stream starts after the one before it ended: sessions play back to back
    ends = sorted((w.end_s * 1000, w.ms_played) for w in eligible)
    assert all(b_end - b_played >= a_end - 1_000 for (a_end, _), (b_end, b_played) in zip(ends, ends[1:], strict=False))


# ------------------------------------------------------------------------------------------- the CLI
def test_cli_writes_an_export_and_the_server_cli_still_parses(tmp_path):
    out = tmp_path / "my_spotify_data"
    r = subprocess.run([sys.executable, "-m", "spotify_assets.emulator", "export", "--out", str(out), "--folder",
                        "--generation", "endsong", "--variant", "location", "--scale", "tiny",
                        "--now", "2026-11-24T13:05:00Z", "--first-day", "2026-11-01", "--max-file-mb", "0.2"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"wrote {out} (endsong, location)" in r.stdout and "export: 2026 written" in r.stderr
    names = sorted(p.name for p in (out / "MyData").iterdir())
    assert "endsong_0.json" in names and "endsong_1.json" in names
    assert "city" in json.loads((out / "MyData" / "endsong_0.json").read_text())[0]
    bad = subprocess.run([sys.executable, "-m", "spotify_assets.emulator", "export", "--out", str(tmp_path / "x.zip"),
                          "--generation", "extended", "--variant", "combined"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "has no variant 'combined'" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "spotify_assets.emulator", "--help"], capture_output=True, text=True,
                           timeout=60)
    assert usage.returncode == 0 and "--port" in usage.stdout and "export --help" in usage.stdout


def _epoch(ts: str) -> int:
    return int(dt.datetime.fromisoformat(ts).timestamp())


def _ms(played_at: str) -> int:
    return int(dt.datetime.fromisoformat(played_at).timestamp() * 1000)


def _second(played_at: str) -> str:
    return dt.datetime.fromtimestamp(_ms(played_at) // 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# The digests of a small export of every generation and variant (the files written, the truth returned), taken
# from the code as it was before the export was split into modules: a refactoring that changes one byte of any
# file, or one field of the truth, fails here. A deliberate change to the export's output updates them.
PINNED_EXPORTS = {
    "extended-default": ("aab5e0ac2d0d2cdb5f2d36e0", "6a714034559dedd1fd2c0650"),
    "endsong-default": ("56dc5b47d3bbad019dc0a062", "9af4607d911a574c6f621b2b"),
    "endsong-location": ("1815153153a4f987d9e9cb4b", "4657e9ee86ded1bc4713361a"),
    "account_data-default": ("a1f15b39429c1d00c495bcf2", "92752c3d89145ecff201aaf6"),
    "account_data-combined": ("0610506e94ba8b466ac357a5", "d65ae3664ceea723b9cad261"),
}


def _export_digests(folder: Path, truth: ExportTruth) -> tuple[str, str]:
    files = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        files.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    facts = [dataclasses.astuple(w) for w in truth.streams], sorted(truth.files.items()), truth.other_files, \
        sorted(truth.ip_addresses), sorted(truth.user_agents), sorted(map(repr, truth.locations)), \
        sorted(truth.private_fields.items()), truth.recently_played, truth.archive_density
    return files.hexdigest()[:24], hashlib.sha256(repr(facts).encode()).hexdigest()[:24]


@pytest.mark.parametrize("key", list(PINNED_EXPORTS))
def test_a_small_export_is_the_same_bytes_as_pinned(tmp_path, key):
    # A folder, not a zip: the files' bytes are the export's own; a zip's also depend on the host's zlib.
    generation, variant = key.split("-")
    truth = write_export(tmp_path / key, zipped=False, now=NOW, first_day=dt.date(2026, 10, 1), scale="tiny",
                         generation=generation, variant=variant, max_file_bytes=SMALL_FILES)
    assert truth.streams and truth.records > len(truth.files)
    assert _export_digests(tmp_path / key, truth) == PINNED_EXPORTS[key]
