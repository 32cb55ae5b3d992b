"""The history files of each export generation — how the streams are split into files (sizes, names,
order, duplicates, formatting) — and the sink that writes them into a zip or a folder, the same bytes every
time."""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from .export_files import spaced_json
from .export_records import Records
from .export_truth import ExportTruth, WrittenStream
from .history import History, Stream
from .music import mix, unit

EXTENDED_FOLDER = "Spotify Extended Streaming History"
ACCOUNT_FOLDER = "MyData"
DUPLICATE_SHARE = 0.002  # share of streams written twice, byte for byte
_NAME_TZ = timedelta(hours=-8)  # the year ranges of file names are the years in UTC-8 (see the module docstring)
_SALT_DUPLICATE, _SALT_ORDER, _SALT_SIZE = 0xD0B1E, 0x0DE2, 0x512E


def _pretty(rec: dict) -> bytes:
    """A record as a 2-space indented array element (newer extended files)."""
    return b"  " + orjson.dumps(rec, option=orjson.OPT_INDENT_2).replace(b"\n", b"\n  ")


def _spaced(rec: dict) -> bytes:
    """A record as an account-data array element: ``"key" : value``, 2-space indentation."""
    return b"  " + spaced_json(rec, 2)


def _array(elements: list[bytes], minified: bool) -> bytes:
    if minified:
        return b"[" + b",".join(elements) + b"]"
    return b"[\n" + b",\n".join(elements) + b"\n]" if elements else b"[]"


def _name_years(f: _File) -> str:
    """The year range of a file's name: the years, in UTC-8, of its first and last stream."""
    ends = [e[1].end_ms for e in f.entries]
    first, last = ((datetime.fromtimestamp(ms / 1000, UTC) + _NAME_TZ).year for ms in (min(ends), max(ends)))
    return f"{first}" if first == last else f"{first}-{last}"


