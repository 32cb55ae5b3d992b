"""The checks of the listening history tables, on their staged version (before anything is published).

Blocking (a failure publishes nothing; every month keeps its version):

* ``streams``: key unique and not null; values in range (``ms_played`` ≥ 0, ``ended_at`` in 2006–2099,
  ``kind`` known); **accounting**: the records the exports held = staged rows + staged quarantine records +
  exclusions by reason; **no stream lost**: every stream of the published version is in the staged one
  (or was replaced by a better record of it, see :mod:`.streams`); not empty when records were read.
* ``listens``: key unique and not null; values in range; **every listen once**: each stream and each play
  is exactly one row (a matched pair one row, ``both``), none dropped.

Warning: ``streams`` quarantine share above ``SPOTIFY_CHECK_QUARANTINE_MAX_SHARE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from ..publish import quality
from ..publish.audit import QUARANTINE_MAX_SHARE, CheckOutcome, verdict_of
from ..tables.history import KINDS, LISTENS, STREAMS
from .streams import MAX_ENDED_AT_US, MIN_ENDED_AT_US

SOURCES = ("export", "plays", "both")


@dataclass(frozen=True)
class HistoryCheck:
    table: str
    name: str
    blocking: bool
    description: str


CHECKS = (
    HistoryCheck("streams", "keys_unique_and_not_null", True, "Every stream has a non-null, unique stream_id."),
    HistoryCheck("streams", "values_in_range", True, "ms_played ≥ 0, ended_at in 2006–2099, kind one of "
                 f"{', '.join((*KINDS, 'track_or_episode'))}."),
    HistoryCheck("streams", "accounting_balanced", True, "Records the imported exports held = staged rows + "
                 "quarantined records + records excluded by reason (duplicates, records covered by better ones)."),
    HistoryCheck("streams", "no_stream_lost", True, "Every stream of the published version is still there (or "
                 "was replaced by a better record of the same stream): an import only ever adds streams."),
    HistoryCheck("streams", "not_empty", True, "Fails when the exports held records and not one became a stream."),
    HistoryCheck("streams", "quarantine_share_low", False, "Warns when the share of records quarantined exceeds "
                 f"SPOTIFY_CHECK_QUARANTINE_MAX_SHARE (now {QUARANTINE_MAX_SHARE:.1%})."),
    HistoryCheck("listens", "keys_unique_and_not_null", True, "Every listen has a non-null, unique listen_id."),
    HistoryCheck("listens", "values_in_range", True, "ms_played ≥ 0, kind one of "
                 f"{', '.join(KINDS)}, source one of {', '.join(SOURCES)}."),
    HistoryCheck("listens", "every_listen_once", True, "Each stream of `streams` and each play of `plays` is exactly "
                 "one row (a play matched to a stream: one row, source both); none is dropped."),
)


def checks_of(table: str) -> list[HistoryCheck]:
    return [c for c in CHECKS if c.table == table]


def _outcome(check: HistoryCheck, verdict: tuple[bool, str, dict]) -> CheckOutcome:
    passed, description, metadata = verdict
    return CheckOutcome(check.table, check.name, check.blocking, passed, description, metadata)


def _values(name: str) -> Callable[[pa.Table], tuple[bool, str, dict]]:
    def evaluate(table: pa.Table) -> tuple[bool, str, dict]:
        rules = [("ms_played", quality.within_range(table, "ms_played", 0, None))]
        if name == "streams":
            ended = pc.cast(table["ended_at"], pa.int64())
            bad = pc.or_(pc.less(ended, MIN_ENDED_AT_US), pc.greater_equal(ended, MAX_ENDED_AT_US))
            failing = int(pc.sum(bad).as_py() or 0)
            rules.append(("ended_at", quality.RuleResult(failing == 0, failing, f"{failing} rows with ended_at "
                                                         "outside 2006-2099")))
            allowed = (*KINDS, "track_or_episode")
        else:
            allowed = KINDS
            rules.append(("source", _allowed(table, "source", SOURCES)))
        rules.append(("kind", _allowed(table, "kind", allowed)))
        return verdict_of(rules)

    return evaluate


def _allowed(table: pa.Table, column: str, allowed: tuple[str, ...]) -> quality.RuleResult:
    bad = pc.invert(pc.fill_null(pc.is_in(table[column], value_set=pa.array(allowed)), False))
    failing = int(pc.sum(bad).as_py() or 0)
    examples = sorted(set(table.filter(bad)[column].to_pylist()), key=str)[:5] if failing else []
    return quality.RuleResult(failing == 0, failing, f"{failing} rows whose {column} is not one of "
                              f"{', '.join(allowed)}", examples)


def audit_streams(staged: pa.Table, quarantined: int, accounting: dict, previous_ids: pa.Array | None,
                  covered_ids: set[str]) -> list[CheckOutcome]:
    """The streams checks on the staged rows; ``previous_ids``: the published version's stream ids."""
    by_name = {c.name: c for c in checks_of("streams")}
    outcomes = [
        _outcome(by_name["keys_unique_and_not_null"],
                 verdict_of([("keys", quality.keys_unique_and_not_null(staged, STREAMS.key))])),
        _outcome(by_name["values_in_range"], _values("streams")(staged)),
    ]
    excluded = sum(accounting["excluded"].values())
    records_in = accounting["records_in"]
    balanced = records_in == staged.num_rows + quarantined + excluded
    outcomes.append(_outcome(by_name["accounting_balanced"], (
        balanced,
        f"{records_in} records in = {staged.num_rows} rows + {quarantined} quarantined + {excluded} excluded"
        if balanced else f"{records_in} records in != {staged.num_rows} rows + {quarantined} quarantined + "
        f"{excluded} excluded",
        {"records_in": records_in, "rows": staged.num_rows, "quarantined": quarantined, "excluded": excluded},
    )))
    if previous_ids is None or len(previous_ids) == 0:
        lost_verdict = (True, "no published version to compare", {"previous_rows": 0})
    else:
        present = pc.is_in(previous_ids, value_set=staged["stream_id"].combine_chunks())
        missing = previous_ids.filter(pc.invert(present)).to_pylist()
        lost = [m for m in missing if m not in covered_ids]
        lost_verdict = (
            not lost,
            f"{len(lost)} published streams are missing from the new version" if lost else
            f"all {len(previous_ids)} published streams are kept" + (f" ({len(missing)} replaced by better records)"
                                                                     if missing else ""),
            {"previous_rows": len(previous_ids), "lost": len(lost), "replaced": len(missing) - len(lost),
             "examples": ", ".join(lost[:5]) or "none"},
        )
    outcomes.append(_outcome(by_name["no_stream_lost"], lost_verdict))
    empty_bad = staged.num_rows == 0 and records_in > 0
    outcomes.append(_outcome(by_name["not_empty"], (
        not empty_bad,
        f"{staged.num_rows} streams" if staged.num_rows else
        ("no streams although the exports held records" if empty_bad else "no export imported yet"),
        {"rows": staged.num_rows, "records_in": records_in},
    )))
    share = quarantined / records_in if records_in else 0.0
    outcomes.append(_outcome(by_name["quarantine_share_low"], (
        share <= QUARANTINE_MAX_SHARE, f"{quarantined} of {records_in} records quarantined ({share:.2%})",
        {"quarantined": quarantined, "records_in": records_in, "share": float(share)},
    )))
    return outcomes


