"""A newcomer's first hour, the README in hand: every command below is the README's own text, run by bash in a
project root like a user's checkout (a copy; see project.py), in the order the README gives them.

``make demo``; the first ```sql block on the demo's DuckDB file; ``make dev`` (``dg dev`` over the demo's
instance: its run, the schedules with their next tick, no warning to decode); the ``dg launch`` examples;
the Extending example saved as ``my_assets.py`` (validate, materialize, ``dg dev -m``) and the
``dg scaffold defs`` route, neither joining the project's jobs; the backfill command; ``make defs``.
The commands with a fixed port (3000, 3001) get a free one instead: tests never bind fixed ports.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from spotify_assets_tests.report.pages import CHART_KEYS, assert_self_contained, charts_in

from . import readme
from .project import Server, free_port, make_project_root, run, user_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # make demo alone takes about a minute

# The daemon's first start on a new instance (explained in the README's Quick start); nothing else may warn.
FIRST_START_NOTE = re.compile(r"No cursor for event type DagsterEventType\.\w+, ignoring older events")


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    return result.stdout + result.stderr


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.load(response)
    assert "errors" not in payload, payload["errors"]
    return payload["data"]


def _repository(port: int) -> dict | None:
    """The code location's repository once it has loaded (None before)."""
    nodes = _graphql(port, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                           "schedules { name cronSchedule scheduleState { status } futureTicks(limit: 1) { results { timestamp } } } "
                           "assetNodes { assetKey { path } } } } } }")["repositoriesOrError"].get("nodes")
    return nodes[0] if nodes else None


def _instance(root: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(root / "data" / "dagster_home"))


def _warnings(output: str) -> list[str]:
    return [line for line in output.splitlines() if "WARNING" in line and not FIRST_START_NOTE.search(line)]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, str]:
    """The project root after the README's first command, ``make demo``, and what it printed."""
    root = make_project_root(tmp_path_factory.mktemp("newcomer") / "spotify_assets")
    output = _ok(run(readme.command("make demo"), root, timeout=600))
    assert "Transformed tables" in output and "Analytics: daily_top_tracks" in output, output[-3000:]
    return root, output


@pytest.fixture(scope="module")
def root(demo) -> Path:
    return demo[0]


def test_make_demo_prints_where_the_listening_report_is(demo):
    root, output = demo
    (path,) = re.findall(r"^Listening report: (\S+\.html) ", output, re.MULTILINE)
    page = Path(path)
    assert page == root / "data" / "lake" / "insights" / "listening_report" / "listening_report.html"
    text = page.read_text(encoding="utf-8")
    assert_self_contained(text)
    assert charts_in(text) == list(CHART_KEYS)  # the demo user's years of history: every chart


def test_the_transform_readmes_example_runs_as_copied_after_make_demo(root):
    """``spotify_assets/transform/README.md``'s Python example, saved and run from the project root."""
    text = (readme.REPO / "spotify_assets" / "transform" / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    (root / "transform_example.py").write_text(example + "print(result.row_counts)\n")
    output = _ok(run(".venv/bin/python transform_example.py", root))
    assert "'tracks': " in output and "'tracks': 0" not in output, output


def test_the_first_sql_block_returns_rows_on_the_demo_database(root):
    (root / "top_artists.sql").write_text(readme.blocks("sql")[0])  # "Saved as `top_artists.sql`"
    result = run(readme.command(".venv/bin/python -m spotify_assets.sql < top_artists.sql"), root)
    output = _ok(result)
    assert "(10 rows, duckdb)" in output, output
    assert result.stdout.splitlines()[0].split() == ["artist", "positions", "playlists"]
    by_day = _ok(run(readme.command('.venv/bin/python -m spotify_assets.sql "SELECT dt'), root))
    assert _today() in by_day and "(1 row, duckdb)" in by_day, by_day
    # "Reading the DuckDB file": plain duckdb, read-only, as a notebook would
    read_only = _ok(run(readme.command(".venv/bin/python -c \"import duckdb;"), root))
    assert _today() in read_only and "tracks" in read_only, read_only


def test_make_dev_serves_the_demo_instance_with_the_schedules_and_no_warnings(root, tmp_path):
    assert readme.command("make dev") == "make dev"
    port = free_port()
    command = readme.command("make dev DEV_PORT=").replace("3001", str(port))
    server = Server(command, root, tmp_path / "make-dev.log")
    try:
        repository = server.wait_for(lambda: _repository(port), 180, "make dev to serve the code location")
        runs = _graphql(port, "{ runsOrError { ... on Runs { results { jobName status } } } }")["runsOrError"]["results"]
    finally:
        server.stop()
    output = server.output()
    assert "bin/dg dev " in output.splitlines()[0]  # make echoes the command it runs
    assert {"jobName": "daily_job", "status": "SUCCESS"} in runs  # the demo's run, in the same instance
    schedules = {s["name"]: s for s in repository["schedules"]}
    assert set(schedules) == {"daily_crawl_schedule", "recent_plays_schedule"}
    for schedule in schedules.values():
        assert schedule["scheduleState"]["status"] == "STOPPED"
        assert schedule["futureTicks"]["results"], schedule  # the next tick is known and shown
    assert "superseded" not in output and "dagster.yaml" not in output, output
    assert _warnings(output) == [], output


def test_the_dg_launch_examples_materialize_todays_day(root):
    keys = ("tracks", "artists", "catalog_tracks", "catalog_artists", "daily_top_tracks")

    def latest() -> dict[str, int]:
        with _instance(root) as instance:
            return {key: instance.fetch_materializations(dg.AssetKey(key), limit=1).records[0].storage_id
                    for key in keys}

    before = latest()
    _ok(run(readme.command("DAGSTER_HOME=$PWD/data/dagster_home .venv/bin/dg launch --assets 'group:transformed'"), root))
    _ok(run(readme.command("DAGSTER_HOME=$PWD/data/dagster_home .venv/bin/dg launch --assets catalog_tracks,"), root))
    after = latest()
    changed = {key for key in keys if after[key] != before[key]}
    # the day's tables as one (artists too); of the catalog and analytics, only what was named
    assert changed == {"tracks", "artists", "catalog_tracks", "daily_top_tracks"}


def test_my_assets_py_validates_materializes_and_serves_as_written(root, tmp_path):
    (root / "my_assets.py").write_text(readme.first_block_after("## Extending", "python"))
    validated = _ok(run(readme.command(".venv/bin/dagster definitions validate -m my_assets"), root))
    assert "Validation successful" in validated and _warnings(validated) == [], validated
    materialized = _ok(run(readme.command(
        "DAGSTER_HOME=$PWD/data/dagster_home .venv/bin/dagster asset materialize -m my_assets"), root))
    # the one warning, explained in the README: the week's days never published are skipped
    assert [w for w in _warnings(materialized) if "were skipped" not in w] == [], materialized
    with _instance(root) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("explicit_share"))
    assert event.dagster_event.partition == _today()
    metadata = event.asset_materialization.metadata
    assert 0 < metadata["explicit_share"].value < 1 and metadata["days_in_week"].value == 1
    # the user's asset is not part of the project's jobs
    jobs = _ok(run(".venv/bin/python -c 'import my_assets; print(sorted(k.to_user_string() for k in "
                   "my_assets.defs.resolve_job_def(\"daily_job\").asset_layer.executable_asset_keys))'", root))
    assert "tracks" in jobs and "explicit_share" not in jobs
    port = free_port()
    server = Server(readme.command("DAGSTER_HOME=$PWD/data/dagster_home .venv/bin/dg dev -m my_assets")
                    .replace("-p 3001", f"-p {port}"), root, tmp_path / "dg-dev-my-assets.log")
    try:
        repository = server.wait_for(lambda: _repository(port), 180, "dg dev -m my_assets to serve")
    finally:
        server.stop()
    assert ["explicit_share"] in [n["assetKey"]["path"] for n in repository["assetNodes"]]
    assert _warnings(server.output()) == [], server.output()


