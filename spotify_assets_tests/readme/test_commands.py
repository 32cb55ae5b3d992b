"""Every command the README shows is run by a test, and the ones not run in test_first_steps.py run here:
the emulator on its own, the Spotify login (and its module's own entry point), the query command on
Athena. Commands with a fixed port get a free one (tests never bind fixed ports); placeholders (a bucket,
a client id) get the test's own.
"""

from __future__ import annotations

import re
import subprocess
import threading
import zipfile
from pathlib import Path

import pytest
import requests

from spotify_assets.emulator import EMULATOR_CLIENT_ID
from spotify_assets.publish.wap import transform_day
from spotify_assets_tests.athena_on_duckdb import athena_runs_on_duckdb
from spotify_assets_tests.emulation import copy_raw

from . import readme
from .project import user_env

TESTS = Path(__file__).resolve().parents[1]
# Commands the suite does not run, and why: they run the suite itself, or take minutes on purpose.
NOT_RUN_BY_THE_SUITE = {
    "make test": "runs this suite (CI: .ci/run)",
    "make test-postgres": "runs the suite's postgres tests",
    "make test-iam": "runs the suite's iam tests",
    "make bench": "the benchmarks: minutes of measurements, run on purpose (speed is never a timed test)",
}


def _claimed_prefixes() -> set[str]:
    """Every literal prefix a test passes to ``readme.command`` (how the tests take the README's commands)."""
    pattern = re.compile(r"readme\.command\(\s*(['\"])(.*?)(?<!\\)\1")
    found = set()
    for path in TESTS.rglob("*.py"):
        found |= {m.group(2).replace('\\"', '"') for m in pattern.finditer(path.read_text())}
    return found


def test_every_readme_command_is_run_by_a_test():
    claimed = _claimed_prefixes()
    unclaimed = [c for c in readme.commands()
                 if c not in NOT_RUN_BY_THE_SUITE and not any(c.startswith(prefix) for prefix in claimed)]
    assert unclaimed == [], (
        "README commands no test runs (take them with readme.command(prefix) in a test that runs them, or "
        f"remove them from the README): {unclaimed}")
    assert set(NOT_RUN_BY_THE_SUITE) <= set(readme.commands()), "an exemption for a command the README dropped"


def _venv_root(tmp_path: Path) -> Path:
    """A directory where ``.venv/bin/…`` resolves, as in the project root."""
    (tmp_path / ".venv").symlink_to(readme.REPO / ".venv", target_is_directory=True)
    return tmp_path


def test_the_emulator_command_serves_the_api(tmp_path):
    command = readme.command(".venv/bin/python -m spotify_assets.emulator --port").replace("--port 8765", "--port 0")
    proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=_venv_root(tmp_path), env=user_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        api_url = next(line.split("=", 1)[1].strip() for line in lines if "SPOTIFY_API_URL=" in line)
        summary = requests.get(api_url.rsplit("/v1/", 1)[0] + "/_admin/catalog", timeout=10).json()
        assert summary["mode"] == "extended" and summary["scale"] == "small"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_the_export_command_writes_the_demo_users_data_export(tmp_path):
    """The emulator's export command as the README shows it: a zip of the extended streaming history where
    it says, from a fresh folder (no ``data/`` yet)."""
    root = _venv_root(tmp_path)
    command = readme.command(".venv/bin/python -m spotify_assets.emulator export")
    done = subprocess.run(["bash", "-c", command], cwd=root, env=user_env(root), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    out = root / command.split("--out ", 1)[1].split()[0]
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    audio = [n for n in names if re.search(r"/Streaming_History_Audio_[\d-]+_\d+\.json$", n)]
    assert audio and any(n.endswith(".pdf") for n in names), names


def _login(tmp_path: Path, emulator, login: str) -> subprocess.CompletedProcess:
    """Run ``login`` (a login command of the README) against the emulator, its "browser" this test: it opens
    the URL the command prints (the emulator consents at once and redirects to the command's callback)."""
    env = user_env(tmp_path, SPOTIFY_ACCOUNTS_URL=emulator.accounts_url, BROWSER="true")  # no real browser
    export = readme.command("export SPOTIFY_CLIENT_ID=")
    script = f"{export.split('=', 1)[0]}={EMULATOR_CLIENT_ID}\n{login.replace('--port 8888', '--port 0')}"
    proc = subprocess.Popen(["bash", "-c", script], cwd=_venv_root(tmp_path), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err_lines: list[str] = []

    def follow_the_url():
        for line in proc.stderr:
            err_lines.append(line)
            if line.startswith(emulator.accounts_url):
                requests.get(line.strip(), timeout=10)

    reader = threading.Thread(target=follow_the_url, daemon=True)
    reader.start()
    try:
        out = proc.stdout.read()
        proc.wait(timeout=60)
    finally:
        proc.kill()
    reader.join(timeout=10)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(err_lines))


def test_the_login_prints_the_token_and_the_two_settings_to_store(tmp_path, emulator):
    done = _login(tmp_path, emulator, readme.command(".venv/bin/python -m spotify_assets.spotify login"))
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token and "\n" not in token  # alone on stdout, for a secret store
    assert "SPOTIFY_REFRESH_TOKEN = the line printed on stdout" in done.stderr
    assert re.search(r"SPOTIFY_REFRESH_TOKEN_ISSUED_AT=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", done.stderr), done.stderr
    assert token not in done.stderr  # the secret goes to stdout only
    answer = requests.post(emulator.accounts_url + "/api/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": token, "client_id": EMULATOR_CLIENT_ID})
    assert answer.status_code == 200, answer.text  # a token Spotify (here: the emulator) accepts


def test_the_login_command_of_the_running_text_and_its_module_alias(tmp_path, emulator):
    inline = readme.command("python -m spotify_assets.spotify login")  # "log in again (`…`)"
    done = _login(tmp_path, emulator, f".venv/bin/{inline} --port 8888")
    assert done.returncode == 0 and done.stdout.strip(), done.stderr
    # the module itself is no silent no-op any more: it is the same command
    alias = subprocess.run([str(readme.REPO / ".venv/bin/python"), "-m", "spotify_assets.spotify.login"],
                           env=user_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert alias.returncode == 2 and "--client-id or SPOTIFY_CLIENT_ID is required" in alias.stderr


@pytest.fixture
def published_s3_lake(crawled_raw, s3_bucket) -> str:
    """The crawled day, transformed and published in a lake on the moto S3 server."""
    raw_root, partition = crawled_raw
    lake = copy_raw(raw_root, f"s3://{s3_bucket}/lake")
    assert transform_day(lake, partition, "published").held_back is None
    return lake.root_uri


def test_the_query_command_runs_the_same_sql_on_athena(tmp_path, published_s3_lake, s3_bucket, aws_env):
    root = _venv_root(tmp_path)
    (root / "top_artists.sql").write_text(readme.blocks("sql")[0])
    command = readme.command("SPOTIFY_ASSETS_ENV=aws").replace("my-lake-bucket", s3_bucket)
    env = user_env(root, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL=aws_env)  # "AWS credentials as usual": the moto server's
    with athena_runs_on_duckdb(published_s3_lake, answer_selects=True) as statements:
        done = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "(10 rows, athena)" in done.stderr
    assert statements == [readme.blocks("sql")[0].strip()]  # the README's text, as Athena got it
    rows = done.stdout.splitlines()
    assert rows[0].split() == ["artist", "positions", "playlists"] and len(rows) == 11
