"""What :func:`~.export.write_export` wrote — the ground truth tests compare an import with: every stream
as written (:class:`WrittenStream`), the files, and the personal data the export carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import orjson

from .history import Place


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a third of the export's time
class WrittenStream:
    """One stream of the export.

    What was streamed, whatever the file shows of it: ``ts`` (when it ended, UTC, second precision; account
    data files carry only its minute), ``ms_played``, ``kind`` (``track``, ``episode`` — music videos too, see
    ``video`` —, ``audiobook_chapter`` or ``unknown``: content since removed, every metadata field null), the
    ids and names (account data and the location variant have no ids). ``played_at_ms``: the API's
    ``played_at`` when this stream is a play the API shows (a track played for more than 30 s, not in a
    private session), else None.

    As written (``None`` where the record has null or no such field): ``platform``, ``conn_country``, the
    reasons, ``shuffle``, ``skipped``, ``offline``, ``incognito``.
    """

    end_s: int
    ms_played: int
    kind: str
    video: bool
    track_id: str | None
    episode_id: str | None
    audiobook_id: str | None
    chapter_id: str | None
    track_name: str | None
    artist_name: str | None
    album_name: str | None
    episode_name: str | None
    show_name: str | None
    platform: str | None
    conn_country: str | None
    reason_start: str | None
    reason_end: str | None
    shuffle: bool | None
    skipped: bool | None
    offline: bool | None
    incognito: bool | None
    file: str
    copies: int
    played_at_ms: int | None

    @property
    def ts(self) -> datetime:
        return datetime.fromtimestamp(self.end_s, UTC)


@dataclass
class ExportTruth:
    """What :func:`write_export` wrote: the ground truth for tests.

    ``streams``: every stream written, in time order (a record written twice is one stream with ``copies=2``).
    ``files``: history file (path inside the export) -> records in it, duplicates included.
    ``other_files``: the export's other files (user data, playlists, the PDF...), which hold no streams.
    ``ip_addresses``, ``user_agents``, ``locations``: the personal data written, to search for after an import.
    ``private_fields``: field name -> how many records carry it (null or not).
    ``recently_played``: indexes into ``streams`` of the plays ``/me/player/recently-played`` returns at
    ``now`` (the last 50), newest first.
    """

    generation: str
    variant: str
    seed: int
    scale: str
    now: datetime
    first_day: date
    archive_density: float
    streams: list[WrittenStream] = field(default_factory=list)
    files: dict[str, int] = field(default_factory=dict)
    other_files: list[str] = field(default_factory=list)
    ip_addresses: set[str] = field(default_factory=set)
    user_agents: set[str] = field(default_factory=set)
    locations: set[Place] = field(default_factory=set)
    private_fields: dict[str, int] = field(default_factory=dict)
    recently_played: list[int] = field(default_factory=list)

    @property
    def records(self) -> int:
        """Records in all history files (duplicates included)."""
        return sum(self.files.values())

    @property
    def duplicates(self) -> int:
        """Records that repeat another one byte for byte."""
        return sum(s.copies - 1 for s in self.streams)

    def api_plays(self) -> list[WrittenStream]:
        """The streams that are plays of the emulator's API (what hourly ``recently-played`` captures see)."""
        return [s for s in self.streams if s.played_at_ms is not None]

    def private_values(self) -> set[str]:
        """Every written IP address, user agent, city and coordinate, as strings to search an import's output for.
        (Regions and metro codes are two-letter codes and ``"0"``: too short to search for.)"""
        coordinates = {orjson.dumps(v).decode() for p in self.locations for v in (p.latitude, p.longitude)}
        return self.ip_addresses | self.user_agents | {p.city for p in self.locations} | coordinates
