"""The files of an account-data export that hold no streams: the read-me PDF, and the account's other data
(``Userdata.json``, ``Playlist1.json``, ``YourLibrary.json``...). An importer lists them as not read; they
are here so that it meets them, in the shapes and formatting real exports use."""

from __future__ import annotations

from datetime import UTC, date, datetime

import orjson

from .listening import Listening, ms_to_iso_seconds
from .music import DEMO_USER_ID, DEMO_USER_NAME

_READ_ME = {
    "extended": ("Understanding your Extended Streaming History",
                 "Each file is a JSON array of streams. ts: when the stream ended (UTC).",
                 "ms_played: how long it played. reason_start, reason_end: why it started and ended.",
                 "ip_addr, conn_country: where it was streamed from. Keep this data safe."),
    "account": ("Understanding your Account Data",
                "StreamingHistory files: the last year of streams, endTime in UTC, minute precision.",
                "Userdata, Identity, Playlist1, YourLibrary, SearchQueries, Follow, Inferences, Marquee, Payments."),
}


def read_me_pdf(kind: str) -> bytes:
    """A small, valid one-page PDF with the read-me text of ``kind`` (``extended`` or ``account``)."""
    lines = _READ_ME[kind]
    text = b"BT /F1 12 Tf 72 760 Td 16 TL " + b" ".join(
        b"(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("latin-1") + b") Tj T*"
        for line in lines) + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def spaced_json(value, indent: int = 0) -> bytes:
    """JSON as account-data files format it: 2-space indentation and ``"key" : value``."""
    pad, inner = b" " * indent, b" " * (indent + 2)
    if isinstance(value, dict):
        if not value:
            return b"{ }"
        fields = (inner + orjson.dumps(k) + b" : " + spaced_json(v, indent + 2) for k, v in value.items())
        return b"{\n" + b",\n".join(fields) + b"\n" + pad + b"}"
    if isinstance(value, list):
        if not value:
            return b"[ ]"
        return b"[\n" + b",\n".join(inner + spaced_json(v, indent + 2) for v in value) + b"\n" + pad + b"]"
    return orjson.dumps(value)


def account_files(model: Listening, now: datetime, first_day: date) -> list[tuple[str, bytes]]:
    """The account's other files as of ``now``: (file name in the export's folder, bytes), in a fixed order."""
    c = model.c
    day = now.date().toordinal()

    def track_ref(t: int) -> dict:
        f = c.track(t, 0)
        album = c.album(f["album"], 0)
        return {"trackName": f["name"], "artistName": c.name("artist", album["artists"][0]),
                "albumName": album["name"], "trackUri": f"spotify:track:{f['id']}"}

    playlists = []
    for p in model.owned:
        meta = c.playlist(p)
        items = []
        for key in c.playlist_entries(p, day):
            e = c.entry(p, key)
            item = {"track": None, "episode": None, "audiobook": None, "localTrack": None,
                    "addedDate": e["added_at"][:10]}
            if e["kind"] == "track":
                item["track"] = track_ref(e["ref"])
            elif e["kind"] == "episode":
                ep = c.episode(e["ref"])
                item["episode"] = {"episodeName": ep["name"], "showName": c.show(ep["show"])["name"],
                                   "episodeUri": f"spotify:episode:{ep['id']}"}
            elif e["kind"] == "local":
                item["localTrack"] = {"uri": f"spotify:local:::{c.name('track', e['ref'])}:180"}
            else:
                continue  # an entry whose content is gone is not listed
            items.append(item)
        playlists.append({"name": meta["name"], "lastModifiedDate": now.date().isoformat(), "collaborators": [],
                          "items": items, "description": meta["description"] or None,
                          "numberOfFollowers": c.playlist_followers(p, day)})
    library = [{"artist": ref["artistName"], "album": ref["albumName"], "track": ref["trackName"],
                "uri": ref["trackUri"]} for ref in (track_ref(t) for t, _ in model.saved(day))]
    created = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    files = {
        "Follow.json": {"followerCount": 7, "followingUsersCount": 3, "dismissingUsersCount": 0},
        "Identity.json": {"displayName": DEMO_USER_NAME, "firstName": "Emulator", "lastName": "Demo",
                          "tasteMaker": False, "imageUrl": "", "largeImageUrl": "", "verified": False},
        "Inferences.json": {"inferences": ["1P_Custom_Audience_Music_Lovers", "3P_Podcast_Listeners",
                                           "Streaming_Premium_Users"]},
        "Marquee.json": [],
        "Payments.json": {"payment_method": "Card", "creation_date": first_day.isoformat(), "country": "SE"},
        "Playlist1.json": {"playlists": playlists},
        "SearchQueries.json": [{"platform": "IPHONE", "searchTime": ms_to_iso_seconds(int(now.timestamp()) * 1000 - 3_600_000),
                                "searchQuery": "night", "searchInteractionURIs": []}],
        "Userdata.json": {"username": DEMO_USER_ID, "email": "demo@emulator.invalid", "country": "SE",
                          "createdFromFacebook": False, "facebookUid": None, "birthdate": "1990-01-01",
                          "gender": "neutral", "postalCode": None, "mobileNumber": None, "mobileOperator": None,
                          "mobileBrand": None, "creationTime": created.strftime("%Y-%m-%d")},
        "YourLibrary.json": {"tracks": library, "albums": [], "shows": [], "episodes": [], "bannedTracks": [],
                             "artists": [], "bannedArtists": [], "other": []},
    }
    out = [(name, spaced_json(value)) for name, value in files.items()]
    out.append(("Read_Me_First.pdf", read_me_pdf("account")))
    return out
