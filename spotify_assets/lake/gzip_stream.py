"""Damage-tolerant gzip decompression: every byte that can be decoded is delivered, then the damage is named.

A raw file can be damaged the way files in a lake get damaged: cut short by a partial upload, followed by
bytes that are not gzip (a concatenation, a re-upload over a longer file, zero padding), or corrupt in
the middle. :class:`GzipReader` reads the decompressed bytes of a file of one or more gzip members
(concatenated members are legal gzip and are read in full) and, on damage, first delivers every byte
decoded before it, then raises :class:`GzipDamage` with the reason and the byte offsets.

Clean files cost nothing extra: they are decompressed by Arrow (C++, outside the GIL) exactly as before.
Only when Arrow fails is the file reopened and decoded again with :mod:`zlib` from its start (what was
already delivered is skipped), member by member, locating the first byte that cannot be decoded by
bisection — so the bytes decoded just before the damage are not thrown away with the block they were in.
An I/O error that recurs on the reopened file is raised as it is (it is not damage).
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable
from typing import BinaryIO

import pyarrow as pa

STEP = 64 * 1024  # compressed bytes fed to zlib per call on the salvage path
_GZIP_ONLY = 16 + zlib.MAX_WBITS  # zlib window bits: a gzip header and trailer, checked
_HEADER_ERRORS = ("incorrect header check", "unknown compression method", "unknown header flags set",
                  "header crc mismatch")
_CHECK_ERRORS = ("incorrect data check", "incorrect length check")
_MAGIC = b"\x1f\x8b"
_TRAILING = "trailing bytes after the end of the gzip data are not gzip ({})"


class GzipDamage(Exception):
    """The gzip data of a file cannot be decoded past ``compressed_offset``.

    Raised by :class:`GzipReader` after every decodable byte was delivered. ``decoded`` counts the
    decompressed bytes delivered before the damage. A line reader sets ``partial_line`` to the
    unterminated line those bytes end with (lost: it is not a complete line), so the lost part of the
    decompressed text starts at :attr:`decompressed_offset`.

    ``measurable``: the compressed bytes after ``compressed_offset`` are all that was lost (corrupt data,
    bytes that are not gzip). False when the file ends before its gzip data does (cut short, empty): what
    the missing part held cannot be known.
    """

    def __init__(self, reason: str, compressed_offset: int, decoded: int, *, measurable: bool = True):
        super().__init__(reason, compressed_offset, decoded)
        self.reason = reason
        self.compressed_offset = compressed_offset
        self.decoded = decoded
        self.measurable = measurable
        self.partial_line = b""
        self.path: str | None = None  # the damaged file, set by readers that go through several

    @property
    def decompressed_offset(self) -> int:
        """Offset in the decompressed text of the first byte not used (the end of the last complete line)."""
        return self.decoded - len(self.partial_line)

    def __str__(self) -> str:
        return (f"{self.reason} at compressed byte {self.compressed_offset} "
                f"(decompressed byte {self.decompressed_offset})")


class GzipReader:
    """The decompressed bytes of one gzip file, read with :meth:`read` / :meth:`readinto` like a stream.

    ``opener`` returns a new binary input stream of the compressed file each time it is called (the
    file is reopened once if Arrow fails on it). Use as a context manager.
    """

    def __init__(self, opener: Callable[[], BinaryIO]):
        self._opener = opener
        self._raw = opener()
        self._fast: pa.CompressedInputStream | None = pa.CompressedInputStream(self._raw, "gzip")
        self._slow: _Salvage | None = None
        self.delivered = 0  # decompressed bytes returned so far

    @classmethod
    def open(cls, lake, path: str) -> GzipReader:
        """A reader of the lake file ``path`` (relative to the lake root)."""
        return cls(lambda: lake.open_input(path))

    def __enter__(self) -> GzipReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
        self._raw.close()

    def read(self, n: int) -> bytes:
        """Up to ``n`` decompressed bytes (at least one until the end), ``b""`` at the end; raises
        :class:`GzipDamage` once the last decodable byte of a damaged file was returned."""
        if self._fast is not None:
            try:
                data = self._fast.read(n)
            except OSError:  # damaged (or an I/O error): decode again, carefully
                self._switch()
            else:
                if data or self.delivered:
                    self.delivered += len(data)
                    return data
                self._switch()  # nothing at all: an empty file is not a gzip file (Arrow accepts it)
        data = self._slow.read(n)
        self.delivered += len(data)
        return data

    def readinto(self, view: memoryview) -> int:
        """Like :meth:`read`, into ``view``; returns the number of bytes written (0 at the end)."""
        if self._fast is not None:
            try:
                n = self._fast.readinto(view)
            except OSError:
                self._switch()
            else:
                if n or self.delivered:
                    self.delivered += n
                    return n
                self._switch()
        n = self._slow.readinto(view)
        self.delivered += n
        return n

    def _switch(self) -> None:
        with contextlib.suppress(OSError):  # the failed streams are dropped either way
            self._fast.close()
            self._raw.close()
        self._fast = None
        self._raw = self._opener()
        self._slow = _Salvage(self._raw, skip=self.delivered)


class _Salvage:
    """Decodes a gzip file with :mod:`zlib`, member by member, delivering every byte before any damage.

    ``skip`` decompressed bytes (already delivered by Arrow) are decoded again but not returned.
    """

    def __init__(self, raw: BinaryIO, skip: int):
        self._raw = raw
        self._skip = skip
        self._member: zlib._Decompress | None = None  # the member being decoded
        self._member_start = 0
        self._member_head = b""  # the member's first bytes (zlib needs two to reject a header)
        self._members = 0  # members decoded completely
        self._unfed = b""  # compressed bytes read past the end of the last member
        self._offset = 0  # compressed offset of the next byte to feed
        self._decoded = 0  # decompressed bytes produced, skipped ones included
        self._pending = memoryview(b"")
        self._damage: GzipDamage | None = None
        self._done = False

    def read(self, n: int) -> bytes:
        if not self._fill():
            return b""
        out = bytes(self._pending[:n])
        self._pending = self._pending[n:]
        return out

    def readinto(self, view: memoryview) -> int:
        if not self._fill():
            return 0
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _fill(self) -> bool:
        """True when bytes are pending; False at a clean end; raises the damage once everything is out."""
        while not self._pending:
            if self._done:
                if self._damage is not None:
                    raise self._damage
                return False
            self._pending = memoryview(self._decode())
        return True

    def _decode(self) -> bytes:
        """Decode the next step of compressed input; returns what is not skipped (maybe nothing)."""
        data = self._unfed or self._raw.read(STEP)
        self._unfed = b""
        if not data:
            self._end_of_file()
            return b""
        if self._member is None:
            self._member = zlib.decompressobj(_GZIP_ONLY)
            self._member_start = self._offset
            self._member_head = data[:2]
        before = self._member.copy()
        try:
            out = self._member.decompress(data)
        except zlib.error as e:
            return self._keep(self._zlib_error(str(e).rsplit(": ", 1)[-1], before, data))
        self._offset += len(data)
        if self._member.eof:  # the member ends in this step: what follows is the next member (or damage)
            self._unfed = self._member.unused_data
            self._offset -= len(self._unfed)
            self._member = None
            self._members += 1
        return self._keep(out)

    def _end_of_file(self) -> None:
        self._done = True
        if self._member is None:
            if self._members == 0:
                self._fail("empty file (no gzip data)", 0, measurable=False)
        elif self._members and not _MAGIC.startswith(self._member_head):  # one stray byte after a member
            self._fail(_TRAILING.format("incorrect header check"), self._member_start)
        else:
            self._fail("gzip data truncated (the file ends inside a gzip member)", self._offset, measurable=False)

    def _zlib_error(self, what: str, before, data: bytes) -> bytes:
        """Record the damage ``what`` (zlib's words) met in ``data``; returns what decodes before it."""
        self._done = True
        if any(h in what for h in _HEADER_ERRORS):  # only a member's first bytes can fail so
            self._fail(_TRAILING.format(what) if self._members else f"not a gzip file ({what})", self._member_start)
            return b""
        out, bad = _decodable_prefix(before, data)
        if any(c in what for c in _CHECK_ERRORS):
            reason = (f"gzip checksum mismatch at the end of a member ({what}): its lines were read but may "
                      "hold corrupted bytes")
        else:
            reason = f"corrupt gzip data ({what})"
        self._fail(reason, self._offset + bad, len(out))
        return out

    def _keep(self, out: bytes) -> bytes:
        self._decoded += len(out)
        if self._skip:
            k = min(self._skip, len(out))
            self._skip -= k
            out = out[k:]
        return out

    def _fail(self, reason: str, offset: int, pending: int = 0, *, measurable: bool = True) -> None:
        """The damage, raised once everything decoded before it (``pending`` bytes not counted yet) is out."""
        self._damage = GzipDamage(reason, offset, self._decoded + pending, measurable=measurable)


def _decodable_prefix(member, data: bytes) -> tuple[bytes, int]:
    """``(output, k)``: what ``member`` (a zlib decompressor, not changed) decodes from ``data[:k]``, where
    ``data[k]`` is the first byte it cannot decode. Bisection on copies: O(log n) zlib calls."""
    out: list[bytes] = []
    pos, step = 0, len(data)
    while step and pos < len(data):
        trial = member.copy()
        try:
            piece = trial.decompress(data[pos : pos + step])
        except zlib.error:
            step //= 2
            continue
        out.append(piece)
        member = trial
        pos += step
    return b"".join(out), min(pos, len(data))
