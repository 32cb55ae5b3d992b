"""Spotify-style 22-character base62 ids, derived reversibly from (kind, index).

Why reversible: at ``large`` scale the catalog is never materialised, so a look-up by id must turn the
id back into (kind, index) in O(1). An affine bijection modulo 62**22 keyed by the seed makes ids look
random (neighbouring indices give unrelated ids) while decoding stays a couple of big-int operations.
"""

from __future__ import annotations

import hashlib
import re

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_MOD = 62**22
BASE62_RE = re.compile(r"[0-9A-Za-z]{22}")

# Kind codes live in the low bits of the pre-image, so each kind has its own id space.
KINDS = ("track", "album", "artist", "playlist", "episode", "show", "relinked")
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_NKINDS = 8


def is_base62_id(s: str) -> bool:
    """True if ``s`` is syntactically a Spotify id (22 base62 characters)."""
    return bool(BASE62_RE.fullmatch(s))


class IdCodec:
    """Seeded bijection between (kind, index) and base62 ids."""

    def __init__(self, seed: int) -> None:
        digest = hashlib.blake2b(f"ids:{seed}".encode(), digest_size=32).digest()
        a = int.from_bytes(digest[:16], "big") % _MOD
        # The multiplier must be a unit mod 62**22 = 2**22 * 31**22: odd and not a multiple of 31.
        a |= 1
        while a % 31 == 0:
            a += 2
        self._a = a
        self._a_inv = pow(a, -1, _MOD)
        self._b = int.from_bytes(digest[16:], "big") % _MOD

    def encode(self, kind: str, index: int) -> str:
        x = (self._a * (index * _NKINDS + _KIND_CODE[kind]) + self._b) % _MOD
        out = []
        for _ in range(22):
            x, r = divmod(x, 62)
            out.append(ALPHABET[r])
        return "".join(reversed(out))

    def decode(self, id_: str) -> tuple[str, int] | None:
        """(kind, index) for a well-formed id, or None when it cannot be one of ours."""
        x = 0
        for c in id_:
            x = x * 62 + _INDEX[c]
        y = ((x - self._b) * self._a_inv) % _MOD
        index, code = divmod(y, _NKINDS)
        if code >= len(KINDS):
            return None
        return KINDS[code], index
