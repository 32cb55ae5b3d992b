"""The interface the Arrow fast path writes its candidate rows through (fast.plan.CandidateSink), as the
Extractor implements it, and the rule that the two paths share nothing else."""

from __future__ import annotations

import ast
import inspect
import pathlib

import orjson
import pyarrow as pa

from spotify_assets.transform.coerce import fetched_rank
from spotify_assets.transform.extract.builders import candidate_schema
from spotify_assets.transform.extract.extractor import Extractor
from spotify_assets.transform.fast.plan import CandidateSink

from .conftest import FETCHED, PARTITION, env, sid, track

TRANSFORM = pathlib.Path(__file__).resolve().parents[2] / "spotify_assets" / "transform"
FILE = f"raw/tracks/dt={PARTITION}/f.jsonl.gz"


def _line(body, fetched_at=FETCHED) -> bytes:
    return orjson.dumps(env(f"/v1/tracks/{body['id']}", body, fetched_at=fetched_at))


def _extractor() -> Extractor:
    ex = Extractor(1000, PARTITION)
    ex.begin_task(0, "tracks")
    return ex


def test_extractor_implements_the_sink():
    members = [n for n in vars(CandidateSink) if not n.startswith("_")] + list(CandidateSink.__annotations__)
    assert set(members) >= {"valid", "feed_line", "next_seq", "known_ranks", "raise_ranks", "add_rows", "count",
                            "count_coerced", "count_parsed_lines"}
    ex = _extractor()
    for name in members:
        assert hasattr(ex, name), name
        if callable(getattr(CandidateSink, name, None)):
            want = list(inspect.signature(getattr(CandidateSink, name)).parameters)
            assert list(inspect.signature(getattr(Extractor, name)).parameters) == want, name


def test_ranks_are_shared_with_the_record_by_record_path():
    ex = _extractor()
    rank = fetched_rank(FETCHED)
    ex.feed_line(FILE, 1, _line(track("t1")))
    assert ex.known_ranks("tracks", [sid("t1"), sid("t2")]) == {sid("t1"): rank}
    # the fast path kept t2 at a later fetch: the record-by-record path's earlier copy cannot win any more
    ex.raise_ranks("tracks", {sid("t2"): rank + 60})
    ex.feed_line(FILE, 2, _line(track("t2")))
    assert ex.sources["tracks"].tables["tracks"].excluded["duplicate merged"] == 1
    assert ex.known_ranks("tracks", [sid("t2")]) == {sid("t2"): rank + 60}
    assert ex.builders["tracks"].to_table().column("track_id").to_pylist() == [sid("t1")]


def test_added_rows_continue_the_seq_order_of_either_path():
    ex = _extractor()
    ex.feed_line(FILE, 1, _line(track("t1")))
    first = ex.next_seq("tracks")
    schema = candidate_schema("tracks")
    cols = {f.name: pa.nulls(2, f.type) for f in schema if f.name != "_seq"}
    cols["track_id"] = pa.array([sid("t2"), sid("t3")])
    cols["_rank"] = pa.array([1, 1], pa.int64())
    ex.add_rows("tracks", cols, 2)
    assert ex.next_seq("tracks") == first + 2
    ex.feed_line(FILE, 2, _line(track("t4")))
    ex.count("tracks", "seen", 2)
    ex.count("tracks", "emitted", 2)
    ex.count_coerced("tracks", "duration_ms", 1)
    ex.count_parsed_lines(1)
    table = ex.builders["tracks"].to_table()
    assert table.schema == schema
    assert table.column("track_id").to_pylist() == [sid(x) for x in ("t1", "t2", "t3", "t4")]
    seq = table.column("_seq").to_pylist()
    assert seq == sorted(seq) and seq[1] == first and len(set(seq)) == 4
    counts = ex.sources["tracks"]
    assert (counts.lines, counts.parsed, counts.tables["tracks"].emitted) == (3, 3, 4)
    assert ex.coerced_counts()["tracks"]["duration_ms"] == 1


def _modules(package: str) -> list[pathlib.Path]:
    return sorted((TRANSFORM / package).glob("*.py"))


def test_the_fast_path_uses_only_the_interface_and_public_names():
    """No module of the fast path touches the extractor's state (builders, ranks) or imports a private name;
    the record-by-record path imports no private name across its modules either."""
    for path in _modules("fast") + _modules("extract"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports private {private} from {node.module}"
            if path.parent.name == "fast" and isinstance(node, ast.Attribute):
                assert node.attr not in ("builders", "best_ranks", "_best"), f"{path.name}:{node.lineno}: .{node.attr}"
                if node.attr.startswith("_") and not node.attr.startswith("__"):
                    owner = node.value
                    assert isinstance(owner, ast.Name) and owner.id == "self", \
                        f"{path.name}:{node.lineno}: private .{node.attr} of another object"
