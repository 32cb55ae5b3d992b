"""The export's free-text ``platform`` in a small family an analyst can group by.

Older exports write long strings (``"Android OS 4.2.2 API 17 (samsung, GT-I9195)"``, ``"iOS 14.7.1
(iPhone10,3)"``, ``"OS X 10.15.7 [x86 8]"``, ``"Partner google cast_tv;Chromecast;;"``), newer ones short
tokens (``android``, ``ios``, ``windows``, ``cast``). The first rule that matches decides; the verbatim
string stays in ``platform``.
"""

from __future__ import annotations

import re
from functools import lru_cache

FAMILIES = ("cast", "console", "car", "tv", "speaker", "android", "ios", "windows", "macos", "linux", "web", "other")

# (family, pattern on the lower-cased platform) — order matters: a cast device may run Android TV, an
# Android TV is a TV, "Partner" strings name the partner's device kind.
_RULES = (
    ("cast", r"cast|chromecast"),
    ("console", r"playstation|\bps[345]\b|xbox|nintendo"),
    ("car", r"android[ _]?auto|carplay|\bcar\b|automotive"),
    ("tv", r"android[ _]?tv|\btv\b|_tv|smart[ _]?tv|tizen|webos|roku|apple ?tv|tvos|fire ?tv"),
    ("speaker", r"sonos|speaker|echo|alexa|amazon|bose|google home|homepod|audio[ _]?system"),
    ("android", r"android"),
    ("ios", r"\bios\b|iphone|ipad|ipod"),
    ("windows", r"windows|win32|win64"),
    ("macos", r"os x|osx|macos|mac os|macintosh|\bmac\b"),
    ("linux", r"linux|ubuntu|debian|fedora"),
    ("web", r"web[ _]?player|webplayer|\bweb\b|browser|chrome|firefox|safari|edge"),
)
_COMPILED = tuple((family, re.compile(pattern)) for family, pattern in _RULES)


@lru_cache(maxsize=4096)
def platform_family(platform: str | None) -> str | None:
    """The family of ``platform`` (one of :data:`FAMILIES`), or None when the export gives none."""
    if platform is None or not platform.strip():
        return None
    text = platform.lower()
    for family, pattern in _COMPILED:
        if pattern.search(text):
            return family
    return "other"
