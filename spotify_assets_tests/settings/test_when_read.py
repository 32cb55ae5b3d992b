"""When the settings are read, as spotify_assets.settings documents it: resources and schedules at each
``build_definitions()``; what the asset definitions hold (here the freshness deadline) once per process;
everything again in a new process — what reloading a code location starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import pytest

from spotify_assets.definitions import build_definitions
from spotify_assets.defs.automation.schedules import CRAWL_SCHEDULE_NAME
from spotify_assets.settings import ConfigurationError

_SHOW = """
import json
import dagster as dg
from spotify_assets.definitions import defs
repo = defs.get_repository_def()
print(json.dumps({"cron": repo.get_schedule_def("daily_crawl_schedule").cron_schedule,
                  "deadline": repo.asset_graph.get(dg.AssetKey("tracks")).freshness_policy.deadline_cron}))
"""


def _shape(defs: dg.Definitions) -> dict[str, str]:
    repo = defs.get_repository_def()
    return {"cron": repo.get_schedule_def(CRAWL_SCHEDULE_NAME).cron_schedule,
            "deadline": repo.asset_graph.get(dg.AssetKey("tracks")).freshness_policy.deadline_cron}


@pytest.fixture
def local_env(tmp_path, monkeypatch):
    for name in [n for n in os.environ if n.startswith("SPOTIFY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SPOTIFY_LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("SPOTIFY_DUCKDB_PATH", str(tmp_path / "spotify.duckdb"))
    return monkeypatch


def test_a_second_build_in_the_same_process_rereads_the_schedules_not_the_assets(local_env):
    before = _shape(build_definitions())
    local_env.setenv("SPOTIFY_SCHEDULE_CRON", "0 7 * * *")
    local_env.setenv("SPOTIFY_FRESHNESS_DEADLINE_CRON", "0 11 * * *")
    after = _shape(build_definitions())
    assert after["cron"] == "0 7 * * *"  # the schedules are built at each call
    assert after["deadline"] == before["deadline"] != "0 11 * * *"  # fixed when defs/ was first imported


def test_a_new_process_as_a_reload_starts_reads_every_setting_again(local_env):
    env = {**os.environ, "SPOTIFY_SCHEDULE_CRON": "0 7 * * *", "SPOTIFY_FRESHNESS_DEADLINE_CRON": "0 11 * * *"}
    done = subprocess.run([sys.executable, "-c", _SHOW], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"cron": "0 7 * * *", "deadline": "0 11 * * *"}


def test_a_bad_setting_fails_the_load_naming_it(local_env):
    local_env.setenv("SPOTIFY_SCHEDULE_CRON", "0 6 * *")
    with pytest.raises(ConfigurationError, match=r"^SPOTIFY_SCHEDULE_CRON='0 6 \* \*' is not a cron expression"):
        build_definitions()


@pytest.mark.slow  # starts the code location's gRPC server twice, as the UI's Reload does (~30-50 s)
def test_reloading_the_code_location_reads_a_changed_schedule_cron(local_env):
    # Dagster's own workspace machinery (what the webserver runs); not public API, which has no reload
    from dagster._core.workspace.context import WorkspaceProcessContext
    from dagster._core.workspace.load_target import ModuleTarget

    target = ModuleTarget(module_name="spotify_assets.definitions", attribute="defs",
                          working_directory=os.getcwd(), location_name="spotify_assets")
    with dg.instance_for_test() as instance, WorkspaceProcessContext(instance, target) as workspace:
        def crawl_cron() -> str:
            location = workspace.create_request_context().get_code_location("spotify_assets")
            (repository,) = location.get_repositories().values()
            return repository.get_schedule(CRAWL_SCHEDULE_NAME).cron_schedule

        assert crawl_cron() == "0 6 * * *"
        local_env.setenv("SPOTIFY_SCHEDULE_CRON", "0 7 * * *")
        assert crawl_cron() == "0 6 * * *"  # the running code server keeps what it loaded
        workspace.reload_code_location("spotify_assets")
        assert crawl_cron() == "0 7 * * *"
