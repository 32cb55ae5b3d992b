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

This module picks the streams (:class:`~.history.History`, from the first day to ``now``) and the files;
``export_records.py`` turns a stream into a generation's record, ``export_layouts.py`` splits the records
into the generation's history files and writes them, ``export_files.py`` holds the files without streams,
and ``export_truth.py`` what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

from .export_files import account_files, read_me_pdf
from .export_layouts import ACCOUNT_FOLDER, EXTENDED_FOLDER, FILE_LAYOUTS, Sink
from .export_truth import ExportTruth
from .history import History, Stream
from .listening import LISTENING_START, Listening, day_start_ms
from .music import Music

GENERATIONS = ("extended", "endsong", "account_data")
VARIANTS = {"extended": ("default",), "endsong": ("default", "location"), "account_data": ("default", "combined")}
DEFAULT_FIRST_DAY = date(2014, 1, 1)  # when the demo user's export starts unless told otherwise
# Real files are about 10-12 MB (extended) and about 10,000 records (account data).
DEFAULT_MAX_FILE_BYTES = {"extended": 12_000_000, "endsong": 12_000_000, "account_data": 1_600_000}
ACCOUNT_DATA_DAYS = 365


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
    writer = Sink(Path(dest), zipped, now)
    try:
        files = FILE_LAYOUTS[generation](history, truth, variant, max_file_bytes or DEFAULT_MAX_FILE_BYTES[generation])
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



def _other_files(history: History, truth: ExportTruth, now: datetime, first_day: date) -> list[tuple[str, bytes]]:
    """The files that come with the history: the PDF of the extended history, or the account's other data."""
    if truth.generation == "extended":
        return [(f"{EXTENDED_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", read_me_pdf("extended"))]
    if truth.generation == "endsong":
        return [(f"{ACCOUNT_FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", read_me_pdf("extended"))]
    return [(f"{ACCOUNT_FOLDER}/{name}", data) for name, data in account_files(history.model, now, first_day)]


__all__ = ["DEFAULT_FIRST_DAY", "GENERATIONS", "VARIANTS", "write_export"]
