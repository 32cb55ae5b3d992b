"""Landing an export in the raw zone: its history records, without personal data, one folder per export.

    raw/streaming_history/export=<export id>/<nnn>-<file name>.jsonl.gz   the records of one history file
    raw/streaming_history/export=<export id>/export.json                   the manifest (written last)

* **Records**: every JSON object of a history file, one per line, in the file's order, verbatim but for the
  fields :meth:`~.fields.Scrubber.scrub` removes (personal data, unknown fields), counted per field. Items of the
  array that are not objects and an unreadable rest of a damaged file (:mod:`.jsonarray`) are not landed:
  the manifest lists them as ``problems`` (index and reason, never their text) and the ``streams`` step
  quarantines them, so ``records_in = records_landed + problems`` for every file.
* **Export id**: 16 hex digits of the SHA-256 over the history files' names and contents: the zip and its
  extracted folder are the same export, so importing either again lands nothing new (the manifest exists:
  ``already landed``). A newer export is another folder; the ``streams`` step keeps each stream once.
* **Manifest**: written after every records file, so a folder without one is an import that did not
  finish (it is ignored, and landed again by the next import of that export). It says which files were
  read (generation, size, SHA-256, counts, problems, notes) and which were not, with the reason.

Nothing of the export is written anywhere before it is scrubbed: files are read into memory one at a time
and the scrubbed lines are spooled to a local temporary file, then uploaded.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import queue
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from ..lake.paths import HISTORY_SOURCE, history_export_dir
from ..lake.storage import Lake, local_spool
from .export import Export, ExportError, open_export
from .fields import PERSONAL_FIELDS, Scrubber
from .jsonarray import read_json_array

MANIFEST_NAME = "export.json"
EXPORT_PREFIX = "export="
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_FLUSH_BYTES = 1 << 20


@dataclass
class LandingReport:
    """What an import landed (or found already landed): the export's manifest and where it is."""

    export_id: str
    folder: str  # raw/streaming_history/export=<id>
    manifest: dict
    already_landed: bool = False
    bytes_written: int = 0
    raw_files: list[str] = field(default_factory=list)

    @property
    def records_in(self) -> int:
        return self.manifest["records_in"]

    @property
    def records_landed(self) -> int:
        return self.manifest["records_landed"]

    @property
    def personal_values_removed(self) -> dict[str, int]:
        return self.manifest["personal_values_removed"]


def manifest_path(export_id: str) -> str:
    return f"{history_export_dir(export_id)}/{MANIFEST_NAME}"


def export_id_of(digests: list[tuple[str, str]]) -> str:
    """The id of an export from its history files' ``(name, sha256)``: the same for the zip and its folder."""
    text = "\n".join(f"{name}\t{digest}" for name, digest in sorted(digests))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def land_export(lake: Lake, location: str, *, reland: bool = False, log: Callable[[str], None] = print,
                now: dt.datetime | None = None) -> LandingReport:
    """Land the export at ``location`` (see the module docstring); ``reland`` lands it again even when its
    manifest exists (e.g. after :data:`~.fields.KNOWN_FIELDS` gained a field). Raises
    :class:`~.export.ExportError` when ``location`` is not an export."""
    with open_export(location) as export:
        history = export.history_files
        log(f"{location}: {len(history)} streaming history file(s) "
            f"({', '.join(sorted({f.generation for f in history}))}), {len(export.unread_files)} other file(s) not read")
        with local_spool() as spool:
            files, digests = _scrub_files(export, spool.rsplit("/", 1)[0], log)
            export_id = export_id_of(digests)
            folder = history_export_dir(export_id)
            before = orjson.loads(lake.read_bytes(manifest_path(export_id))) if lake.exists(
                manifest_path(export_id)) else None
            if before is not None and not reland:
                for entry in files:
                    entry.pop("_spool")
                log(f"Export {export_id} was landed before ({before.get('landed_at')}): nothing written")
                return LandingReport(export_id, folder, before, already_landed=True)
            written, raw_files = 0, []
            for entry in files:
                local = entry.pop("_spool")
                entry["raw_file"] = f"{folder}/{entry.pop('raw_name')}"
                written += lake.upload_file(local, entry["raw_file"])
                raw_files.append(entry["raw_file"])
        manifest = _manifest(export_id, location, files, export, now)
        if before is not None:  # landed again: it keeps its place among the exports (the first read wins)
            manifest["landed_at"] = before["landed_at"]
        lake.write_bytes(manifest_path(export_id), orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        log(f"Landed export {export_id} at {lake.uri(folder)}: {manifest['records_landed']:,} of "
            f"{manifest['records_in']:,} records, {sum(manifest['personal_values_removed'].values()):,} personal "
            f"values removed, {written:,} bytes")
        return LandingReport(export_id, folder, manifest, bytes_written=written, raw_files=raw_files)


def _scrub_files(export: Export, spool_dir: str, log: Callable[[str], None]) -> tuple[list[dict], list[tuple[str, str]]]:
    files, digests = [], []
    for n, f in enumerate(export.history_files):
        data = export.read(f)
        digest = hashlib.sha256(data).hexdigest()
        digests.append((f.name, digest))
        read = read_json_array(data)
        del data
        scrubber = Scrubber()
        problems = []
        raw_name = f"{n:03d}-{_UNSAFE.sub('_', f.name.removesuffix('.json'))[:100]}.jsonl.gz"
        local = f"{spool_dir}/{raw_name}"
        landed = 0
        with _GzipSpool(local) as out:
            buffer = []
            size = 0
            for index, item in enumerate(read.items):
                if type(item) is not dict:
                    problems.append({"index": index, "reason": f"not a JSON object but a JSON {_kind(item)}"})
                    continue
                line = orjson.dumps(scrubber.scrub(item))
                buffer.append(line)
                size += len(line) + 1
                landed += 1
                if size >= _FLUSH_BYTES:
                    out.write(b"\n".join(buffer) + b"\n")
                    buffer, size = [], 0
            if buffer:
                out.write(b"\n".join(buffer) + b"\n")
        if read.problem is not None:
            problems.append({"index": len(read.items), **read.problem})
        records_in, notes = read.records_in, read.notes
        del read
        personal, unknown = scrubber.removed()
        entry = {
            "path": f.path, "raw_name": raw_name, "_spool": local, "generation": f.generation, "content": f.content,
            "bytes": f.size, "sha256": digest, "records_in": records_in, "records_landed": landed,
            "problems": problems, "notes": notes,
            "personal_values_removed": dict(sorted(personal.items())),
            "unknown_fields_removed": {k[:60]: v for k, v in sorted(unknown.items())},
        }
        files.append(entry)
        log(f"Read {f.path} ({f.generation}): {landed:,} of {records_in:,} records, "
            f"{sum(personal.values()):,} personal values removed"
            + (f", {len(problems)} problem(s): {problems[-1]['reason']}" if problems else "")
            + (f"; {'; '.join(entry['notes'])}" if entry["notes"] else ""))
    return files, digests


class _GzipSpool:
    """A deterministic gzip file (no name, no time in the header) compressed in a thread of its own: zlib
    releases the GIL, so on two cores the parsing and scrubbing of the next lines overlap the compression."""

    def __init__(self, path: str):
        self._file = open(path, "wb")  # noqa: SIM115 - closed in __exit__
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._file, mtime=0, compresslevel=6)
        self._queue: queue.Queue = queue.Queue(maxsize=4)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="gzip-spool", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._gz.write(chunk)
                except BaseException as e:  # noqa: BLE001 - reported by write/__exit__ in the caller's thread
                    self._error = e

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def __enter__(self) -> _GzipSpool:
        return self

    def __exit__(self, *exc) -> None:
        self._queue.put(None)
        self._thread.join()
        self._gz.close()
        self._file.close()
        if self._error is not None and exc[0] is None:
            raise self._error


