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
    """The conformed table as a frame sorted by ``listened_at``: ``local`` (wall-clock time in ``timezone``,
    naive), ``ms_played`` (float, NaN: unknown), ``skipped`` (1.0 / 0.0 / NaN: unknown), and as categoricals
    ``kind``, ``group``, ``track_id`` and ``artist`` (``artist_name`` stripped, empty → missing).

    The strings are cleaned and dictionary-encoded in Arrow: at a million listens that is seconds faster
    and hundreds of MB smaller than Python string objects (group by them with ``observed=True``).
    """
    table = conform(listens)
    table = table.take(pc.sort_indices(table, [("listened_at", "ascending")]))  # stable: ties keep their order
    artist = pc.utf8_trim_whitespace(table["artist_name"])
    artist = pc.if_else(pc.equal(artist, ""), pa.scalar(None, pa.string()), artist)
    kind = table["kind"].dictionary_encode().to_pandas()
    listened_at = table["listened_at"].to_pandas()
    frame = pd.DataFrame(
        {
            "listened_at": listened_at,
            "local": listened_at.dt.tz_convert(check_timezone(timezone)).dt.tz_localize(None),
            "ms_played": table["ms_played"].cast(pa.float64()).to_pandas(),
            "skipped": table["skipped"].cast(pa.float64()).to_pandas(),
            "kind": kind,
            "group": kind.map(lambda k: KIND_GROUPS.get(k, "other")).astype("category"),  # per category: fast
            "track_id": table["track_id"].dictionary_encode().to_pandas(),
            "artist": artist.dictionary_encode().to_pandas(),
        }
    )
    return frame
