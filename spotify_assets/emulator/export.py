"""The demo user's account-data export ("Download your data"), as Spotify delivers it: a zip (or its folder).

:func:`write_export` writes the streams of ``history.py`` — one listening history with the emulator's API —
in one of three generations, and returns an :class:`ExportTruth` (the ground truth tests compare with):

* ``extended`` (current): ``Spotify Extended Streaming History/Streaming_History_Audio_<years>_<n>.json``
  (2-space indented arrays, files of 10-12 MB, names whose year range is no promise about the records:
  the emulator names them by the years in UTC-8, so a file that starts on a New Year's night claims the
  year before), ``Streaming_History_Video_<years>.json`` (music videos as episodes), a PDF; ``ip_addr``,
  platforms as short tokens (``ios``, ``cast``), audiobook fields, ``offline_timestamp`` in seconds.
* ``endsong`` (older): ``MyData/endsong_<n>.json``, minified single-line arrays whose records are not in time
  order, ``username``, ``ip_addr_decrypted``, ``user_agent_decrypted``, long free-text platforms,
  ``offline_timestamp`` in milliseconds, no audiobooks. Variant ``location`` is the 2020-era one: no URI
  fields, and ``city``, ``region``, ``metro_code``, ``latitude``, ``longitude``.
* ``account_data`` (the last year only): ``MyData/StreamingHistory_music_<n>.json``,
  ``StreamingHistory_podcast_<n>.json``, ``StreamingHistory_audiobook_<n>.json`` (variant ``combined``: the
  older ``StreamingHistory<n>.json``, podcasts mixed in with the show as ``artistName``), minute precision,
  ``"key" : value`` formatting, and the account's other files (``Userdata.json``, ``Playlist1.json``...).

Quirks of real exports are reproduced in every extended generation: exact duplicate records; ``skipped``
null in the oldest 30 % of the history; a stretch (40-43 % of the way) without ``reason_end`` and one
(60-62 %) with empty reasons. Same arguments, same bytes.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from .export_files import account_files, read_me_pdf, spaced_json
from .history import History, Place, Stream, chapter
from .listening import LISTENING_START, Listening, day_start_ms
from .music import DEMO_USER_ID, Music, mix, unit

GENERATIONS = ("extended", "endsong", "account_data")
VARIANTS = {"extended": ("default",), "endsong": ("default", "location"), "account_data": ("default", "combined")}
DEFAULT_FIRST_DAY = date(2014, 1, 1)  # when the demo user's export starts unless told otherwise
EXTENDED_FOLDER = "Spotify Extended Streaming History"
ACCOUNT_FOLDER = "MyData"
# Real files are about 10-12 MB (extended) and about 10,000 records (account data).
DEFAULT_MAX_FILE_BYTES = {"extended": 12_000_000, "endsong": 12_000_000, "account_data": 1_600_000}
DUPLICATE_SHARE = 0.002  # share of streams written twice, byte for byte
ACCOUNT_DATA_DAYS = 365
_NAME_TZ = timedelta(hours=-8)  # the year ranges of file names are the years in UTC-8 (see the module docstring)
_SALT_DUPLICATE, _SALT_ORDER, _SALT_SIZE = 0xD0B1E, 0x0DE2, 0x512E
# Shares of the history (from its first day to now) with the quirks of real exports.
SKIPPED_NULL_UNTIL = 0.30
REASON_END_MISSING = (0.40, 0.43)
REASONS_EMPTY = (0.60, 0.62)
PRIVATE_FIELDS = ("ip_addr", "ip_addr_decrypted", "user_agent_decrypted",
                  "city", "region", "metro_code", "latitude", "longitude")


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


def write_export(dest, *, seed: int = 42, scale: str = "small", now: datetime | None = None,
                 first_day: date | None = None, generation: str = "extended", zipped: bool = True,
                 target_streams: int | None = None, variant: str = "default",
                 max_file_bytes: int | None = None, log: Callable[[str], None] | None = None) -> ExportTruth:
    """Write the demo user's export to ``dest`` (a ``.zip`` path, or a folder with ``zipped=False``).

    ``now``: the emulator's clock (default: now); only streams that ended by then are written.
    ``first_day``: the first day of the history (default 2014-01-01; any day from 2010 on).
    ``target_streams``: about this many streams in total: rescales the listening before 2025 (the API's own
    era keeps its density, so a target below that era's streams gives that era alone).
    ``variant``: ``location`` (endsong) or ``combined`` (account_data), see the module docstring.
    ``max_file_bytes``: split history files at about this size (default: as real exports, 10-12 MB).
    ``log``: called with a progress line every year of history.
    """
    if generation not in GENERATIONS:
        raise ValueError(f"unknown generation {generation!r}; expected one of {', '.join(GENERATIONS)}")
    if variant not in VARIANTS[generation]:
        raise ValueError(f"generation {generation!r} has no variant {variant!r}; "
                         f"expected one of {', '.join(VARIANTS[generation])}")
    if now is None:
        now = datetime.now(UTC)
    now = now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)  # naive: taken as UTC
    first_day = first_day or DEFAULT_FIRST_DAY
    if first_day < LISTENING_START:
        raise ValueError(f"first_day {first_day} is before the emulator's listening starts ({LISTENING_START})")
    if first_day > now.date():
        raise ValueError(f"first_day {first_day} is after now ({now.isoformat()})")
    if target_streams is not None and target_streams < 0:
        raise ValueError(f"target_streams must be >= 0, got {target_streams}")
    catalog = Music(seed, scale)
    model = Listening(catalog)
    if target_streams is not None:
        model = model.with_archive_density(_density_for(History(model), target_streams, first_day, now))
    history = History(model)
    truth = ExportTruth(generation, variant, seed, scale, now, first_day, model.archive_density)
    writer = _Sink(Path(dest), zipped, now)
    try:
        files = _FILE_LAYOUTS[generation](history, truth, variant, max_file_bytes or DEFAULT_MAX_FILE_BYTES[generation])
        files.write(writer, _streams(history, first_day, now, generation, log))
        for name, data in _other_files(history, truth, now, first_day):
            writer.add(name, data)
            truth.other_files.append(name)
    except BaseException:
        writer.abort()
        raise
    writer.close()
    by_play = {s.played_at_ms: i for i, s in enumerate(truth.streams) if s.played_at_ms is not None}
    now_ms = int(now.timestamp() * 1000)
    truth.recently_played = [by_play[p.at_ms] for p in history.model.remembered(now_ms) if p.at_ms in by_play]
    return truth


# ---------------------------------------------------------------------------------------------- the streams
def _streams(history: History, first_day: date, now: datetime, generation: str,
             log: Callable[[str], None] | None) -> Iterator[Stream]:
    """Every stream from ``first_day`` up to ``now`` (account data: of the last year), in time order."""
    now_ms = int(now.timestamp() * 1000)
    since_ms = day_start_ms(first_day.toordinal())
    if generation == "account_data":
        since_ms = max(since_ms, now_ms - ACCOUNT_DATA_DAYS * 86_400_000 + 1)
    year, count = None, 0
    for day in range(first_day.toordinal(), now.date().toordinal() + 1):
        if log and date.fromordinal(day).year != year:
            if year is not None:
                log(f"export: {year} written, {count:,} streams so far")
            year = date.fromordinal(day).year
        if day_start_ms(day + 1) <= since_ms:
            continue
        for s in history.streams_on(day):
            if since_ms <= s.end_ms <= now_ms:
                count += 1
                yield s
    if log:
        log(f"export: {year} written, {count:,} streams in total")


def _density_for(probe: History, target: int, first_day: date, now: datetime) -> float:
    """The archive density that gives about ``target`` streams from ``first_day`` to ``now``: streams per day
    measured on a sample of days of ``probe`` (at density 1), before 2025 and in the API's era."""
    start, end = first_day.toordinal(), now.date().toordinal() + 1
    split = min(max(start, probe.model.history_start), end)

    def per_day(days: range) -> float:
        if not days:
            return 0.0
        sample = days[::max(1, len(days) // 60)]
        return sum(len(probe.streams_on(d)) for d in sample) / len(sample)

    archive, api = range(start, split), range(split, end)
    fixed = per_day(api) * len(api)
    per_archive_day = per_day(archive)
    if not archive or per_archive_day == 0:
        return 1.0
    return max(0.0, (target - fixed) / (per_archive_day * len(archive)))


# ---------------------------------------------------------------------------------------------- records
class _Records:
    """Turns streams into the records of one generation, and into the truth's :class:`WrittenStream`."""

    def __init__(self, history: History, truth: ExportTruth, variant: str) -> None:
        self.h = history
        self.c = history.c
        self.truth = truth
        self.variant = variant
        self.generation = truth.generation
        start = day_start_ms(truth.first_day.toordinal())
        span = max(1, int(truth.now.timestamp() * 1000) - start)

        def at(share: float) -> int:  # the instant a share of the history is reached
            return start + int(span * share)

        self.skipped_from = at(SKIPPED_NULL_UNTIL)
        self.reason_end_missing = (at(REASON_END_MISSING[0]), at(REASON_END_MISSING[1]))
        self.reasons_empty = (at(REASONS_EMPTY[0]), at(REASONS_EMPTY[1]))
        self._tracks: dict[int, tuple] = {}
        self._episodes: dict[int, tuple] = {}

    def track(self, t: int) -> tuple[str, str, str, str]:
        """(id, name, album artist name, album name) of a catalog track."""
        meta = self._tracks.get(t)
        if meta is None:
            f = self.c.track(t, 0)
            album = self.c.album(f["album"], 0)
            meta = self._tracks[t] = (f["id"], f["name"], self.c.name("artist", album["artists"][0]), album["name"])
        return meta

    def episode(self, s: Stream) -> tuple[str, str, str]:
        """(id, name, show name) of an episode stream: a podcast episode, or a music video."""
        key = s.ref if s.kind == "episode" else -1 - s.ref
        meta = self._episodes.get(key)
        if meta is None:
            if s.kind == "episode":
                e = self.c.episode(s.ref)
                meta = (e["id"], e["name"], self.c.show(e["show"])["name"])
            else:
                _, name, artist, _ = self.track(s.ref)
                meta = (self.h.video_id(s.ref), f"{name} (Official Music Video)", artist)
            self._episodes[key] = meta
        return meta

    def audiobook(self, s: Stream) -> tuple[str, str, str, str]:
        """(audiobook id, title, chapter id, chapter title) of a chapter stream."""
        book, number = chapter(s.ref)
        title = f"{self.c.name('album', 900_000 + book)}: A Novel"
        return self.h.audiobook_id(book), title, self.h.chapter_id(s.ref), f"Chapter {number + 1}"

    def extended(self, s: Stream) -> dict:
        """The record of an extended-history stream (``extended`` and ``endsong`` generations)."""
        old = self.generation == "endsong"
        located = self.variant == "location"
        setting = s.setting
        track = self.track(s.ref) if s.kind == "track" else None
        episode = self.episode(s) if s.kind in ("episode", "video") else None
        book = self.audiobook(s) if s.kind == "chapter" else None
        rec: dict = {"ts": _iso(s.end_ms)}
        if old:
            rec["username"] = DEMO_USER_ID
        rec["platform"] = setting.device.platform if old else setting.device.token
        rec["ms_played"] = s.ms_played
        rec["conn_country"] = setting.place.country
        if old:
            rec["ip_addr_decrypted"] = setting.ip
            rec["user_agent_decrypted"] = setting.device.user_agent
        else:
            rec["ip_addr"] = setting.ip
        rec["master_metadata_track_name"] = track[1] if track else None
        rec["master_metadata_album_artist_name"] = track[2] if track else None
        rec["master_metadata_album_album_name"] = track[3] if track else None
        if not located:
            rec["spotify_track_uri"] = f"spotify:track:{track[0]}" if track else None
        rec["episode_name"] = episode[1] if episode else None
        rec["episode_show_name"] = episode[2] if episode else None
        if not located:
            rec["spotify_episode_uri"] = f"spotify:episode:{episode[0]}" if episode else None
        if not old:
            rec["audiobook_title"] = book[1] if book else None
            rec["audiobook_uri"] = f"spotify:audiobook:{book[0]}" if book else None
            rec["audiobook_chapter_uri"] = f"spotify:episode:{book[2]}" if book else None
            rec["audiobook_chapter_title"] = book[3] if book else None
        reason_start, reason_end = s.reason_start, s.reason_end
        if self.reasons_empty[0] <= s.end_ms < self.reasons_empty[1]:
            reason_start = reason_end = ""
        rec["reason_start"] = reason_start
        if not self.reason_end_missing[0] <= s.end_ms < self.reason_end_missing[1]:
            rec["reason_end"] = reason_end
        rec["shuffle"] = setting.shuffle
        rec["skipped"] = None if s.end_ms < self.skipped_from else s.skipped
        rec["offline"] = setting.offline
        if setting.offline:
            rec["offline_timestamp"] = s.start_ms if old else s.start_ms // 1000
        else:
            rec["offline_timestamp"] = None if old else 0
        rec["incognito_mode"] = setting.incognito
        if located:
            place = setting.place
            rec.update(city=place.city, region=place.region, metro_code=place.metro_code,
                       latitude=place.latitude, longitude=place.longitude)
        return rec

    def account(self, s: Stream, combined: bool) -> dict:
        """The record of an account-data stream: its minute, names and milliseconds, no ids."""
        rec: dict = {"endTime": datetime.fromtimestamp(s.end_ms // 60_000 * 60, UTC).strftime("%Y-%m-%d %H:%M")}
        if s.kind == "track":
            _, name, artist, _ = self.track(s.ref)
            rec.update(artistName=artist, trackName=name)
        elif s.kind == "removed":
            rec.update(artistName="Unknown Artist", trackName="Unknown Track")
        elif s.kind == "episode":
            _, name, show = self.episode(s)
            rec.update(artistName=show, trackName=name) if combined else rec.update(podcastName=show, episodeName=name)
        else:  # chapter
            _, title, _, chapter_title = self.audiobook(s)
            rec.update(audiobookName=title, chapterName=chapter_title)
        rec["msPlayed"] = s.ms_played
        return rec

    def written(self, s: Stream, rec: dict, file: str, copies: int) -> WrittenStream:
        """The truth's record of ``s``, written as ``rec`` into ``file``; notes the personal data it carries."""
        setting = s.setting
        for name in PRIVATE_FIELDS:
            if name in rec:
                self.truth.private_fields[name] = self.truth.private_fields.get(name, 0) + copies
        if "ip_addr" in rec or "ip_addr_decrypted" in rec:
            self.truth.ip_addresses.add(setting.ip)
        if rec.get("user_agent_decrypted"):
            self.truth.user_agents.add(setting.device.user_agent)
        if "city" in rec:
            self.truth.locations.add(setting.place)
        track = self.track(s.ref) if s.kind == "track" else None
        episode = self.episode(s) if s.kind in ("episode", "video") else None
        book = self.audiobook(s) if s.kind == "chapter" else None
        return WrittenStream(
            end_s=s.end_ms // 1000, ms_played=s.ms_played, kind=_TRUTH_KINDS[s.kind], video=s.kind == "video",
            track_id=track[0] if track else None, episode_id=episode[0] if episode else None,
            audiobook_id=book[0] if book else None, chapter_id=book[2] if book else None,
            track_name=track[1] if track else None, artist_name=track[2] if track else None,
            album_name=track[3] if track else None, episode_name=episode[1] if episode else None,
            show_name=episode[2] if episode else None,
            platform=rec.get("platform"), conn_country=rec.get("conn_country"),
            reason_start=rec.get("reason_start"), reason_end=rec.get("reason_end"), shuffle=rec.get("shuffle"),
            skipped=rec.get("skipped"), offline=rec.get("offline"), incognito=rec.get("incognito_mode"),
            file=file, copies=copies, played_at_ms=s.play.at_ms if s.play is not None else None,
        )


_TRUTH_KINDS = {"track": "track", "episode": "episode", "video": "episode", "chapter": "audiobook_chapter",
                "removed": "unknown"}


# ---------------------------------------------------------------------------------------------- files
def _iso(ms: int) -> str:
    """``2014-07-27T20:34:47Z`` of an instant in ms (strftime once per day: this runs for every record)."""
    day, second = divmod(ms // 1000, 86_400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    hour, rest = divmod(second, 3_600)
    return f"{prefix}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


_DAY_PREFIX: dict[int, str] = {}


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


class _HistoryFiles:
    """Splits the streams into one generation's files and writes them; subclasses decide names and records."""

    minified = False

    def __init__(self, history: History, truth: ExportTruth, variant: str, max_bytes: int) -> None:
        self.records = _Records(history, truth, variant)
        self.truth = truth
        self.variant = variant
        self.max_bytes = max_bytes
        self.seed = history.seed
        self._written: list[tuple[int, WrittenStream]] = []

    def write(self, sink: _Sink, streams: Iterator[Stream]) -> None:
        """Write every stream into the generation's files; the truth lists them in time order, whatever file
        they are in."""
        self._write(sink, enumerate(streams))
        self._written.sort(key=lambda e: e[0])
        self.truth.streams = [w for _, w in self._written]

    def _write(self, sink: _Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        raise NotImplementedError

    def limit(self, n: int) -> int:
        """The size file ``n`` is cut at: 85-100 % of the maximum, as real files vary."""
        return int(self.max_bytes * (0.85 + 0.15 * unit(self.seed, _SALT_SIZE, n)))

    def copies(self, s: Stream) -> int:
        """2 for the few streams a real export holds twice, byte for byte (a multiplicative hash: this runs
        for every stream, and the catalog's ``mix`` is ten times slower)."""
        h = ((s.end_ms * 1_000_003 + s.ms_played) ^ self.seed ^ _SALT_DUPLICATE) * 0x9E3779B97F4A7C15
        return 2 if (h >> 32) % 100_000 < DUPLICATE_SHARE * 100_000 else 1

    def flush(self, sink: _Sink, name: str, f: _File, elements: list[bytes]) -> None:
        sink.add(name, _array(elements, self.minified))
        self.truth.files[name] = len(elements)
        for seq, s, rec, copies in f.entries:
            self._written.append((seq, self.records.written(s, rec, name, copies)))


class _ExtendedFiles(_HistoryFiles):
    """``Streaming_History_Audio_<years>_<n>.json`` and ``Streaming_History_Video_<years>.json``."""

    def _write(self, sink: _Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        audio, video, n = _File(self.limit(0)), _File(1 << 62), 0
        for seq, s in streams:
            rec = self.records.extended(s)
            element = _pretty(rec)
            copies = self.copies(s)
            if s.kind == "video":
                video.add(seq, s, rec, element, copies)
                continue
            if not audio.fits((len(element) + 2) * copies):
                self._flush_audio(sink, audio, n)
                n += 1
                audio = _File(self.limit(n))
            audio.add(seq, s, rec, element, copies)
        if audio.entries or n == 0:
            self._flush_audio(sink, audio, n)
        if video.entries:
            name = f"{EXTENDED_FOLDER}/Streaming_History_Video_{_name_years(video)}.json"
            self.flush(sink, name, video, video.elements)

    def _flush_audio(self, sink: _Sink, f: _File, n: int) -> None:
        years = _name_years(f) if f.entries else f"{self.truth.now.year}"
        self.flush(sink, f"{EXTENDED_FOLDER}/Streaming_History_Audio_{years}_{n}.json", f, f.elements)


class _EndsongFiles(_HistoryFiles):
    """``MyData/endsong_<n>.json``: minified, each file's records shuffled (not in time order)."""

    minified = True

    def _write(self, sink: _Sink, streams: Iterator[tuple[int, Stream]]) -> None:
        f, n = _File(self.limit(0)), 0
        for seq, s in streams:
            if s.kind == "chapter":
                continue  # this generation predates audiobooks
            rec = self.records.extended(s)
            element = orjson.dumps(rec)
            copies = self.copies(s)
            if not f.fits((len(element) + 1) * copies):
                self._flush(sink, f, n)
                n += 1
                f = _File(self.limit(n))
            f.add(seq, s, rec, element, copies)
        if f.entries or n == 0:
            self._flush(sink, f, n)

    def _flush(self, sink: _Sink, f: _File, n: int) -> None:
        elements = list(f.elements)
        random.Random(mix(self.seed, _SALT_ORDER, n)).shuffle(elements)
        self.flush(sink, f"{ACCOUNT_FOLDER}/endsong_{n}.json", f, elements)


class _AccountDataFiles(_HistoryFiles):
    """``MyData/StreamingHistory_{music,podcast,audiobook}_<n>.json``, or the older ``StreamingHistory<n>.json``
    (variant ``combined``). Music videos and private sessions are not in this history."""

    def _write(self, sink: _Sink, streams: Iterator[tuple[int, Stream]]) -> None:
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
            if not f.fits(len(element) + 2):
                self.flush(sink, self._name(kind, n), f, f.elements)
                f, n = _File(self.limit(n + 1)), n + 1
            f.add(seq, s, rec, element, 1)
            files[kind] = (f, n)
        if not files:
            files["" if combined else "music"] = (_File(self.limit(0)), 0)
        for kind, (f, n) in sorted(files.items()):
            self.flush(sink, self._name(kind, n), f, f.elements)

    @staticmethod
    def _name(kind: str, n: int) -> str:
        return f"{ACCOUNT_FOLDER}/StreamingHistory{'_' + kind + '_' if kind else ''}{n}.json"


_FILE_LAYOUTS: dict[str, type[_HistoryFiles]] = {
    "extended": _ExtendedFiles, "endsong": _EndsongFiles, "account_data": _AccountDataFiles}


def _other_files(history: History, truth: ExportTruth, now: datetime, first_day: date) -> list[tuple[str, bytes]]:
    """The files that come with the history: the PDF of the extended history, or the account's other data."""
    if truth.generation == "extended":
        return [(f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", read_me_pdf("extended"))]
    if truth.generation == "endsong":
        return [(f"{ACCOUNT_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", read_me_pdf("extended"))]
    return [(f"{ACCOUNT_FOLDER}/{name}", data) for name, data in account_files(history.model, now, first_day)]


class _Sink:
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


__all__ = ["DEFAULT_FIRST_DAY", "GENERATIONS", "VARIANTS", "ExportTruth", "WrittenStream", "write_export"]
