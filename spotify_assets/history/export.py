"""A Spotify data export as downloaded: the zip, or its extracted folder, on this machine or on S3.

:func:`open_export` lists every file of the export and says which ones hold streaming history (by their
names, in whatever folder: Spotify renamed them over the years) and why each other one is not read. Nothing
is extracted to disk: zip members are read into memory one at a time.

History files, by generation:

* ``extended`` — ``Streaming_History_Audio_<years>_<n>.json``, ``Streaming_History_Video_<years>.json``
  (the current extended streaming history);
* ``endsong`` — ``endsong_<n>.json`` (the older extended history);
* ``account_data`` — ``StreamingHistory_music_<n>.json``, ``StreamingHistory_podcast_<n>.json``,
  ``StreamingHistory_audiobook_<n>.json`` and the older ``StreamingHistory<n>.json`` (the last year only, to
  the minute).
"""

from __future__ import annotations

import contextlib
import io
import os
import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow.fs as pafs

from ..aws import clients as aws

# (pattern of the file's base name, generation, content)
HISTORY_FILES = (
    (re.compile(r"Streaming_History_Audio_[^/]*\.json"), "extended", "audio"),
    (re.compile(r"Streaming_History_Video_[^/]*\.json"), "extended", "video"),
    (re.compile(r"endsong(?:_[0-9]+)?\.json"), "endsong", "audio"),
    (re.compile(r"StreamingHistory_music_[0-9]+\.json"), "account_data", "music"),
    (re.compile(r"StreamingHistory_podcast_[0-9]+\.json"), "account_data", "podcast"),
    (re.compile(r"StreamingHistory_audiobook_[0-9]+\.json"), "account_data", "audiobook"),
    (re.compile(r"StreamingHistory[0-9]+\.json"), "account_data", "mixed"),
)
HISTORY_NAMES = ("Streaming_History_Audio_*.json", "Streaming_History_Video_*.json", "endsong_*.json",
                 "StreamingHistory_music_*.json", "StreamingHistory_podcast_*.json",
                 "StreamingHistory_audiobook_*.json", "StreamingHistory*.json")
# A history file larger than this is refused (a real one is 10-12 MB; a zip bomb is not an export).
MAX_FILE_BYTES = 1 << 30


class ExportError(ValueError):
    """The location is not a readable Spotify data export; the message says why and what was found."""


@dataclass(frozen=True)
class ExportFile:
    """A file of the export: its path inside the export, its size, and what it is."""

    path: str
    size: int
    generation: str | None = None  # extended / endsong / account_data; None: not read
    content: str | None = None  # audio / video / music / podcast / audiobook / mixed
    reason: str | None = None  # why it is not read

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    def listing(self) -> dict:
        return {"path": self.path, "bytes": self.size, "reason": self.reason}


def classify(path: str, size: int) -> ExportFile:
    """What the export's file at ``path`` is: a history file of some generation, or not read (and why)."""
    name = posixpath.basename(path)
    parts = path.split("/")
    if "__MACOSX" in parts or name.startswith("._") or name in (".DS_Store", "Thumbs.db", "desktop.ini"):
        return ExportFile(path, size, reason="file-system metadata added by the archiver, not part of the export")
    for pattern, generation, content in HISTORY_FILES:
        if pattern.fullmatch(name):
            return ExportFile(path, size, generation, content)
    lower = name.lower()
    if lower.endswith(".pdf"):
        return ExportFile(path, size, reason="a document (Spotify's description of the data), not data")
    if lower.endswith(".json"):
        return ExportFile(path, size, reason="account data other than streaming history (profile, library, "
                          "playlists, searches, …): not imported")
    return ExportFile(path, size, reason=f"not a streaming history file ({', '.join(HISTORY_NAMES)})")


class Export:
    """An opened export: :attr:`files` (every file, classified) and :meth:`read` for a file's bytes."""

    def __init__(self, location: str, files: list[ExportFile], reader, closer=None):
        self.location = location
        self.files = files
        self._reader = reader
        self._closer = closer

    @property
    def history_files(self) -> list[ExportFile]:
        return [f for f in self.files if f.generation is not None]

    @property
    def unread_files(self) -> list[ExportFile]:
        return [f for f in self.files if f.generation is None]

    def read(self, file: ExportFile) -> bytes:
        if file.size > MAX_FILE_BYTES:
            raise ExportError(f"{file.path} is {file.size:,} bytes: more than any streaming history file "
                              f"({MAX_FILE_BYTES:,} at most); is {self.location} really a Spotify export?")
        return self._reader(file.path)

    def close(self) -> None:
        if self._closer is not None:
            self._closer()


