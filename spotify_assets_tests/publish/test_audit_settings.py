"""The audit's thresholds come from SPOTIFY_CHECK_* variables; a value that is not a share fails at once,
naming the variable (the checks' descriptions show the values in force)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_SHOW = ("from spotify_assets.publish import audit; "
         "print(audit.ROW_COUNT_MAX_CHANGE, audit.QUARANTINE_HOLD_SHARE, audit.RAW_LOSS_HOLD_SHARE); "
         "print(audit.CHECKS_BY_NAME['raw_data_loss_within_limit'].describe('tracks'))")


def _audit_module(**env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _SHOW], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


def test_thresholds_are_read_from_the_environment():
    out = _audit_module(SPOTIFY_CHECK_ROW_COUNT_MAX_CHANGE="0.4", SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE="0.1",
                        SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE="0.02")
    assert out.returncode == 0, out.stderr
    values, description = out.stdout.splitlines()
    assert values == "0.4 0.1 0.02"
    assert "SPOTIFY_CHECK_RAW_LOSS_HOLD_SHARE (now 2%)" in description


@pytest.mark.parametrize("value", ["five percent", "-0.1"])
def test_a_threshold_that_is_not_a_share_names_the_variable(value):
    out = _audit_module(SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE=value)
    assert out.returncode != 0
    assert f"SPOTIFY_CHECK_QUARANTINE_HOLD_SHARE={value!r}" in out.stderr