def _kind(value) -> str:
    return {str: "string", bool: "boolean", list: "array", type(None): "null"}.get(type(value), "number")


def _manifest(export_id: str, location: str, files: list[dict], export: Export, now: dt.datetime | None) -> dict:
    personal, unknown = Counter(), Counter()
    for f in files:
        personal.update(f["personal_values_removed"])
        unknown.update(f["unknown_fields_removed"])
    landed_at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return {
        "export_id": export_id,
        "source": HISTORY_SOURCE,
        "landed_at": landed_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "location": location,
        "records_in": sum(f["records_in"] for f in files),
        "records_landed": sum(f["records_landed"] for f in files),
        "personal_values_removed": dict(sorted(personal.items())),
        "unknown_fields_removed": dict(sorted(unknown.items())),
        "files": files,
        "not_read": [f.listing() for f in export.unread_files],
    }


def landed_exports(lake: Lake) -> list[dict]:
    """The manifests of every export landed completely, oldest landing first (then by id)."""
    manifests = []
    for f in lake.list_files(f"raw/{HISTORY_SOURCE}", suffix=f"/{MANIFEST_NAME}"):
        parts = f.path.split("/")
        if len(parts) == 4 and parts[2].startswith(EXPORT_PREFIX):
            manifests.append(orjson.loads(lake.read_bytes(f.path)))
    return sorted(manifests, key=lambda m: (m["landed_at"], m["export_id"]))


def verify_landed(lake: Lake, manifest: dict) -> dict:
    """Read every landed file of an export back: how many records it holds and how many carry a personal
    field (none, unless something else wrote the raw zone). Searched as bytes (``"<field>":``, as the
    landing writes JSON) in large blocks, each hit confirmed by parsing its line."""
    from ..lake.gzip_stream import GzipReader

    records, found = 0, Counter()
    needles = {key: f'"{key}":'.encode() for key in PERSONAL_FIELDS}
    for entry in manifest["files"]:
        with GzipReader.open(lake, entry["raw_file"]) as stream:
            rest = b""
            while chunk := stream.read(8 << 20):
                block, _, rest = (rest + chunk).rpartition(b"\n")
                records += block.count(b"\n") + bool(block)
                _search(block, needles, found)
            if rest.strip():
                records += 1
                _search(rest, needles, found)
    return {"records": records, "personal_fields": dict(found)}


def _search(block: bytes, needles: dict[str, bytes], found: Counter) -> None:
    for key, needle in needles.items():
        at = block.find(needle)
        while at >= 0:
            start, end = block.rfind(b"\n", 0, at) + 1, block.find(b"\n", at)
            line = block[start:] if end < 0 else block[start:end]
            record = orjson.loads(line)
            if isinstance(record, dict) and key in record:
                found[key] += 1
            at = block.find(needle, len(line) + start)


def inside_lake(lake: Lake, location: str) -> bool:
    """Whether the export at ``location`` lies inside the lake (where its personal data must never be)."""
    import os

    if lake.is_local:
        if location.startswith("s3://"):
            return False
        path = os.path.abspath(os.path.expanduser(location.removeprefix("file://")))
        return path == lake.base or path.startswith(lake.base + os.sep)
    target = location.removeprefix("s3://").rstrip("/")
    return target == lake.base or target.startswith(lake.base + "/")


__all__ = ["ExportError", "LandingReport", "land_export", "landed_exports", "manifest_path"]
