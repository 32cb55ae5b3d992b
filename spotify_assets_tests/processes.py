"""The tests' child processes, each in its own process group: stopping one (and what it started), and killing
one at a point it reports (how tests stand in for a crash)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def kill_at_point(code: str, args: list[str], ready: Path, what: str, *, timeout: float = 180,
                  grace: float = 0.0) -> None:
    """Run ``python -c code *args`` in its own process group; when the file ``ready`` appears (the child writes it
    at the point to die at), wait ``grace`` seconds and SIGKILL the group. Fails naming ``what`` when the child
    ends first (with its output) or never gets there."""
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if proc.poll() is not None:
                pytest.fail(f"the {what} subprocess ended before the kill point:\n{proc.stdout.read().decode()}")
            assert time.monotonic() < deadline, f"the {what} subprocess never reached the kill point"
            time.sleep(0.05)
        time.sleep(grace)
        os.killpg(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        proc.stdout.close()


def stop_group(proc: subprocess.Popen, first: int = signal.SIGTERM, wait: float = 15.0) -> None:
    """Stop ``proc``'s process group: ``first`` (SIGINT is a user's Ctrl-C), up to ``wait`` seconds, then SIGKILL;
    then SIGKILL whatever of the group outlived its leader (run workers, code servers)."""
    for sig, timeout in ((first, wait), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=timeout)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
