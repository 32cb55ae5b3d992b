"""A real ``dg dev`` / ``dagster dev`` for the browser tests (temp DAGSTER_HOME, temp lake, loopback port, killed after)
and a page of headless Debian Chromium to drive it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from spotify_assets_tests.processes import stop_group

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Telemetry off; the "join the community" modal off on the server side (instance setting ``nux``) and in
# the browser (the UI's localStorage key ``communityNux``, pre-set below).
DAGSTER_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
NO_NUX_SCRIPT = "try { window.localStorage.setItem('communityNux', JSON.stringify('1')); } catch (e) {}"
STARTUP_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DagsterUI:
    def __init__(self, url: str, proc: subprocess.Popen, log_path: Path, home: Path, lake: Path):
        self.url, self.proc, self.log_path, self.home, self.lake = url, proc, log_path, home, lake

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "<no log>"

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.load(response)
        assert "errors" not in payload, f"GraphQL errors: {payload['errors']}"
        return payload["data"]


@contextlib.contextmanager
def running_dagster_dev(base: Path, command: list[str], log_name: str = "dagster-dev.log") -> Iterator[DagsterUI]:
    """``command`` (``["dg", "dev"]``: the project as ``make dev`` serves it; ``["dagster", "dev", "-f", …]``)
    run from the repository on a free loopback port with DAGSTER_HOME, lake and DuckDB file under ``base``,
    serving once its code location loaded; the whole process group is stopped afterwards."""
    home, lake = base / "dagster_home", base / "lake"
    home.mkdir(exist_ok=True)
    lake.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "AWS_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        SPOTIFY_LAKE_URI=str(lake),
        SPOTIFY_DUCKDB_PATH=str(base / "spotify.duckdb"),
        SPOTIFY_ASSETS_ENV="local",
        PYTHONUNBUFFERED="1",
        NO_PROXY="127.0.0.1,localhost",
    )
    log_path = base / log_name
    executable = str(Path(sys.executable).with_name(command[0]))  # the venv's dg / dagster
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [executable, *command[1:], "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole below
        )
    ui = DagsterUI(f"http://127.0.0.1:{port}", proc, log_path, home, lake)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{command[0]} dev exited with {proc.returncode}:\n{ui.log_tail()}")
            try:
                with urllib.request.urlopen(f"{ui.url}/server_info", timeout=5) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"{command[0]} dev not serving /server_info after {STARTUP_TIMEOUT_S}s:\n{ui.log_tail()}"
                )
            time.sleep(0.5)
        # The code location loads asynchronously: wait until its repository answers.
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            data = ui.graphql(
                "{ repositoriesOrError { __typename ... on RepositoryConnection { nodes { name } } } }"
            )
            if data["repositoriesOrError"].get("nodes"):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"code location did not load:\n{data}\n{ui.log_tail()}")
            time.sleep(1)
        yield ui
    finally:
        stop_group(proc, signal.SIGTERM, 10)
        shutil.copy(log_path, ARTIFACTS / log_name) if ARTIFACTS.exists() else None


def require_chromium() -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed (make browser-deps)")


@contextlib.contextmanager
def chromium_page() -> Iterator:
    """A page of headless Debian Chromium (1600 x 1000), the UI's "join the community" modal pre-dismissed."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1600, "height": 1000}, timezone_id="UTC")
        context.add_init_script(NO_NUX_SCRIPT)
        context.set_default_timeout(30_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
