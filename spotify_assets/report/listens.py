"""The report's one input: the ``listens`` table, read as a pandas frame in the report's time zone.

The columns the report needs and their types are the ``listens`` contract (the table may carry more
columns; they are ignored). A table that breaks the contract — a column missing, a type that does not
cast, a null where none is allowed, a negative ``ms_played`` — is refused with a ``ValueError`` naming the
column: the published table is audited, so such a table is a bug upstream, not something to draw.
"""

from __future__ import annotations

import zoneinfo

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# name → (Arrow type, nullable), as the listens contract fixes them
LISTENS_COLUMNS: dict[str, tuple[pa.DataType, bool]] = {
    "listened_at": (pa.timestamp("us", tz="UTC"), False),
    "ms_played": (pa.int64(), True),
    "kind": (pa.string(), False),
    "track_id": (pa.string(), True),
    "track_name": (pa.string(), True),
    "artist_name": (pa.string(), True),
    "skipped": (pa.bool_(), True),
    "source": (pa.string(), False),
}

# kind → the group the charts colour and stack; a kind the contract does not know counts as "other"
KIND_GROUPS = {"track": "music", "episode": "podcasts", "audiobook_chapter": "audiobooks", "unknown": "other"}
GROUPS = ("music", "podcasts", "audiobooks", "other")
MUSIC_KIND = "track"


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (``UTC``, ``Europe/Berlin``), else a ``ValueError`` saying so."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as 'UTC' or 'Europe/Berlin'") from e
    return name


def conform(listens: pa.Table) -> pa.Table:
    """The contract's columns of ``listens``, cast to the contract's types; ``ValueError`` on a breach."""
    missing = [name for name in LISTENS_COLUMNS if name not in listens.column_names]
    if missing:
        raise ValueError(
            f"listens table lacks column(s) {', '.join(missing)} (has: {', '.join(listens.column_names) or 'none'})"
        )
    columns = []
    for name, (type_, nullable) in LISTENS_COLUMNS.items():
        column = listens[name]
        if pa.types.is_timestamp(column.type) and column.type.tz is None:
            raise ValueError(f"listens.{name} is a timestamp without a time zone; the contract says UTC ({type_})")
        try:
            column = column.cast(type_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise ValueError(f"listens.{name} is {column.type}, which does not cast to {type_}: {e}") from e
        if not nullable and column.null_count:
            raise ValueError(f"listens.{name} has {column.null_count} null value(s); the contract says not null")
        columns.append(column)
    table = pa.table(columns, names=list(LISTENS_COLUMNS))
    negative = pc.sum(pc.less(table["ms_played"], 0)).as_py() or 0
    if negative:
        raise ValueError(f"listens.ms_played has {negative} negative value(s)")
    return table


def to_frame(listens: pa.Table, timezone: str) -> pd.DataFrame:
    """The conformed table as a frame: ``local`` (wall-clock time in ``timezone``, naive), ``group``,
    ``artist`` (stripped, empty → missing) and the contract's columns, sorted by ``listened_at``."""
    table = conform(listens)
    frame = pd.DataFrame(
        {
            "listened_at": table["listened_at"].to_pandas(),
            "ms_played": table["ms_played"].to_pandas().astype("float64"),  # NaN: unknown
            "kind": table["kind"].to_pandas(),
            "track_id": table["track_id"].to_pandas(),
            "artist_name": table["artist_name"].to_pandas(),
            "skipped": table["skipped"].to_pandas(),  # object: True / False / None
        }
    )
    frame["local"] = frame["listened_at"].dt.tz_convert(check_timezone(timezone)).dt.tz_localize(None)
    frame["group"] = frame["kind"].map(KIND_GROUPS).fillna("other")
    artist = frame["artist_name"].str.strip()
    frame["artist"] = artist.where(artist != "")
    return frame.sort_values("listened_at", kind="stable", ignore_index=True)
