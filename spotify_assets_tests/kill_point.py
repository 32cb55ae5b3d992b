"""Kill a Python child with SIGKILL once it says it reached a point: how tests stand in for a crash."""

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
