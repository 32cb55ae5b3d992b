"""Reading one history file: a JSON array of records, complete or not.

A file as Spotify writes it parses in one go (``orjson``). A damaged one — cut short by a download, with
garbage in the middle — is read record by record up to the damage: every complete record before it is
kept, and the rest is reported as one problem (its byte offset and size, never its text: it may hold the
personal data the import removes). An empty file and an array never closed lose no record and are reported
as notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import orjson

_BOM = b"\xef\xbb\xbf"
_WS = " \t\r\n"


@dataclass
class ArrayRead:
    """The records of a file, and what was wrong with it.

    ``problem``: the part that could not be read, as ``{"reason", "offset", "bytes"}`` — it counts as one
    record that is quarantined. ``notes``: what is worth saying but lost nothing (an empty file, a missing
    final ``]``)."""

    items: list
    problem: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def records_in(self) -> int:
        """Records the file held: the items read, plus one for an unreadable rest."""
        return len(self.items) + (self.problem is not None)


def read_json_array(data: bytes) -> ArrayRead:
    """The items of the JSON array in ``data`` (see the module docstring)."""
    if data.startswith(_BOM):
        data = data[len(_BOM):]
    if not data.strip():
        return ArrayRead([], notes=[f"empty file ({len(data)} bytes): no records"])
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        return _read_damaged(data)
    if isinstance(value, list):
        return ArrayRead(value)
    return ArrayRead([], problem={
        "reason": f"not a JSON array of records but a JSON {_kind(value)}: the file is not read",
        "offset": 0, "bytes": len(data),
    })


def _kind(value) -> str:
    return {dict: "object", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")


def _read_damaged(data: bytes) -> ArrayRead:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return ArrayRead([], problem={"reason": f"not UTF-8 text (byte {e.start}): the file is not read",
                                      "offset": 0, "bytes": len(data)})
    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if not text.startswith("[", pos):
        return ArrayRead([], problem={"reason": "not a JSON array of records: the file is not read",
                                      "offset": 0, "bytes": len(data)})
    pos = _skip_ws(text, pos + 1)
    items: list = []
    if text.startswith("]", pos):
        return ArrayRead(items, notes=_trailing(text, pos + 1))
    while True:
        start = pos
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            return ArrayRead(items, problem=_damage(text, start, e.pos, len(items), e.msg))
        items.append(item)
        pos = _skip_ws(text, pos)
        if pos >= len(text):
            return ArrayRead(items, notes=["the array is not closed (no final ']'): every record in it was read"])
        if text[pos] == "]":
            return ArrayRead(items, notes=_trailing(text, pos + 1))
        if text[pos] != ",":
            return ArrayRead(items, problem=_damage(text, pos, pos, len(items), "expected ',' or ']'"))
        pos = _skip_ws(text, pos + 1)


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _WS:
        pos += 1
    return pos


def _trailing(text: str, pos: int) -> list[str]:
    rest = text[pos:].strip()
    return [f"{len(rest.encode())} bytes after the array's end are ignored"] if rest else []


def _ends_inside_value(text: str, start: int) -> bool:
    """Whether the value starting at ``start`` is still open (inside a string, object or array) at the end."""
    depth, in_string, escaped = 0, False, False
    for ch in text[start:]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth <= 0:
                return False
    return in_string or depth > 0


def _damage(text: str, start: int, error_at: int, read: int, message: str) -> dict:
    offset = len(text[:start].encode())
    rest = len(text[start:].encode())
    if _skip_ws(text, error_at) >= len(text) or _ends_inside_value(text, start):
        reason = f"truncated JSON array: the file ends inside a record, after {read} complete records"
    else:
        reason = (f"invalid JSON at byte {len(text[:error_at].encode())} ({message}), after {read} complete "
                  "records: the rest of the file is not read")
    return {"reason": reason, "offset": offset, "bytes": rest}
