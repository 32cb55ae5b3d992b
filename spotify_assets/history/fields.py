"""Which fields of an export's records the platform keeps, and the one function that removes the others.

**Personal data nothing needs never reaches the lake** — not even the raw zone: IP addresses
(``ip_addr``, ``ip_addr_decrypted``), user agents (``user_agent_decrypted``), location (``city``,
``region``, ``metro_code``, ``latitude``, ``longitude``) and the account's ``username`` are removed from
every record before anything is written, and counted.

Fields the import does not know are removed too, and counted by name: a field Spotify adds to a future
export is not known to be free of personal data. To keep one, add it to :data:`KNOWN_FIELDS` (the
``unknown_fields_removed`` metadata of ``raw_streaming_history`` names what an import dropped).
"""

from __future__ import annotations

from collections import Counter

PERSONAL_FIELDS = frozenset({
    "ip_addr", "ip_addr_decrypted", "user_agent", "user_agent_decrypted",
    "city", "region", "metro_code", "latitude", "longitude", "username",
})

# Every field of every generation the streams table reads (see spotify_assets.history.streams).
EXTENDED_FIELDS = (
    "ts", "platform", "ms_played", "conn_country",
    "master_metadata_track_name", "master_metadata_album_artist_name", "master_metadata_album_album_name",
    "spotify_track_uri", "episode_name", "episode_show_name", "spotify_episode_uri",
    "audiobook_title", "audiobook_uri", "audiobook_chapter_uri", "audiobook_chapter_title",
    "reason_start", "reason_end", "shuffle", "skipped", "offline", "offline_timestamp", "incognito_mode",
)
ACCOUNT_DATA_FIELDS = (
    "endTime", "msPlayed", "artistName", "trackName", "podcastName", "episodeName", "audiobookName", "chapterName",
)
KNOWN_FIELDS = frozenset(EXTENDED_FIELDS + ACCOUNT_DATA_FIELDS)
assert not KNOWN_FIELDS & PERSONAL_FIELDS


class Scrubber:
    """Removes from records every field but the known ones, in place, counting what it removed by name.

    Records of one file nearly always have the same fields in the same order, so what to remove is worked
    out once per field layout."""

    def __init__(self):
        self._plans: dict[tuple, tuple[str, ...]] = {}
        self._layouts: Counter = Counter()

    def scrub(self, record: dict) -> dict:
        layout = tuple(record)
        drop = self._plans.get(layout)
        if drop is None:
            drop = self._plans[layout] = tuple(k for k in layout if k not in KNOWN_FIELDS)
        if drop:
            for key in drop:
                del record[key]
            self._layouts[drop] += 1
        return record

    def removed(self) -> tuple[Counter, Counter]:
        """``(personal, unknown)``: how many values of each field were removed."""
        personal, unknown = Counter(), Counter()
        for drop, n in self._layouts.items():
            for key in drop:
                (personal if key in PERSONAL_FIELDS else unknown)[key] += n
        return personal, unknown
