"""One filesystem abstraction over a local directory and ``s3://bucket/prefix``.

Everything that reads or writes the lake goes through :class:`Lake`, so local runs and AWS runs share
one code path (pyarrow's filesystems underneath). Writes are atomic per file: data goes to a temporary
object under ``_staging/_tmp/`` — outside every folder a reader lists or globs — and is then moved onto
its final name: a rename locally, a server-side copy then a delete on S3. Readers therefore see the
previous version or the new one, never a half-written file, and a writer killed mid-way leaves its
temporary object where no reader looks (:func:`~spotify_assets.lake.publication.staging.clean_staging` removes it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pyarrow.fs as pafs

from ..aws import clients as aws
from .paths import validate_partition

COPY_CHUNK = 8 * 1024 * 1024
TMP_DIR = "_staging/_tmp"  # temporary objects of atomic writes (see the module docstring)


@dataclass(frozen=True)
class LakeFile:
    """A file in the lake: its path relative to the lake root, size in bytes and modification time (epoch s)."""

    path: str
    size: int
    mtime: float


class Lake:
    """The data lake rooted at a local directory or an ``s3://bucket/prefix`` URI."""

    def __init__(self, root_uri: str, *, endpoint_url: str | None = None, region: str | None = None):
        self.root_uri = root_uri.rstrip("/")
        self.region: str | None = None  # the S3 region in use (None for a local lake)
        if self.root_uri.startswith("s3://"):
            bucket_and_prefix = self.root_uri[len("s3://") :]
            if not bucket_and_prefix:
                raise ValueError("SPOTIFY_LAKE_URI s3:// needs a bucket name, e.g. s3://my-bucket/lake")
            self.region = aws.region(region)
            self.fs: pafs.FileSystem = _s3_filesystem(endpoint_url, self.region)
            self.base = bucket_and_prefix
            self.is_local = False
        else:
            path = self.root_uri[len("file://") :] if self.root_uri.startswith("file://") else self.root_uri
            self.base = os.path.abspath(path)
            self.fs = pafs.LocalFileSystem()
            self.is_local = True

    def __repr__(self) -> str:
        return f"Lake({self.root_uri!r})"

    # -- addressing ---------------------------------------------------------------------------------
    def full_path(self, rel: str) -> str:
        """The path pyarrow uses (``bucket/prefix/rel`` on S3, an absolute path locally)."""
        return f"{self.base}/{rel.lstrip('/')}"

    def uri(self, rel: str = "") -> str:
        """A URI other engines understand: ``s3://bucket/prefix/rel`` or an absolute local path."""
        full = self.full_path(rel) if rel else self.base
        return f"s3://{full}" if not self.is_local else full

    # -- reading ------------------------------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self.full_path(rel)).type == pafs.FileType.File

    def list_files(
        self, rel_dir: str, *, suffix: str = "", recursive: bool = True, include_hidden: bool = False
    ) -> list[LakeFile]:
        """Files below ``rel_dir`` (sorted by path); names starting with ``_`` or ``.`` only with
        ``include_hidden``."""
        selector = pafs.FileSelector(self.full_path(rel_dir), allow_not_found=True, recursive=recursive)
        prefix_len = len(self.base) + 1
        files = []
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File or not info.path.endswith(suffix):
                continue
            if not include_hidden and info.base_name.startswith(("_", ".")):
                continue
            mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
            files.append(LakeFile(info.path[prefix_len:], info.size or 0, mtime))
        return sorted(files, key=lambda f: f.path)

    def list_dirs(self, rel_dir: str) -> list[str]:
        """Names of the folders directly below ``rel_dir`` (sorted)."""
        selector = pafs.FileSelector(self.full_path(rel_dir), allow_not_found=True, recursive=False)
        return sorted(i.base_name for i in self.fs.get_file_info(selector) if i.type == pafs.FileType.Directory)

    def list_partitions(self, rel_dir: str) -> list[str]:
        """The days of the ``dt=YYYY-MM-DD`` folders directly below ``rel_dir`` that hold at least one file;
        other folders (``dt=2026-99-99``, ``dt=latest``) are not partitions and are left out."""
        values = []
        for name in self.list_dirs(rel_dir):
            day = name[3:] if name.startswith("dt=") else ""
            if _is_day(day) and self.list_files(f"{rel_dir}/{name}"):
                values.append(day)
        return values

    def previous_partition(self, rel_dir: str, before: str) -> str | None:
        """The latest ``dt=`` partition below ``rel_dir`` that is earlier than ``before``, if any."""
        earlier = [p for p in self.list_partitions(rel_dir) if p < before]
        return earlier[-1] if earlier else None

    def size(self, rel: str) -> int:
        return self.fs.get_file_info(self.full_path(rel)).size or 0

    def open_input(self, rel: str) -> BinaryIO:
        return self.fs.open_input_stream(self.full_path(rel), compression=None)

    def open_random_access(self, rel: str):
        return self.fs.open_input_file(self.full_path(rel))

    def read_bytes(self, rel: str) -> bytes:
        with self.open_input(rel) as f:
            return f.read()

    # -- writing ------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def atomic_writer(self, rel: str) -> Iterator[BinaryIO]:
        """Yield a binary stream; on success its bytes replace ``rel`` at once, on error nothing changes."""
        final = self.full_path(rel)
        tmp = self.full_path(f"{TMP_DIR}/{uuid.uuid4().hex}-{final.rsplit('/', 1)[1]}")
        if self.is_local:
            os.makedirs(os.path.dirname(tmp), exist_ok=True)
            os.makedirs(os.path.dirname(final), exist_ok=True)
        # compression=None: pyarrow would otherwise gzip (or gunzip) again any name ending in .gz
        stream = self.fs.open_output_stream(tmp, compression=None)
        try:
            yield stream
            stream.close()
            self.fs.move(tmp, final)
        except BaseException:
            with contextlib.suppress(Exception):
                if not stream.closed:
                    stream.close()
            with contextlib.suppress(Exception):
                self.fs.delete_file(tmp)
            raise

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Replace ``rel`` with ``data`` atomically. On S3 that is one PUT: the object appears whole when the
        upload completes, and nothing is uploaded if the process dies before."""
        if self.is_local:
            with self.atomic_writer(rel) as out:
                out.write(data)
            return
        with self.fs.open_output_stream(self.full_path(rel), compression=None) as out:
            out.write(data)

    def upload_file(self, local_path: str, rel: str) -> int:
        """Copy a local file into the lake atomically; returns the bytes copied."""
        copied = 0
        with open(local_path, "rb") as src, self.atomic_writer(rel) as out:
            while chunk := src.read(COPY_CHUNK):
                out.write(chunk)
                copied += len(chunk)
        return copied

    def replace(self, src: str, dst: str) -> None:
        """Move ``src`` onto ``dst`` in one step a reader cannot observe half-done: a rename locally, one
        CopyObject on S3 (the object is replaced whole), then the source is deleted."""
        source, target = self.full_path(src), self.full_path(dst)
        if self.is_local:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            self.fs.move(source, target)
        else:
            self.fs.copy_file(source, target)
            self.fs.delete_file(source)

    def delete(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(self.full_path(rel))

    def delete_dir(self, rel_dir: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_dir(self.full_path(rel_dir))


def _is_day(value: str) -> bool:
    try:
        validate_partition(value)
    except ValueError:
        return False
    return True


def _s3_filesystem(endpoint_url: str | None, region: str | None) -> pafs.S3FileSystem:
    return pafs.S3FileSystem(**aws.pyarrow_s3_options(region, endpoint_url))


@contextlib.contextmanager
def local_spool(suffix: str = "") -> Iterator[str]:
    """A temporary local file path, removed afterwards: large outputs are built here, then uploaded once."""
    directory = tempfile.mkdtemp(prefix="spotify-assets-")
    try:
        yield os.path.join(directory, f"spool{suffix}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
