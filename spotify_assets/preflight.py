"""Checks of the settings a run depends on, made before any work: a wrong setting fails at once, naming it.

A retry cannot fix a lake URI that names a file or an S3 bucket that does not exist. Unchecked, such a
run crawls the whole API first (hundreds of requests, minutes) and fails only when it writes — and each
retry crawls again; a transform fails with a bare ``NotADirectoryError`` and is retried. :class:`ConfigurationError`
names the setting to fix; callers must not retry it. A lake that exists but cannot be reached right now
(network) raises :class:`LakeUnreachableError`, an ``OSError`` that a retry may well cure. No Dagster here:
the lake and warehouse resources run these checks once per step before any work
(:meth:`spotify_assets.lake.resource.LakeResource.ready_lake`,
:meth:`spotify_assets.warehouse.resources.WarehouseResource.ready`) and turn them into step failures
that are not retried.
"""

from __future__ import annotations

import os
import tempfile

import pyarrow.fs as pafs

from .lake.storage import Lake
from .warehouse.glue import check_database_name

LAKE_SETTING = "SPOTIFY_LAKE_URI"
GLUE_SETTING = "SPOTIFY_GLUE_DATABASE"
DUCKDB_SETTING = "SPOTIFY_DUCKDB_PATH"
ATHENA_OUTPUT_SETTING = "SPOTIFY_ATHENA_OUTPUT"
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file
_DENIED = ("ACCESS_DENIED", "AccessDenied", "FORBIDDEN", "403")


class ConfigurationError(ValueError):
    """A setting is wrong; the message names it. Retrying cannot help."""


class LakeUnreachableError(OSError):
    """The lake's storage did not answer (network, endpoint down); the message names the setting."""


def check_lake(lake: Lake) -> None:
    """The lake root is usable: locally a writable directory (created if missing, as the first write would),
    on S3 an existing, reachable bucket (a listing of the lake's prefix through the lake's own filesystem:
    same endpoint, region and credentials as every read and write)."""
    if lake.is_local:
        _check_local_root(lake)
    else:
        _check_bucket(lake)


def check_glue_database(name: str) -> str:
    """``name`` if it is a valid Glue database name, else :class:`ConfigurationError` naming the setting."""
    try:
        return check_database_name(name)
    except ValueError as e:
        raise ConfigurationError(f"{GLUE_SETTING}: {e}") from None


def check_duckdb_path(path: str) -> str:
    """``path`` if the local catalog file can live there: a DuckDB database or nothing yet, in a folder this
    process can write (a refresh builds the new file beside it), else :class:`ConfigurationError`."""
    setting = f"{DUCKDB_SETTING}={path!r}"
    full = os.path.abspath(path)
    if os.path.isdir(full):
        raise ConfigurationError(f"{setting}: {full} is a directory; name the database file, e.g. {full}/spotify.duckdb")
    if os.path.exists(full) and os.path.getsize(full):  # an empty file holds nothing to lose
        with open(full, "rb") as f:
            header = f.read(12)
        if header[8:12] != _DUCKDB_MAGIC:
            raise ConfigurationError(f"{setting}: {full} is not a DuckDB database; it would be replaced by the "
                                     "catalog, so name another file")
    folder = os.path.dirname(full)
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".preflight-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        blocker = _first_non_directory(folder)
        if blocker is not None:
            raise ConfigurationError(f"{setting}: {blocker} is a file, not a directory") from None
        raise ConfigurationError(f"{setting}: cannot write in {folder}: {e.strerror or e}") from None
    return path


def check_athena_output(location: str | None) -> str | None:
    """``location`` if it is unset (the workgroup's) or an ``s3://bucket/…`` URI, else :class:`ConfigurationError`."""
    if location and (not location.startswith("s3://") or len(location) <= len("s3://")):
        raise ConfigurationError(f"{ATHENA_OUTPUT_SETTING}={location!r}: must be an s3://bucket/prefix/ URI")
    return location


def _check_local_root(lake: Lake) -> None:
    root = lake.base
    setting = f"{LAKE_SETTING}={lake.root_uri!r}"
    try:
        os.makedirs(root, exist_ok=True)  # as the first write would
        fd, probe = tempfile.mkstemp(prefix="_preflight-", dir=root)  # "_": ignored by every lake reader
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        blocker = _first_non_directory(root)
        if blocker is not None:
            below = "" if blocker == root else f" (the lake would be below it, at {root})"
            raise ConfigurationError(f"{setting}: {blocker} is a file, not a directory{below}") from None
        raise ConfigurationError(f"{setting}: cannot write in {root}: {e.strerror or e}") from None


def _first_non_directory(path: str) -> str | None:
    """The first existing part of ``path`` (from the root down) that is not a directory, if any."""
    parts = []
    while os.path.dirname(path) != path:
        parts.append(path)
        path = os.path.dirname(path)
    for p in reversed(parts):
        if not os.path.exists(p):
            return None
        if not os.path.isdir(p):
            return p
    return None


def _check_bucket(lake: Lake) -> None:
    # A listing of the lake's own prefix, not HeadBucket: the IAM policy grants s3:ListBucket only for the
    # lake prefix, and a listing in a bucket that does not exist fails with NoSuchBucket all the same.
    bucket = lake.base.split("/", 1)[0]
    setting = f"{LAKE_SETTING}={lake.root_uri!r}"
    where = f"region {lake.fs.region}"
    try:
        lake.fs.get_file_info(pafs.FileSelector(lake.base, recursive=False))
    except FileNotFoundError:
        return  # the bucket exists; the lake has no object yet
    except OSError as e:
        if "NO_SUCH_BUCKET" in str(e) or "NoSuchBucket" in str(e):
            raise ConfigurationError(f"{setting}: the S3 bucket {bucket!r} does not exist ({where})") from None
        if any(d in str(e) for d in _DENIED):
            raise ConfigurationError(f"{setting}: access to the S3 bucket {bucket!r} is denied ({where}): {e}") from None
        raise LakeUnreachableError(f"{setting}: the S3 bucket {bucket!r} cannot be reached ({where}): {e}") from None
