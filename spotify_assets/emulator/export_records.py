"""Streams turned into the records of one export generation (``extended``, ``endsong`` and its ``location``
variant, ``account_data``), with the quirks of real exports placed by share of the history, and into the
truth's :class:`~.export_truth.WrittenStream` of each record written."""

from __future__ import annotations

from datetime import UTC, datetime

from .export_truth import ExportTruth, WrittenStream
from .history import History, Stream, chapter
from .listening import day_start_ms
from .music import DEMO_USER_ID

# Shares of the history (from its first day to now) with the quirks of real exports.
SKIPPED_NULL_UNTIL = 0.30
REASON_END_MISSING = (0.40, 0.43)
REASONS_EMPTY = (0.60, 0.62)
PRIVATE_FIELDS = ("ip_addr", "ip_addr_decrypted", "user_agent_decrypted",
                  "city", "region", "metro_code", "latitude", "longitude")


class Records:
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



def _iso(ms: int) -> str:
    """``2014-07-27T20:34:47Z`` of an instant in ms (strftime once per day: this runs for every record)."""
    day, second = divmod(ms // 1000, 86_400)
    prefix = _DAY_PREFIX.get(day)
    if prefix is None:
        prefix = _DAY_PREFIX[day] = datetime.fromtimestamp(day * 86_400, UTC).strftime("%Y-%m-%dT")
    hour, rest = divmod(second, 3_600)
    return f"{prefix}{hour:02d}:{rest // 60:02d}:{rest % 60:02d}Z"


_DAY_PREFIX: dict[int, str] = {}