class _File:
    """One history file being filled: its array elements, and the streams they are of (for the truth)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.elements: list[bytes] = []
        self.entries: list[tuple[int, Stream, dict, int]] = []  # (position in the history, stream, record, copies)
        self.size = 2

    def fits(self, extra: int) -> bool:
        return not self.elements or self.size + extra <= self.limit

    def add(self, seq: int, s: Stream, rec: dict, element: bytes, copies: int) -> None:
        for _ in range(copies):
            self.elements.append(element)
            self.size += len(element) + 2
        self.entries.append((seq, s, rec, copies))


class HistoryFiles:
    """Splits the streams into one generation's files and writes them; subclasses decide names and records."""

    minified = False

    def __init__(self, history: History, truth: ExportTruth, variant: str, max_bytes: int) -> None:
        self.records = Records(history, truth, variant)
        self.truth = truth
        self.variant = variant
        self.max_bytes = max_bytes
        self.seed = history.seed
        self._written: list[tuple[int, WrittenStream]] = []

    def write(self, sink: Sink, streams: Iterator[Stream]) -> None:
        """Write every stream into the generation's files; the truth lists them in time order, whatever file
        they are in."""
        self._write(sink, enumerate(streams))
        self._written.sort(key=lambda e: e[0])
        self.truth.streams = [w for _, w in self._written]

    def _write(self, sink: Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        raise NotImplementedError

    def limit(self, n: int) -> int:
        """The size file ``n`` is cut at: 85-100 % of the maximum, as real files vary."""
        return int(self.max_bytes * (0.85 + 0.15 * unit(self.seed, _SALT_SIZE, n)))

    def fill(self, sink: Sink, f: _File, n: int, flush: Callable[[Sink, _File, int], None], seq: int, s: Stream,
             rec: dict, element: bytes, copies: int = 1) -> tuple[_File, int]:
        """Add a record to file ``n``; when it does not fit, ``flush(sink, f, n)`` first and start file ``n + 1``."""
        if not f.fits((len(element) + (1 if self.minified else 2)) * copies):
            flush(sink, f, n)
            f, n = _File(self.limit(n + 1)), n + 1
        f.add(seq, s, rec, element, copies)
        return f, n

    def copies(self, s: Stream) -> int:
        """2 for the few streams a real export holds twice, byte for byte (a multiplicative hash: this runs
        for every stream, and the catalog's ``mix`` is ten times slower)."""
        h = ((s.end_ms * 1_000_003 + s.ms_played) ^ self.seed ^ _SALT_DUPLICATE) * 0x9E3779B97F4A7C15
        return 2 if (h >> 32) % 100_000 < DUPLICATE_SHARE * 100_000 else 1

    def flush(self, sink: Sink, name: str, f: _File, elements: list[bytes]) -> None:
        sink.add(name, _array(elements, self.minified))
        self.truth.files[name] = len(elements)
        for seq, s, rec, copies in f.entries:
            self._written.append((seq, self.records.written(s, rec, name, copies)))


class _ExtendedFiles(HistoryFiles):
    """``Streaming_History_Audio_<years>_<n>.json`` and ``Streaming_History_Video_<years>.json``."""

    def _write(self, sink: Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        audio, video, n = _File(self.limit(0)), _File(1 << 62), 0
        for seq, s in streams:
            rec = self.records.extended(s)
            element = _pretty(rec)
            copies = self.copies(s)
            if s.kind == "video":
                video.add(seq, s, rec, element, copies)
                continue
            audio, n = self.fill(sink, audio, n, self._flush_audio, seq, s, rec, element, copies)
        if audio.entries or n == 0:
            self._flush_audio(sink, audio, n)
        if video.entries:
            name = f"{EXTENDED_FOLDER}/Streaming_History_Video_{_name_years(video)}.json"
            self.flush(sink, name, video, video.elements)

    def _flush_audio(self, sink: Sink, f: _File, n: int) -> None:
        years = _name_years(f) if f.entries else f"{self.truth.now.year}"
        self.flush(sink, f"{EXTENDED_FOLDER}/Streaming_History_Audio_{years}_{n}.json", f, f.elements)


class _EndsongFiles(HistoryFiles):
    """``MyData/endsong_<n>.json``: minified, each file's records shuffled (not in time order)."""

    minified = True

    def _write(self, sink: Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        f, n = _File(self.limit(0)), 0
        for seq, s in streams:
            if s.kind == "chapter":
                continue  # this generation predates audiobooks
            rec = self.records.extended(s)
            element = orjson.dumps(rec)
            f, n = self.fill(sink, f, n, self._flush, seq, s, rec, element, self.copies(s))
        if f.entries or n == 0:
            self._flush(sink, f, n)

    def _flush(self, sink: Sink, f: _File, n: int) -> None:
        elements = list(f.elements)
        random.Random(mix(self.seed, _SALT_ORDER, n)).shuffle(elements)
        self.flush(sink, f"{ACCOUNT_FOLDER}/endsong_{n}.json", f, elements)


class _AccountDataFiles(HistoryFiles):
    """``MyData/StreamingHistory_{music,podcast,audiobook}_<n>.json``, or the older ``StreamingHistory<n>.json``
    (variant ``combined``). Music videos and private sessions are not in this history."""

    def _write(self, sink: Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        combined = self.variant == "combined"
        if combined:
            kinds = {"track": "", "removed": "", "episode": ""}
        else:
            kinds = {"track": "music", "removed": "music", "episode": "podcast", "chapter": "audiobook"}
        files: dict[str, tuple[_File, int]] = {}
        for seq, s in streams:
            kind = kinds.get(s.kind)
            if kind is None or s.setting.incognito:
                continue
            rec = self.records.account(s, combined)
            element = _spaced(rec)
            f, n = files.get(kind) or (_File(self.limit(0)), 0)
            files[kind] = self.fill(sink, f, n, lambda sink, f, n, kind=kind: self.flush(sink, self._name(kind, n), f,
                                    f.elements), seq, s, rec, element)
        if not files:
            files["" if combined else "music"] = (_File(self.limit(0)), 0)
        for kind, (f, n) in sorted(files.items()):
            self.flush(sink, self._name(kind, n), f, f.elements)

    @staticmethod
    def _name(kind: str, n: int) -> str:
        return f"{ACCOUNT_FOLDER}/StreamingHistory{'_' + kind + '_' if kind else ''}{n}.json"


# generation -> how its history files are laid out
FILE_LAYOUTS: dict[str, type[HistoryFiles]] = {
    "extended": _ExtendedFiles, "endsong": _EndsongFiles, "account_data": _AccountDataFiles}


class Sink:
    """Writes the export's files into a zip (fixed timestamps and order: the same bytes every time; written
    beside ``dest`` and renamed at the end, so a failed export leaves no zip) or a folder."""

    def __init__(self, dest: Path, zipped: bool, now: datetime) -> None:
        self.dest = dest
        self.zipped = zipped
        self.stamp = max(now, datetime(1980, 1, 1, tzinfo=UTC)).timetuple()[:6]
        if zipped:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._partial = dest.with_name(dest.name + ".partial")
            self._buffer = self._partial.open("wb")
            self.zip = zipfile.ZipFile(self._buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6)
        else:
            dest.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, data: bytes) -> None:
        if self.zipped:
            info = zipfile.ZipInfo(name, self.stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            self.zip.writestr(info, data, compresslevel=6)
        else:
            path = self.dest / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

    def close(self) -> None:
        if self.zipped:
            self.zip.close()
            self._buffer.close()
            self._partial.replace(self.dest)

    def abort(self) -> None:
        if self.zipped:
            self.zip.close()
            self._buffer.close()
            self._partial.unlink(missing_ok=True)
