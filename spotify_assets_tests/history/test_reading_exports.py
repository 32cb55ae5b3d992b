"""Reading an export as downloaded: which files are history (every generation, any folder), why the others
are not read, zip and folder alike, and clear errors for what is not an export; JSON arrays cut short or
damaged give every complete record and one problem for the rest."""

from __future__ import annotations

import json
import zipfile

import pytest

from spotify_assets.history.export import ExportError, classify, open_export
from spotify_assets.history.jsonarray import read_json_array

from .exports import standard_files, write_folder, write_zip


@pytest.mark.parametrize("path, generation, content", [
    ("Spotify Extended Streaming History/Streaming_History_Audio_2019-2021_0.json", "extended", "audio"),
    ("my_spotify_data/Spotify Extended Streaming History/Streaming_History_Audio_2024_5.json", "extended", "audio"),
    ("Streaming_History_Video_2020-2024.json", "extended", "video"),
    ("MyData/endsong_0.json", "endsong", "audio"),
    ("MyData/endsong_12.json", "endsong", "audio"),
    ("MyData/StreamingHistory_music_0.json", "account_data", "music"),
    ("MyData/StreamingHistory_podcast_1.json", "account_data", "podcast"),
    ("MyData/StreamingHistory_audiobook_0.json", "account_data", "audiobook"),
    ("MyData/StreamingHistory3.json", "account_data", "mixed"),
])
def test_history_files_of_every_generation_in_any_folder(path, generation, content):
    f = classify(path, 10)
    assert (f.generation, f.content, f.reason) == (generation, content, None)


@pytest.mark.parametrize("path, reason", [
    ("Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf", "a document"),
    ("MyData/Userdata.json", "account data other than streaming history"),
    ("MyData/Playlist1.json", "account data other than streaming history"),
    ("__MACOSX/MyData/._endsong_0.json", "file-system metadata"),
    ("MyData/.DS_Store", "file-system metadata"),
    ("MyData/endsong_0.json.bak", "not a streaming history file"),
    ("MyData/streaminghistory0.json", "account data other than streaming history"),  # names are case-sensitive
])
def test_other_files_are_listed_as_not_read_with_the_reason(path, reason):
    f = classify(path, 10)
    assert f.generation is None and f.reason.startswith(reason)


def test_a_zip_and_its_folder_are_the_same_export(tmp_path):
    files = standard_files()
    zipped = write_zip(tmp_path / "my_spotify_data.zip", files, top="my_spotify_data/")
    folder = write_folder(tmp_path / "extracted", files)
    with open_export(zipped) as z, open_export(folder) as f:
        assert [x.name for x in z.history_files] == [x.name for x in f.history_files] == [
            "Streaming_History_Audio_2014-2016_0.json", "Streaming_History_Video_2020-2024.json"]
        assert [z.read(x) for x in z.history_files] == [f.read(x) for x in f.history_files]
        assert len(z.unread_files) == len(f.unread_files) == 3


def test_what_is_not_an_export_fails_clearly(tmp_path):
    not_export = tmp_path / "photos.zip"
    with zipfile.ZipFile(not_export, "w") as zf:
        zf.writestr("holiday/beach.jpg", b"\xff\xd8")
        zf.writestr("MyData/Userdata.json", b"{}")
    with pytest.raises(ExportError, match="holds no streaming history file.*not a Spotify data export.*beach.jpg"):
        with open_export(str(not_export)):
            pass
    text = tmp_path / "export.zip"
    text.write_text("this is not a zip")
    with pytest.raises(ExportError, match="neither a folder nor a zip file"):
        with open_export(str(text)):
            pass
    with pytest.raises(ExportError, match="does not exist"):
        with open_export(str(tmp_path / "missing.zip")):
            pass
    with pytest.raises(ExportError, match="no export given"):
        with open_export("  "):
            pass


RECORDS = [{"ts": "2014-07-27T20:34:47Z", "ms_played": 1}, {"ts": "2014-07-27T20:40:00Z", "ms_played": 2},
           {"ts": "2014-07-27T20:45:00Z", "ms_played": 3}]


def test_a_complete_array_in_every_formatting():
    for data in (json.dumps(RECORDS).encode(), json.dumps(RECORDS, indent=2).encode(),
                 json.dumps(RECORDS, separators=(",", " : ")).encode(), b"\xef\xbb\xbf" + json.dumps(RECORDS).encode()):
        read = read_json_array(data)
        assert (read.items, read.problem, read.notes, read.records_in) == (RECORDS, None, [], 3)


def test_a_truncated_array_gives_every_complete_record_and_one_problem():
    data = json.dumps(RECORDS, indent=2).encode()
    cut = data[: data.index(b'"2014-07-27T20:45:00Z"') + 10]
    read = read_json_array(cut)
    assert read.items == RECORDS[:2]
    assert read.problem["reason"] == "truncated JSON array: the file ends inside a record, after 2 complete records"
    assert read.problem["offset"] == cut.index(b"{", cut.index(b"20:40:00Z"))  # the third record's start
    assert read.problem["offset"] + read.problem["bytes"] == len(cut)
    assert read.records_in == 3
    assert "20:45" not in json.dumps(read.problem)  # the damaged record's text is never kept


def test_garbage_inside_the_array_stops_there():
    data = b'[{"ts": "2014-07-27T20:34:47Z", "ms_played": 1}, {"ts": 2014-07-27}, {"ms_played": 3}]'
    read = read_json_array(data)
    assert read.items == [RECORDS[0]]
    assert read.problem["reason"].startswith("invalid JSON at byte ")
    assert read.problem["reason"].endswith("after 1 complete records: the rest of the file is not read")
    assert read.records_in == 2


def test_empty_files_unclosed_arrays_and_other_json():
    assert read_json_array(b"") .notes == ["empty file (0 bytes): no records"]
    assert read_json_array(b"  \n").records_in == 0
    assert read_json_array(b"[]").items == []
    unclosed = read_json_array(json.dumps(RECORDS).encode()[:-1] + b"\n")
    assert unclosed.items == RECORDS and unclosed.problem is None
    assert unclosed.notes == ["the array is not closed (no final ']'): every record in it was read"]
    obj = read_json_array(b'{"ts": "2014-07-27T20:34:47Z"}')
    assert obj.items == [] and obj.problem["reason"].startswith("not a JSON array of records but a JSON object")
    assert obj.records_in == 1
    assert read_json_array(b"\xff\xfe[garbage").problem["reason"].startswith("not UTF-8 text")
    trailing = read_json_array(json.dumps(RECORDS).encode() + b" junk")
    assert trailing.items == RECORDS and trailing.notes == ["4 bytes after the array's end are ignored"]
