"""A project root like a user's checkout, in a temporary directory, where tests run the README's commands
as written: ``make demo`` there writes ``./data``, ``my_assets.py`` is saved there, and ``dg scaffold``
writes into the copy's ``spotify_assets/defs`` — never into the repository.

The sources are copied (modification times kept, so ``make`` finds the repository's ``.venv`` up to date
and never reinstalls it); ``.venv`` is a link to the repository's. Python run from the root imports the
copy (the working directory comes first on ``sys.path``), as a user's would import their checkout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from spotify_assets_tests.processes import stop_group

from .readme import REPO

COPIED_FILES = ("Makefile", "pyproject.toml", "setup.py", "requirements.lock", "dagster.local.yaml", "README.md")
BUILD_INPUTS = ("pyproject.toml", "setup.py", "requirements.lock")  # what make's install stamp depends on
STAMP = REPO / ".venv" / ".installed-stamp"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_project_root(root: Path) -> Path:
    """``root`` holding a copy of the project and a link to the repository's ``.venv``."""
    stale = [name for name in BUILD_INPUTS if (REPO / name).stat().st_mtime > STAMP.stat().st_mtime]
    assert STAMP.exists() and not stale, f"run `make install` first (changed since: {stale})"
    root.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "spotify_assets", root / "spotify_assets",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"), copy_function=shutil.copy2)
    (root / ".venv").symlink_to(REPO / ".venv", target_is_directory=True)
    return root


def user_env(root: Path, **extra: str) -> dict[str, str]:
    """A shell's environment at ``root``: none of the project's, Dagster's or AWS settings inherited.

    Nor ``make``'s: under ``make test`` the suite inherits MAKELEVEL and MAKEFLAGS, and a ``make`` the
    README shows would then run as a sub-make (printing "Entering directory"), unlike a user's terminal.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SPOTIFY_", "AWS_", "DAGSTER_"))
           and k not in ("VIRTUAL_ENV", "PYTHONPATH", "MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")}
    env.update(PWD=str(root), PYTHONUNBUFFERED="1", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.update(extra)
    return env


def run(command: str, root: Path, *, timeout: float = 300, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``command`` run by bash in ``root``, as typed; output captured (text)."""
    return subprocess.run(["bash", "-c", command], cwd=root, env=env or user_env(root), input=stdin,
                          capture_output=True, text=True, timeout=timeout)


class Server:
    """A long-running command (``make dev``, ``dg dev``) in its own process group, its output in a file."""

    def __init__(self, command: str, root: Path, log: Path, env: dict[str, str] | None = None):
        self.log = log
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(["bash", "-c", command], cwd=root, env=env or user_env(root),
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, ready, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{what}: the command exited with {self.proc.returncode}\n{self.output()[-4000:]}")
            try:
                value = ready()
            except Exception:  # not serving yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}\n{self.output()[-4000:]}")
            time.sleep(1)

    def stop(self) -> None:
        """Ctrl-C, as a user stops it (then SIGKILL for what is left of the group)."""
        try:
            stop_group(self.proc, signal.SIGINT, 30)
        finally:
            self._out.close()