def test_the_dg_scaffold_route_adds_an_asset_to_the_project_but_not_to_its_jobs(root):
    scaffolded = root / "spotify_assets" / "defs" / "insights" / "explicit_share.py"
    (root / "my_assets.py").unlink(missing_ok=True)  # the other route's module would define the asset twice
    try:
        _ok(run(readme.command(".venv/bin/dg scaffold defs dagster.asset insights/explicit_share.py"), root))
        assert "def explicit_share" in scaffolded.read_text()  # the stub
        # "replace the stub by the example's imports and function (without the project import and the last line)"
        example = readme.first_block_after("## Extending", "python")
        lines = [line for line in example.splitlines(keepends=True)
                 if not line.startswith(("from spotify_assets import definitions", "defs = dg.Definitions.merge"))]
        scaffolded.write_text("".join(lines))
        _ok(run(readme.command(".venv/bin/dg check defs"), root))
        _ok(run(readme.command("DAGSTER_HOME=$PWD/data/dagster_home .venv/bin/dg launch --assets explicit_share"), root))
        listed = _ok(run(".venv/bin/python -c 'from spotify_assets.definitions import defs; "
                         "print(*(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys())); "
                         "print(*(k.to_user_string() for k in defs.resolve_job_def(\"daily_job\").asset_layer.executable_asset_keys)); "
                         "print(*(k.to_user_string() for k in defs.resolve_job_def(\"import_history_job\").asset_layer.executable_asset_keys))'",
                         root)).splitlines()
        project_assets, daily_job, history = (set(line.split()) for line in listed[-3:])
        assert "explicit_share" in project_assets and "explicit_share" not in daily_job | history
        assert daily_job == project_assets - {"explicit_share"} - history  # the listening history: its own job
    finally:
        scaffolded.unlink(missing_ok=True)
    with _instance(root) as instance:
        assert instance.get_latest_materialization_event(dg.AssetKey("explicit_share")).dagster_event.partition == _today()


def test_the_backfill_command_queues_a_backfill_of_transform_job(root):
    _ok(run(readme.command("DAGSTER_HOME=$PWD/data/dagster_home .venv/bin/dagster job backfill"), root))
    with _instance(root) as instance:
        (backfill,) = instance.get_backfills()
    assert backfill.job_name == "transform_job" and len(backfill.partition_names) == 20


def test_make_defs_lists_every_definition_readably(root):
    listing = run(readme.command("make defs"), root).stdout  # piped, as the reader did
    assert {"daily_crawl_schedule", "recent_plays_schedule", "automation_sensor", "daily_job", "tracks"} <= set(
        re.findall(r"[a-z_]+", listing))
    assert len(listing.splitlines()) < 400 and max(len(line) for line in listing.splitlines()) <= 100
    described = _ok(run(readme.command(".venv/bin/dg list defs --assets 'group:transformed'"), root,
                        env=user_env(root, COLUMNS="200")))
    assert "Key: album_id, artist_id." in described  # album_artists' description, as far as dg shows it
