"""Every asset, check, job, schedule and sensor against the committed snapshot, so a structural change to the
definitions shows as a reviewed diff of ``definitions_snapshot.json``. After an intended change: ``make snapshot``
and commit the new file with the change."""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from pathlib import Path

from spotify_assets_tests.definitions_snapshot import SNAPSHOT

REPO = Path(__file__).resolve().parents[1]


def _build(**settings: str) -> str:
    """The snapshot of the definitions as a fresh process builds them with the default settings (plus ``settings``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPOTIFY_") and k != "DAGSTER_HOME"}
    env.update(settings)
    done = subprocess.run([sys.executable, "-m", "spotify_assets_tests.definitions_snapshot"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _diff(expected: str, actual: str) -> str:
    return "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                        "definitions_snapshot.json (committed)", "the definitions now", n=2))


def test_the_definitions_match_the_committed_snapshot():
    diff = _diff(SNAPSHOT.read_text(), _build())
    assert not diff, ("the definitions changed; if that is intended, run `make snapshot` and commit "
                      f"spotify_assets_tests/definitions_snapshot.json with the change:\n{diff}")


def test_a_changed_setting_shows_as_a_one_line_diff():
    diff = _diff(SNAPSHOT.read_text(), _build(SPOTIFY_SCHEDULE_CRON="0 7 * * *"))
    changed = [line for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == ['-      "cron": "0 6 * * *",', '+      "cron": "0 7 * * *",'], diff


def test_make_snapshot_rewrites_the_snapshot_as_the_readme_says(tmp_path):
    """``make snapshot`` in a copy of the project (a stale snapshot there), with a setting in the shell that
    must not leak into it: the file written is the committed one."""
    from spotify_assets_tests.readme import readme
    from spotify_assets_tests.readme.project import make_project_root, run, user_env

    root = make_project_root(tmp_path / "project")
    tests = root / "spotify_assets_tests"
    tests.mkdir()
    (tests / "definitions_snapshot.py").write_bytes((REPO / "spotify_assets_tests" / "definitions_snapshot.py").read_bytes())
    (tests / SNAPSHOT.name).write_text("{}\n")
    done = run(readme.command("make snapshot"), root, env=user_env(root, SPOTIFY_SCHEDULE_CRON="0 7 * * *"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "wrote " in done.stderr
    assert not _diff(SNAPSHOT.read_text(), (tests / SNAPSHOT.name).read_text())
