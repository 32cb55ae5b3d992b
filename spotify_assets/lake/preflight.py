"""The lake's check before any work: a wrong ``SPOTIFY_LAKE_URI`` fails at once, naming it.

A retry cannot fix a lake URI that names a file or an S3 bucket that does not exist. Unchecked, such a
run crawls the whole API first (hundreds of requests, minutes) and fails only when it writes — and each
retry crawls again; a transform fails with a bare ``NotADirectoryError`` and is retried.
:class:`~spotify_assets.settings.ConfigurationError` names the setting to fix; callers must not retry it.
A lake that exists but cannot be reached right now (network) raises :class:`LakeUnreachableError`, an
``OSError`` that a retry may well cure. No Dagster here: the lake resource runs the check once per step
(:meth:`spotify_assets.lake.resource.LakeResource.ready_lake`).
"""

from __future__ import annotations

import os
import tempfile

import pyarrow.fs as pafs

from ..settings import ConfigurationError
from .storage import Lake

LAKE_SETTING = "SPOTIFY_LAKE_URI"
_DENIED = ("ACCESS_DENIED", "AccessDenied", "FORBIDDEN", "403")


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


def _check_local_root(lake: Lake) -> None:
    root = lake.base
    # "_": the probe is ignored by every lake reader
    check_writable_folder(root, f"{LAKE_SETTING}={lake.root_uri!r}", "_preflight-",
                          below=f" (the lake would be below it, at {root})")


def check_writable_folder(folder: str, setting: str, probe_prefix: str, below: str = "") -> None:
    """``folder`` exists (created if missing, as the first write would) and this process can write a file in
    it (a probe named ``probe_prefix…``, removed at once), else :class:`ConfigurationError` naming ``setting``
    and the file in the way, if any (``below``: added when that file is a parent of ``folder``)."""
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=probe_prefix, dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        blocker = _first_non_directory(folder)
        if blocker is not None:
            raise ConfigurationError(f"{setting}: {blocker} is a file, not a directory"
                                     f"{'' if blocker == folder else below}") from None
        raise ConfigurationError(f"{setting}: cannot write in {folder}: {e.strerror or e}") from None


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