def audit_listens(staged: pa.Table, stream_ids: pa.Array, played_at: pa.Array) -> list[CheckOutcome]:
    """The listens checks on the staged rows, against the streams and plays they were built from."""
    by_name = {c.name: c for c in checks_of("listens")}
    outcomes = [
        _outcome(by_name["keys_unique_and_not_null"],
                 verdict_of([("keys", quality.keys_unique_and_not_null(staged, LISTENS.key))])),
        _outcome(by_name["values_in_range"], _values("listens")(staged)),
    ]
    source = staged["source"]
    from_export = staged.filter(pc.is_in(source, value_set=pa.array(["export", "both"])))["listen_id"]
    from_plays = pc.cast(staged.filter(pc.is_in(source, value_set=pa.array(["plays", "both"])))["played_at"],
                         pa.int64())
    played = pc.cast(played_at, pa.int64())

    def missing(expected, got) -> int:
        return int(pc.sum(pc.invert(pc.is_in(expected, value_set=got.combine_chunks()))).as_py() or 0)

    def repeated(values) -> int:
        counts = pc.value_counts(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
        return int(pc.sum(pc.greater(counts.field("counts"), 1)).as_py() or 0)

    problems = []
    dropped_streams = missing(stream_ids, from_export) if len(stream_ids) else 0
    dropped_plays = missing(played, from_plays) if len(played) else 0
    twice = repeated(from_export) + repeated(from_plays)
    invented = (missing(from_export, pa.chunked_array([stream_ids])) if len(from_export) else 0) + \
        (missing(from_plays, pa.chunked_array([played])) if len(from_plays) else 0)
    if dropped_streams:
        problems.append(f"{dropped_streams} streams dropped")
    if dropped_plays:
        problems.append(f"{dropped_plays} plays dropped")
    if twice:
        problems.append(f"{twice} listens counted twice")
    if invented:
        problems.append(f"{invented} rows match no stream or play")
    both = int(pc.sum(pc.equal(source, "both")).as_py() or 0)
    outcomes.append(_outcome(by_name["every_listen_once"], (
        not problems,
        "; ".join(problems) if problems else
        f"{len(stream_ids)} streams + {len(played)} plays - {both} matched = {staged.num_rows} listens",
        {"streams": len(stream_ids), "plays": len(played), "matched": both, "rows": staged.num_rows,
         "dropped_streams": dropped_streams, "dropped_plays": dropped_plays, "counted_twice": twice},
    )))
    return outcomes
