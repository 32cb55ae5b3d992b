"""The matching rule of listens on hand-made streams and plays: end within the tolerance, the start-time
variant, account data by minute and names; nearest first, one to one; short streams and other kinds never
match; every stream and every play is exactly one row."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from spotify_assets.history.audit import audit_listens
from spotify_assets.history.listens import TOLERANCE_S, build_listens, match_plays
from spotify_assets.tables.history import LISTENS, STREAMS

from .exports import T1, T2, T3

BASE = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=seconds)


def streams_table(rows: list[dict]) -> pa.Table:
    full = []
    for i, r in enumerate(rows):
        ended = r["ended_at"]
        full.append({c.name: None for c in STREAMS.columns} | {
            "stream_id": f"s{i:02d}", "ended_at_precision": "second", "kind": "track", "generation": "extended",
            "export_id": "e", "source_file": "f", "dt": ended.date().isoformat(),
            "started_at": ended - dt.timedelta(milliseconds=r["ms_played"]), **r})
    return pa.Table.from_pylist(full, schema=STREAMS.schema)


def plays_table(rows: list[tuple[dt.datetime, str | None]]) -> pa.Table:
    return pa.table({"played_at": pa.array([r[0] for r in rows], pa.timestamp("us", tz="UTC")),
                     "track_id": pa.array([r[1] for r in rows], pa.string())})


def test_a_play_is_the_stream_of_the_same_track_ending_within_the_tolerance():
    streams = streams_table([
        {"ended_at": at(0), "ms_played": 200_000, "track_id": T1},
        {"ended_at": at(200), "ms_played": 200_000, "track_id": T1},  # the same track again, 200 s later
        {"ended_at": at(400), "ms_played": 20_000, "track_id": T2},  # 20 s: never in recently played
        {"ended_at": at(600), "ms_played": 200_000, "track_id": T3},
    ])
    plays = plays_table([
        (at(0.734), T1),  # ts is played_at truncated to the second
        (at(199.2), T1),  # a client clock a little off
        (at(400.5), T2),  # only the 20 s stream is there: not the same listen
        (at(600 + TOLERANCE_S + 1), T3),  # outside the tolerance
        (at(800), None),  # a local file
    ])
    assert match_plays(streams, plays, {}) == {0: (0, "end"), 1: (1, "end")}


def test_the_start_time_variant_and_nearest_first_one_to_one():
    streams = streams_table([
        {"ended_at": at(300), "ms_played": 180_000, "track_id": T1},  # started at 120
        {"ended_at": at(1000), "ms_played": 100_000, "track_id": T2},
        {"ended_at": at(1003), "ms_played": 100_000, "track_id": T2},  # two plays of one track 3 s apart (repeat)
    ])
    plays = plays_table([(at(121), T1), (at(1002.5), T2), (at(1000.2), T2)])
    assert match_plays(streams, plays, {}) == {0: (0, "start"), 2: (1, "end"), 1: (2, "end")}


def test_account_data_matches_by_minute_and_names():
    streams = streams_table([
        {"ended_at": at(0).replace(second=0), "ms_played": 200_000, "ended_at_precision": "minute",
         "generation": "account_data", "track_name": "Song One", "artist_name": "Band A"},
        {"ended_at": at(0).replace(second=0), "ms_played": 200_000, "ended_at_precision": "minute",
         "generation": "account_data", "track_name": "Other", "artist_name": "Band A"},
    ])
    plays = plays_table([(at(42), T1), (at(50), T2), (at(55), T3)])
    # the export names the album's artist: a play matches by its album artist as well as its first artist
    names = {T1: ("song one", "BAND A", "Band A"), T2: ("Unrelated", "Band Z", None), T3: ("Other", "Guest", "Band A")}
    assert match_plays(streams, plays, names) == {0: (0, "minute"), 2: (1, "minute")}


def test_every_stream_and_every_play_is_one_listen():
    streams = streams_table([
        {"ended_at": at(0), "ms_played": 200_000, "track_id": T1, "track_name": "Song One", "artist_name": "Band A",
         "skipped": False, "platform_family": "ios"},
        {"ended_at": at(100), "ms_played": 0, "track_id": T2, "skipped": True},
        {"ended_at": at(200), "ms_played": 900_000, "kind": "episode", "episode_name": "Ep", "show_name": "Show"},
        {"ended_at": at(300), "ms_played": 5_000, "kind": "unknown"},
        {"ended_at": at(400), "ms_played": 60_000, "kind": "track_or_episode", "track_name": "Old", "artist_name": "X",
         "ended_at_precision": "minute"},
    ])
    plays = plays_table([(at(0.5), T1), (at(1000.25), T3)])
    build = build_listens(streams, plays, {T3: ("Song Three", "Band C")})
    assert build.table.schema == LISTENS.schema
    rows = build.table.to_pylist()
    assert [(r["listen_id"], r["source"], r["kind"], r["track_name"], r["artist_name"], r["ms_played"], r["skipped"])
            for r in rows] == [
        ("s00", "both", "track", "Song One", "Band A", 200_000, False),
        ("s01", "export", "track", None, None, 0, True),
        ("s02", "export", "episode", "Ep", "Show", 900_000, None),
        ("s03", "export", "unknown", None, None, 5_000, None),
        ("s04", "export", "track", "Old", "X", 60_000, None),
        ("play:2026-11-20T08:16:40.250Z", "plays", "track", "Song Three", "Band C", None, None),
    ]
    assert rows[0]["listened_at"] == at(0) and rows[0]["played_at"] == at(0.5) and rows[0]["matched_by"] == "end"
    assert rows[-1]["listened_at"] == rows[-1]["played_at"] == at(1000.25) and rows[-1]["dt"] == "2026-11-20"
    assert build.summary() == {"streams": 5, "plays": 2, "matched": 1, "matched_by": {"end": 1, "start": 0, "minute": 0},
                               "rows": 6, "export_only": 4, "plays_only": 1}
    checks = {o.check: o for o in audit_listens(build.table, streams["stream_id"], plays["played_at"])}
    assert all(o.passed for o in checks.values()), checks
    # the check is not a formality: a dropped play and a stream counted twice fail it
    broken = pa.concat_tables([build.table.slice(0, 5), build.table.slice(0, 1)])  # s00 twice, the play dropped
    outcome = {o.check: o for o in audit_listens(broken, streams["stream_id"], plays["played_at"])}
    assert not outcome["every_listen_once"].passed
    assert outcome["every_listen_once"].description == "1 plays dropped; 2 listens counted twice"  # s00: its stream and its play
    assert not outcome["keys_unique_and_not_null"].passed


def test_listens_of_plays_alone_without_any_export():
    plays = plays_table([(at(1), T1), (at(2), T2)])
    build = build_listens(streams_table([]), plays, {})
    assert [r["source"] for r in build.table.to_pylist()] == ["plays", "plays"]
    assert build_listens(streams_table([]), plays_table([]), {}).table.num_rows == 0


def test_the_listens_table_carries_the_reports_contract_exactly():
    """The report reads listens: its columns, types and nullability are the report's contract (the table may
    carry more columns)."""
    from spotify_assets.report.listens import LISTENS_COLUMNS, conform

    for name, (type_, nullable) in LISTENS_COLUMNS.items():
        field = LISTENS.schema.field(name)
        assert (field.type, field.nullable) == (type_, nullable), name
    build = build_listens(streams_table([{"ended_at": at(0), "ms_played": 5, "kind": "unknown"}]),
                          plays_table([(at(9), T1)]), {})
    assert conform(build.table).num_rows == 2