def _filesystem(location: str) -> tuple[pafs.FileSystem, str]:
    if location.startswith("s3://"):
        bucket_key = location[len("s3://"):].rstrip("/")
        if not bucket_key:
            raise ExportError(f"{location!r} names no bucket")
        return pafs.S3FileSystem(**aws.pyarrow_s3_options()), bucket_key
    path = location[len("file://"):] if location.startswith("file://") else location
    return pafs.LocalFileSystem(), os.path.abspath(os.path.expanduser(path))


@contextlib.contextmanager
def open_export(location: str) -> Iterator[Export]:
    """Open the export at ``location`` (a zip or a folder; a local path or ``s3://bucket/key``).

    Raises :class:`ExportError` when there is nothing there, when a file is not a zip, or when the zip or
    folder holds no streaming history file (not an export, or an export of other account data only)."""
    if not location or not location.strip():
        raise ExportError("no export given: pass the path of the zip Spotify sent (or of its extracted folder), "
                          "or an s3:// URI")
    fs, path = _filesystem(location.strip())
    try:
        info = fs.get_file_info(path)
    except OSError as e:
        raise ExportError(f"cannot reach {location}: {e}") from None
    if info.type == pafs.FileType.NotFound:
        raise ExportError(f"{location} does not exist")
    if info.type == pafs.FileType.Directory:
        export = _open_folder(location, fs, path)
    else:
        export = _open_zip(location, fs, path, info.size or 0)
    try:
        if not export.history_files:
            found = ", ".join(f.path for f in export.files[:8]) or "nothing"
            more = f" (and {len(export.files) - 8} more)" if len(export.files) > 8 else ""
            raise ExportError(
                f"{location} holds no streaming history file ({', '.join(HISTORY_NAMES)}, in any folder): it is "
                f"not a Spotify data export, or an export without the streaming history. Found: {found}{more}"
            )
        yield export
    finally:
        export.close()


def _open_folder(location: str, fs: pafs.FileSystem, root: str) -> Export:
    files = []
    for info in fs.get_file_info(pafs.FileSelector(root, recursive=True)):
        if info.type == pafs.FileType.File:
            files.append(classify(info.path[len(root):].lstrip("/"), info.size or 0))
    files.sort(key=lambda f: f.path)

    def read(rel: str) -> bytes:
        with fs.open_input_stream(f"{root}/{rel}", compression=None) as f:
            return f.read()

    return Export(location, files, read)


def _open_zip(location: str, fs: pafs.FileSystem, path: str, size: int) -> Export:
    handle = fs.open_input_file(path)  # random access: a zip's directory is at its end
    try:
        archive = zipfile.ZipFile(_Seekable(handle, size))
    except zipfile.BadZipFile:
        handle.close()
        raise ExportError(f"{location} is neither a folder nor a zip file: give the zip Spotify sent, or the "
                          "folder it extracts to") from None
    files = sorted(
        (classify(i.filename, i.file_size) for i in archive.infolist() if not i.is_dir()), key=lambda f: f.path
    )

    def read(name: str) -> bytes:
        try:
            return archive.read(name)
        except (zipfile.BadZipFile, EOFError, OSError) as e:  # a damaged member: the caller reports the file
            raise ExportError(f"{location}: {name} cannot be read from the zip: {e}") from None

    def close() -> None:
        archive.close()
        handle.close()

    return Export(location, files, read, close)


class _Seekable(io.RawIOBase):
    """A pyarrow random-access file as the seekable binary file :mod:`zipfile` wants."""

    def __init__(self, handle, size: int):
        self._h = handle
        self._size = size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._h.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        if whence == 1:
            offset, whence = self._h.tell() + offset, 0
        elif whence == 2:
            offset, whence = self._size + offset, 0
        if offset < 0:
            raise OSError(f"seek to {offset}: before the start of the file")  # zipfile expects OSError
        return self._h.seek(offset, whence)

    def readinto(self, buffer) -> int:
        data = self._h.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
