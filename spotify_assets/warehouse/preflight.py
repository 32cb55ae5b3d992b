"""The warehouse's settings checked before any work: a wrong one fails at once, naming it.

The Glue database name, the local DuckDB catalog file and Athena's output location are checked once per
step by the warehouse resource (:meth:`spotify_assets.warehouse.resources.WarehouseResource.ready`);
:class:`~spotify_assets.settings.ConfigurationError` names the setting to fix and is never retried.
"""

from __future__ import annotations

import os

from ..lake.preflight import check_writable_folder
from ..settings import ConfigurationError
from .glue import check_database_name

GLUE_SETTING = "SPOTIFY_GLUE_DATABASE"
DUCKDB_SETTING = "SPOTIFY_DUCKDB_PATH"
ATHENA_OUTPUT_SETTING = "SPOTIFY_ATHENA_OUTPUT"
_DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


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
    check_writable_folder(os.path.dirname(full), setting, ".preflight-")
    return path


def check_athena_output(location: str | None) -> str | None:
    """``location`` if it is unset (the workgroup's) or an ``s3://bucket/…`` URI, else :class:`ConfigurationError`."""
    if location and (not location.startswith("s3://") or len(location) <= len("s3://")):
        raise ConfigurationError(f"{ATHENA_OUTPUT_SETTING}={location!r}: must be an s3://bucket/prefix/ URI")
    return location
