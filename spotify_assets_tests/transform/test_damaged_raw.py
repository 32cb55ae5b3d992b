"""Damaged raw files: every complete line decoded before the damage becomes rows, the rest is one quarantine
record with offsets and reason, and the per-file accounting says how many lines each file gave.

Every transform here runs three ways (Python path, fast path, fast path with tiny chunks) and the three
extractions are compared by the autouse fixture in conftest.py.
"""

from __future__ import annotations

import gzip
import zlib

import orjson
import pytest

from spotify_assets.lake.raw import iter_raw_envelopes, iter_raw_lines
from spotify_assets.lake.storage import Lake
from spotify_assets.transform.pipeline import transform_partition

from .conftest import PARTITION, env, item, page, playlist, sid, track

PL = sid("plbig")
MARKETS = tuple(f"{a}{b}" for a in "ABCDEFGHIJKLM" for b in "ABCDEFGHIJKLMN")  # 182 codes, like the API


def _page_lines(n: int, per_page: int = 40) -> list[bytes]:
    """``n`` playlist item pages of ``per_page`` tracks each (~60 KB a line, as the API's pages go)."""
    return [orjson.dumps(env(f"/v1/playlists/{PL}/tracks?offset={i * per_page}&limit={per_page}",
                             page([item(track(f"t{i}x{j}", album=f"al{i % 7}", artists=(f"ar{j % 5}",),
                                              markets=MARKETS))
                                   for j in range(per_page)], offset=i * per_page)))
            for i in range(n)]


def _text(lines: list[bytes]) -> bytes:
    return b"".join(ln + b"\n" for ln in lines)


ITEMS_PATH = f"raw/playlist_items/dt={PARTITION}/items.jsonl.gz"


def _write_items(lake: Lake, data: bytes) -> None:
    lake.write_bytes(ITEMS_PATH, data)
    # the playlist object (with its first page embedded) in its own, clean file
    lake.write_bytes(f"raw/playlists/dt={PARTITION}/p.jsonl.gz",
                     gzip.compress(orjson.dumps(env(f"/v1/playlists/{PL}", playlist("plbig", []))) + b"\n"))


def _reference(tmp_path, lines: list[bytes]):
    """The transform of a clean lake holding exactly ``lines`` as its items file."""
    lake = Lake(str(tmp_path / "reference"))
    _write_items(lake, gzip.compress(_text(lines)))
    return transform_partition(lake, PARTITION)


def _assert_same_tables(r, ref) -> None:
    for t, tab in ref.tables.items():
        assert r.tables[t].equals(tab), t


def _damage_record(r) -> dict:
    (q,) = r.quarantine["playlist_items"]
    assert (q["table"], q["raw_file"], q["request"]) == ("playlist_items", ITEMS_PATH, None)
    return q


def test_trailing_garbage_after_a_complete_gzip_stream_loses_nothing(lake, tmp_path):
    lines = _page_lines(150)  # ~9 MB decompressed: the garbage is met in the third 4 MB read
    text = _text(lines)
    gz = gzip.compress(text)
    _write_items(lake, gz + b"GARBAGE")
    r = transform_partition(lake, PARTITION)
    ref = _reference(tmp_path, lines)
    assert r.row_counts["playlist_items"] == ref.row_counts["playlist_items"] == 150 * 40
    _assert_same_tables(r, ref)
    q = _damage_record(r)
    assert q["raw_line"] == 151
    assert q["reason"] == ("unreadable gzip data after line 150: trailing bytes after the end of the gzip data are "
                           f"not gzip (incorrect header check) at compressed byte {len(gz)} "
                           f"(decompressed byte {len(text)})")
    assert q["record"] == {"compressed_offset": len(gz), "decompressed_offset": len(text),
                           "file_bytes": len(gz) + 7, "partial_line": None}
    assert r.accounting["files"][ITEMS_PATH] == {
        "source": "playlist_items", "bytes": len(gz) + 7, "lines": 150,
        "damage": {"reason": "trailing bytes after the end of the gzip data are not gzip (incorrect header check)",
                   "after_line": 150, "compressed_offset": len(gz), "decompressed_offset": len(text),
                   "partial_line_bytes": 0, "undecoded_bytes": 7, "loss_measured": True}}
    src = r.accounting["sources"]["playlist_items"]
    assert (src["lines"], src["parsed"], src["quarantined"]) == (151, 150, 1)
    assert list(r.damaged_files) == [ITEMS_PATH]


