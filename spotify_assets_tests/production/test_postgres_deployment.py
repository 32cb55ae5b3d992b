"""The deployment, tested outside a container: the production ``deploy/dagster.yaml`` on a real PostgreSQL
(127.0.0.1, temporary), the code location served by the image's own command (``dagster api grpc``), a
``dagster-daemon``, and ``daily_job`` for today's partition against the emulator. Runs, events, asset
materializations and check results must be in PostgreSQL, and the sensors' state must survive a
restart of the instance.

The only changes to the production file are the ones a machine without ECS needs: the compose stack's run
launcher (runs as subprocesses of the code server), compute logs in the temporary home, and short polling
intervals.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from dagster._core.scheduler.instigation import InstigatorStatus

from spotify_assets.defs.partitions import today_utc
from spotify_assets.defs.raw.landing_sensor import RawSensorCursor
from spotify_assets.emulator import EMULATOR_REFRESH_TOKEN
from spotify_assets.tables import TABLES
from spotify_assets_tests.emulation import start_test_emulator

from .helpers import DEPLOY
from .postgres import LocalPostgres
from .stack import (
    base_env,
    event_messages,
    free_port,
    launch,
    start_code_server,
    start_daemon,
    wait_for,
    write_workspace,
)

pytestmark = pytest.mark.postgres

LOCATION = "spotify_assets"
SENSOR_CURSOR = RawSensorCursor(high_water=1.0).to_json()


def image_command(port: int) -> list[str]:
    """The Dockerfile's CMD, bound to loopback and a free port instead of 0.0.0.0:4000."""
    cmd_line = next(line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    args = json.loads(cmd_line[4:])
    assert args[:3] == ["dagster", "api", "grpc"], args
    return [("127.0.0.1" if a == "0.0.0.0" else str(port) if a == "4000" else a) for a in args[1:]]


def instance_yaml(home) -> dict:
    production = yaml.safe_load((DEPLOY / "dagster.yaml").read_text())
    compose = yaml.safe_load((DEPLOY / "compose" / "dagster.yaml").read_text())
    config = dict(production)
    config["run_launcher"] = compose["run_launcher"]
    config["compute_logs"] = {"module": "dagster.core.storage.local_compute_log_manager",
                              "class": "LocalComputeLogManager", "config": {"base_dir": str(home / "storage")}}
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1
    config["run_monitoring"]["poll_interval_seconds"] = 1
    return config


def _cli(command, args: list[str], env: dict[str, str]) -> str:
    result = CliRunner().invoke(command, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    base = tmp_path_factory.mktemp("deploy")
    home, logs, lake = base / "home", base / "logs", base / "lake"
    for d in (home, logs, lake):
        d.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(instance_yaml(home)))
    emulator = start_test_emulator(mode="extended", today=None)  # clock: today
    pg = LocalPostgres().start()
    services = []
    instance = None
    try:
        env = base_env(home, {
            **pg.env,
            "SPOTIFY_ASSETS_ENV": "local",
            "SPOTIFY_LAKE_URI": str(lake),
            "SPOTIFY_DUCKDB_PATH": str(base / "spotify.duckdb"),
            "SPOTIFY_API_URL": emulator.api_url,
            "SPOTIFY_ACCOUNTS_URL": emulator.accounts_url,
            "SPOTIFY_CLIENT_ID": "deploy-test-client",
            "SPOTIFY_CLIENT_SECRET": "deploy-test-secret",
            "SPOTIFY_REFRESH_TOKEN": EMULATOR_REFRESH_TOKEN,
            "SPOTIFY_REFRESH_TOKEN_ISSUED_AT": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "SPOTIFY_RAW_SENSOR_INTERVAL_S": "3600",  # one tick when started, none during the run
        })
        with pytest.MonkeyPatch.context() as mp:
            for key, value in pg.env.items():  # this process's instance reads the same {env: ...} values
                mp.setenv(key, value)
            instance = dg.DagsterInstance.from_config(str(home))
            port = free_port()
            services.append(start_code_server(logs, env, image_command(port), port))
            workspace = write_workspace(base / "workspace.yaml", port, LOCATION)
            services.append(start_daemon(logs, env, workspace, instance))
            yield {"instance": instance, "pg": pg, "env": env, "home": home, "workspace": workspace,
                   "services": services}
    finally:
        for service in reversed(services):
            service.stop()
        if instance is not None:
            instance.dispose()
        pg.stop()
        emulator.stop()


def _diagnostics(deployment, run_id: str | None = None) -> str:
    lines = event_messages(deployment["instance"], run_id)[-40:] if run_id else []
    return "\n".join(lines + [s.log_tail(4000) for s in deployment["services"]])


def _instigators(instance) -> dict[str, object]:
    return {state.instigator_name: state for state in instance.all_instigator_state()}


def test_daily_job_runs_on_postgres_and_state_survives_a_restart(deployment):
    from dagster._cli.sensor import sensor_cursor_command, sensor_start_command

    instance, pg, env, workspace = deployment["instance"], deployment["pg"], deployment["env"], deployment["workspace"]
    # Automation state, set the way an operator does (the UI toggles call the same storage).
    _cli(sensor_start_command, ["raw_landing_sensor", "-w", str(workspace)], env)
    _cli(sensor_cursor_command, ["raw_landing_sensor", "--set", SENSOR_CURSOR, "-w", str(workspace)], env)

    today = today_utc()
    run = launch(instance, workspace, "daily_job", tags={"dagster/partition": today})
    assert instance.get_run_by_id(run.run_id).status in (dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED,
                                                         dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED)
    finished = wait_for(lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r, 300,
                        f"daily_job {run.run_id} to finish", interval=1,
                        on_timeout=lambda: _diagnostics(deployment, run.run_id))
    assert finished.status == dg.DagsterRunStatus.SUCCESS, _diagnostics(deployment, run.run_id)

    # Everything is in PostgreSQL (read with SQL, not through Dagster).
    [(status, partition)] = pg.query(
        "SELECT status, partition FROM runs WHERE run_id = %s", (run.run_id,))
    assert (status, partition) == ("SUCCESS", today)
    materialized = {row[0] for row in pg.query(
        "SELECT asset_key FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        (run.run_id,))}
    expected = {"raw_playlists", "raw_tracks", "raw_plays", *TABLES, *(f"catalog_{t}" for t in TABLES),
                "daily_top_tracks", "artist_trend", "genre_share", "playlist_churn", "listening_by_hour",
                "top_artists_by_plays", "discoveries"}
    assert {json.dumps([key]) for key in expected} <= materialized
    [(events,)] = pg.query("SELECT count(*) FROM event_logs WHERE run_id = %s", (run.run_id,))
    assert events > 100
    checks = pg.query("SELECT asset_key, check_name, execution_status FROM asset_check_executions WHERE run_id = %s",
                      (run.run_id,))
    assert (json.dumps(["tracks"]), "keys_unique_and_not_null", "SUCCEEDED") in checks
    assert (json.dumps(["raw_playlists"]), "spotify_refresh_token_expiry", "SUCCEEDED") in checks
    assert [c for c in checks if c[2] != "SUCCEEDED"] == [], checks
    assert len(checks) >= 3 * len(TABLES)
    # No secret of the run reached the event log.
    for secret in (env["SPOTIFY_CLIENT_SECRET"], env["SPOTIFY_REFRESH_TOKEN"], env["DAGSTER_POSTGRES_PASSWORD"]):
        [(leaks,)] = pg.query("SELECT count(*) FROM event_logs WHERE event LIKE %s", (f"%{secret}%",))
        assert leaks == 0

    # The automation sensor (the daily crawl's cron and everything downstream), started once the run is done
    # so that its first ticks find nothing new to request.
    _cli(sensor_start_command, ["automation_sensor", "-w", str(workspace)], env)
    before = _instigators(instance)
    assert before["automation_sensor"].status == InstigatorStatus.RUNNING
    sensor_state = before["raw_landing_sensor"]
    assert sensor_state.status == InstigatorStatus.RUNNING
    assert sensor_state.instigator_data.cursor == SENSOR_CURSOR
    sensor_ticks = instance.get_ticks(sensor_state.instigator_origin_id, sensor_state.selector_id)
    assert sensor_ticks, "the daemon ticked the started sensor"

    # Restart: every process stopped, the local home emptied but for dagster.yaml, a new instance.
    for service in reversed(deployment["services"]):
        service.stop()
    instance.dispose()
    for child in deployment["home"].iterdir():
        if child.name != "dagster.yaml":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    restarted = dg.DagsterInstance.from_config(str(deployment["home"]))
    try:
        after = _instigators(restarted)
        assert after["automation_sensor"].status == InstigatorStatus.RUNNING
        assert after["raw_landing_sensor"].status == InstigatorStatus.RUNNING
        assert after["raw_landing_sensor"].instigator_data.cursor == SENSOR_CURSOR
        assert len(restarted.get_ticks(sensor_state.instigator_origin_id, sensor_state.selector_id)) == len(sensor_ticks)
        assert restarted.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.SUCCESS
        latest = restarted.get_latest_materialization_event(dg.AssetKey("tracks"))
        assert latest is not None and latest.run_id == run.run_id
        assert restarted.get_run_by_id(run.run_id).tags["dagster/partition"] == today
    finally:
        restarted.dispose()
