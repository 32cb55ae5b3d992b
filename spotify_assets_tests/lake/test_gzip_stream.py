"""GzipReader: every decodable byte of a damaged gzip file is delivered, then the damage is named exactly."""

from __future__ import annotations

import gzip
import random
import zlib

import pyarrow as pa
import pytest

from spotify_assets.lake.gzip_stream import GzipDamage, GzipReader

# ~5 MB of text that compresses about as well as the raw zone (more than one 4 MB read, several members'
# worth of zlib steps), the same on every run
_rng = random.Random(7)
TEXT = b"".join(b'{"line": %d, "pad": "%s"}\n' % (i, bytes(_rng.choices(b"abcdefgh", k=200))) for i in range(24_000))
GZ = gzip.compress(TEXT, mtime=0)


def _read(data: bytes, *, readinto: bool = False, size: int = 4 << 20) -> tuple[bytes, GzipDamage | None]:
    out = bytearray()
    with GzipReader(lambda: pa.BufferReader(data)) as reader:
        try:
            if readinto:
                buf = bytearray(size)
                while n := reader.readinto(memoryview(buf)):
                    out += buf[:n]
            else:
                while chunk := reader.read(size):
                    out += chunk
        except GzipDamage as damage:
            assert damage.decoded == reader.delivered == len(out)
            return bytes(out), damage
    return bytes(out), None


@pytest.mark.parametrize("readinto", [False, True])
def test_clean_and_multi_member_files_are_read_whole(readinto):
    assert _read(GZ, readinto=readinto) == (TEXT, None)
    # concatenated members are one gzip file (RFC 1952), an empty member among them included
    two = gzip.compress(TEXT[:1000]) + gzip.compress(b"") + gzip.compress(TEXT[1000:])
    assert _read(two, readinto=readinto) == (TEXT, None)
    assert _read(gzip.compress(b"")) == (b"", None)


@pytest.mark.parametrize("readinto", [False, True])
@pytest.mark.parametrize("tail", [b"GARBAGE", b"\0" * 10, b"x"])
def test_trailing_bytes_after_the_last_member(readinto, tail):
    out, damage = _read(GZ + tail, readinto=readinto)
    assert out == TEXT  # everything, although Arrow fails in the last 4 MB read
    assert damage.reason == "trailing bytes after the end of the gzip data are not gzip (incorrect header check)"
    assert (damage.compressed_offset, damage.decoded) == (len(GZ), len(TEXT))


@pytest.mark.parametrize("cut", [len(GZ) // 3, len(GZ) - 4, len(GZ) + 5])
def test_truncated_member(cut):
    data = (GZ + GZ[:10])[:cut]  # (the last case: a second member cut in its header)
    out, damage = _read(data)
    assert out == zlib.decompressobj(31).decompress(data)[: len(out)] and len(out) > 0
    assert out == (TEXT if cut > len(GZ) - 8 else zlib.decompressobj(31).decompress(data))
    assert damage.reason == "gzip data truncated (the file ends inside a gzip member)"
    assert (damage.compressed_offset, damage.decoded) == (len(data), len(out))


def test_corrupt_block_after_a_flush_keeps_what_precedes_it():
    """A deflate block of reserved type 3 right after a full flush: zlib fails at exactly that byte."""
    part = TEXT[: 3_000_123]  # ends inside a line
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    head = co.compress(part) + co.flush(zlib.Z_FULL_FLUSH)
    out, damage = _read(head + b"\xff" * 64 + GZ)
    assert out == part
    assert damage.reason == "corrupt gzip data (invalid block type)"
    assert (damage.compressed_offset, damage.decoded) == (len(head), len(part))


def test_corrupt_second_member_keeps_the_first():
    second = gzip.compress(b"second\n", mtime=0)
    out, damage = _read(GZ + second[:10] + b"\xff" + second[11:])
    assert out == TEXT
    assert damage.reason == "corrupt gzip data (invalid block type)"
    assert damage.compressed_offset == len(GZ) + 10


def test_checksum_mismatch_delivers_the_member_and_says_so():
    bad_crc = GZ[:-8] + bytes([GZ[-8] ^ 1]) + GZ[-7:]
    out, damage = _read(bad_crc)
    assert out == TEXT
    assert damage.reason.startswith("gzip checksum mismatch at the end of a member (incorrect data check)")
    assert (damage.compressed_offset, damage.decoded) == (len(GZ) - 5, len(TEXT))  # the CRC's last byte


@pytest.mark.parametrize("data,reason", [(b"", "empty file (no gzip data)"),
                                         (b"plain text\n", "not a gzip file (incorrect header check)")])
def test_not_gzip_at_all(data, reason):
    out, damage = _read(data)
    assert out == b""
    assert (damage.reason, damage.compressed_offset, damage.decoded) == (reason, 0, 0)


def test_damage_message_names_both_offsets_and_the_cut_line():
    damage = GzipDamage("gzip data truncated (the file ends inside a gzip member)", 120, 1000)
    damage.partial_line = b'{"half'
    assert damage.decompressed_offset == 994
    assert str(damage) == ("gzip data truncated (the file ends inside a gzip member) at compressed byte 120 "
                           "(decompressed byte 994)")


def test_an_io_error_is_not_damage():
    calls = []

    def opener():
        calls.append(1)
        if len(calls) > 1:
            raise OSError("connection reset")
        return pa.BufferReader(GZ + b"GARBAGE")

    with GzipReader(opener) as reader, pytest.raises(OSError, match="connection reset"):
        while reader.read(1 << 20):
            pass