def test_truncated_file_keeps_every_complete_line(lake, tmp_path):
    lines = _page_lines(150)
    gz = gzip.compress(_text(lines))
    cut = gz[: len(gz) // 2]
    _write_items(lake, cut)
    decodable = zlib.decompressobj(31).decompress(cut)  # all zlib can decode from the cut file
    complete = decodable.count(b"\n")
    partial = decodable[decodable.rindex(b"\n") + 1 :]
    assert 60 < complete < 100 and partial  # the cut falls inside a line, past the first 4 MB read
    r = transform_partition(lake, PARTITION)
    ref = _reference(tmp_path, lines[:complete])
    assert r.row_counts["playlist_items"] == ref.row_counts["playlist_items"] == complete * 40
    _assert_same_tables(r, ref)
    q = _damage_record(r)
    assert q["raw_line"] == complete + 1
    assert q["reason"] == (f"unreadable gzip data after line {complete}: gzip data truncated (the file ends inside a "
                           f"gzip member) at compressed byte {len(cut)} (decompressed byte {len(decodable) - len(partial)})")
    assert q["record"] == {"compressed_offset": len(cut), "decompressed_offset": len(decodable) - len(partial),
                           "file_bytes": len(cut), "partial_line": partial.decode()}
    f = r.accounting["files"][ITEMS_PATH]
    assert (f["lines"], f["damage"]["after_line"], f["damage"]["partial_line_bytes"], f["damage"]["undecoded_bytes"]) \
        == (complete, complete, len(partial), 0)


def test_corrupt_block_mid_file(lake, tmp_path):
    """Decodable data, then a deflate block of a reserved type: the lines before it are kept, the line it
    cuts is not, nothing after it is guessed at."""
    lines = _page_lines(100)
    text = _text(lines)
    head_text = text[: len(text) * 2 // 3]
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = co.compress(head_text) + co.flush(zlib.Z_FULL_FLUSH)
    _write_items(lake, head + b"\xff" * 32 + gzip.compress(text))
    complete = head_text.count(b"\n")
    r = transform_partition(lake, PARTITION)
    _assert_same_tables(r, _reference(tmp_path, lines[:complete]))
    q = _damage_record(r)
    assert q["reason"].startswith(f"unreadable gzip data after line {complete}: corrupt gzip data (invalid block "
                                  f"type) at compressed byte {len(head)} ")
    assert q["record"]["partial_line"] == head_text[head_text.rindex(b"\n") + 1 :].decode()


def test_concatenated_gzip_members_are_one_file(lake, tmp_path):
    lines = _page_lines(30)
    _write_items(lake, gzip.compress(_text(lines[:10])) + gzip.compress(_text(lines[10:])))
    r = transform_partition(lake, PARTITION)
    _assert_same_tables(r, _reference(tmp_path, lines))
    assert r.quarantined == 0 and r.damaged_files == {}
    assert r.accounting["files"][ITEMS_PATH]["lines"] == 30


def test_checksum_mismatch_keeps_the_lines_and_flags_the_file(lake, tmp_path):
    lines = _page_lines(20)
    gz = gzip.compress(_text(lines))
    _write_items(lake, gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:])
    r = transform_partition(lake, PARTITION)
    _assert_same_tables(r, _reference(tmp_path, lines))
    assert _damage_record(r)["reason"].startswith(
        "unreadable gzip data after line 20: gzip checksum mismatch at the end of a member (incorrect data check)")


@pytest.mark.parametrize("data,reason", [
    (b"", "empty file (no gzip data)"),
    (b"\x1f\x8b\x08\x00\x00\x00", "gzip data truncated (the file ends inside a gzip member)"),
])
def test_files_without_a_single_line(lake, data, reason):
    _write_items(lake, data)
    r = transform_partition(lake, PARTITION)
    assert r.row_counts["playlist_items"] == 0
    q = _damage_record(r)
    assert q["raw_line"] == 1 and q["reason"].startswith(f"unreadable gzip data after line 0: {reason} at ")
    assert r.accounting["files"][ITEMS_PATH]["lines"] == 0


def test_every_damaged_file_of_a_day_is_one_record_and_the_others_are_read(lake, raw):
    good = raw.write("tracks", [env(f"/v1/tracks/{sid('t1')}", track("t1"))])
    whole = gzip.compress(_text([orjson.dumps(env(f"/v1/tracks/{sid('t2')}", track("t2")))]))
    lake.write_bytes(f"raw/tracks/dt={PARTITION}/a.jsonl.gz", whole + b"junk")
    lake.write_bytes(f"raw/tracks/dt={PARTITION}/b.jsonl.gz", whole[:-3])
    r = transform_partition(lake, PARTITION)
    assert sorted(r.tables["tracks"]["track_id"].to_pylist()) == sorted([sid("t1"), sid("t2")])
    assert [(q["raw_file"], q["raw_line"]) for q in r.quarantine["tracks"]] == [
        (f"raw/tracks/dt={PARTITION}/a.jsonl.gz", 2), (f"raw/tracks/dt={PARTITION}/b.jsonl.gz", 2)]
    files = r.accounting["files"]
    assert {p: (f["lines"], f["damage"] is not None) for p, f in files.items()} == {
        f"raw/tracks/dt={PARTITION}/a.jsonl.gz": (1, True), f"raw/tracks/dt={PARTITION}/b.jsonl.gz": (1, True),
        good: (1, False)}
    assert r.accounting["sources"]["tracks"]["lines"] == 5


def test_carry_over_reader_uses_the_intact_lines_of_a_damaged_file(lake, caplog):
    lines = _page_lines(3, per_page=2)
    gz = gzip.compress(_text(lines))
    lake.write_bytes(ITEMS_PATH, gz + b"GARBAGE")
    with pytest.raises(Exception, match="trailing bytes"):
        list(iter_raw_lines(lake, "playlist_items", PARTITION))
    damaged: list = []
    assert [ln.data for ln in iter_raw_lines(lake, "playlist_items", PARTITION, damaged=damaged)] == lines
    assert [(d.path, d.compressed_offset) for d in damaged] == [(ITEMS_PATH, len(gz))]
    with caplog.at_level("WARNING"):
        assert len(list(iter_raw_envelopes(lake, "playlist_items", PARTITION))) == 3
    assert f"raw file {ITEMS_PATH} is damaged" in caplog.text


def test_an_io_error_fails_the_transform_naming_the_file(lake, monkeypatch):
    _write_items(lake, gzip.compress(_text(_page_lines(2))))
    real_open = Lake.open_input

    def failing_open(self, rel):
        if rel == ITEMS_PATH:
            raise OSError("Input/output error")
        return real_open(self, rel)

    monkeypatch.setattr(Lake, "open_input", failing_open)
    with pytest.raises(OSError, match="Input/output error") as e:
        transform_partition(lake, PARTITION)
    assert e.value.__notes__ == [f"while transforming raw file {ITEMS_PATH} (last line read: 0)"]


def test_a_bug_on_a_line_names_the_file_and_the_last_line_read(lake, monkeypatch):
    from spotify_assets.transform.extract.extractor import Extractor

    _write_items(lake, gzip.compress(_text(_page_lines(3))))
    real_feed = Extractor.feed_line

    def feed(self, file, line_no, data):
        if file == ITEMS_PATH and line_no == 3:
            raise RuntimeError("a bug")
        real_feed(self, file, line_no, data)

    monkeypatch.setattr(Extractor, "feed_line", feed)
    with pytest.raises(RuntimeError, match="a bug") as e:
        transform_partition(lake, PARTITION, fast=False)
    assert e.value.__notes__ == [f"while transforming raw file {ITEMS_PATH} (last line read: 2)"]
