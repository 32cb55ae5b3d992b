"""The deployment files agree with each other and inject every secret instead of containing it."""

from __future__ import annotations

import json
import re
import subprocess

import yaml
from dagster._config import process_config

from .helpers import DEPLOY, REPO

PG_ENV = {"DAGSTER_POSTGRES_HOST": "db", "DAGSTER_POSTGRES_PORT": "5432", "DAGSTER_POSTGRES_DB": "dagster",
          "DAGSTER_POSTGRES_USER": "dagster", "DAGSTER_POSTGRES_PASSWORD": "not-a-real-password"}
# A secret variable name ends with one of these (SPOTIFY_REFRESH_TOKEN_ISSUED_AT is a date, not a secret).
SECRET_WORDS = re.compile(r"(SECRET|TOKEN|PASSWORD|ACCESS_KEY)(?![A-Za-z_])", re.I)


def _yaml(path):
    return yaml.safe_load(path.read_text())


def test_production_instance_is_valid_and_fully_injected(monkeypatch):
    from dagster._core.instance.config import dagster_instance_config
    from dagster_aws.ecs import EcsRunLauncher

    for key, value in PG_ENV.items():
        monkeypatch.setenv(key, value)
    config, _ = dagster_instance_config(str(DEPLOY))
    assert config["run_launcher"]["class"] == "EcsRunLauncher"
    launcher = process_config(EcsRunLauncher.config_type(), config["run_launcher"]["config"])
    assert launcher.success, launcher.errors
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    assert config["run_monitoring"]["enabled"] and config["run_retries"]["enabled"]
    db = _yaml(DEPLOY / "dagster.yaml")["storage"]["postgres"]["postgres_db"]
    assert {k: v for k, v in db.items() if k != "scheme"} == {
        "hostname": {"env": "DAGSTER_POSTGRES_HOST"}, "port": {"env": "DAGSTER_POSTGRES_PORT"},
        "db_name": {"env": "DAGSTER_POSTGRES_DB"}, "username": {"env": "DAGSTER_POSTGRES_USER"},
        "password": {"env": "DAGSTER_POSTGRES_PASSWORD"},
    }


def test_compose_and_laptop_instances_follow_production():
    production, compose = _yaml(DEPLOY / "dagster.yaml"), _yaml(DEPLOY / "compose" / "dagster.yaml")
    local = _yaml(REPO / "dagster.local.yaml")
    differs = {k for k in production.keys() | compose.keys() if production.get(k) != compose.get(k)}
    assert differs == {"run_launcher", "compute_logs"}, differs
    assert compose["run_launcher"] == local["run_launcher"] == {
        "module": "spotify_assets.deploy.run_launcher", "class": "MonitoredRunLauncher"}
    for section in ("run_retries", "run_monitoring"):
        assert local[section] == production[section], section


def test_image_serves_the_code_location_and_bakes_in_no_secret():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    cmd = json.loads(next(line for line in dockerfile.splitlines() if line.startswith("CMD "))[4:])
    assert cmd[:3] == ["dagster", "api", "grpc"]
    assert cmd[cmd.index("-m") + 1] == "spotify_assets.definitions"
    workspace = _yaml(DEPLOY / "compose" / "workspace.yaml")["load_from"][0]["grpc_server"]
    assert cmd[cmd.index("--location-name") + 1] == workspace["location_name"]
    assert str(workspace["port"]) == cmd[cmd.index("-p") + 1]
    assert "-c requirements.lock" in dockerfile  # the versions the tests ran with
    for line in dockerfile.splitlines():
        if line.startswith(("ENV", "ARG")) or line.startswith("    ") and "=" in line:
            assert not SECRET_WORDS.search(line), line
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", "deploy/compose/pipeline.env", "data", ".venv"} <= set(ignored)


def test_compose_stack_injects_secrets_and_binds_loopback():
    compose = _yaml(DEPLOY / "compose" / "docker-compose.yaml")
    services = compose["services"]
    assert set(services) == {"postgres", "code", "webserver", "daemon"}
    assert "command" not in services["code"], "the code location runs the image's own command"
    assert services["code"]["env_file"] == "pipeline.env"
    for name in ("webserver", "daemon"):
        assert "env_file" not in services[name], f"{name} needs no Spotify or AWS secret"
        assert "/opt/dagster/workspace.yaml" in services[name]["command"]
    for name in ("code", "webserver", "daemon"):
        mounts = services[name]["volumes"]
        assert "./dagster.yaml:/opt/dagster/dagster_home/dagster.yaml:ro" in mounts, name
        for key, value in services[name]["environment"].items():
            if SECRET_WORDS.search(key):
                assert str(value).startswith("${"), f"{name}: {key} must be injected, not written"
    assert all(port.startswith("127.0.0.1:") for port in services["webserver"]["ports"])
    for example in ("pipeline.env.example", ".env.example"):
        for line in (DEPLOY / "compose" / example).read_text().splitlines():
            if line and not line.startswith("#") and SECRET_WORDS.search(line.split("=")[0]):
                assert line.split("=", 1)[1] == "", f"{example}: {line}"
    ignored = subprocess.run(["git", "check-ignore", "deploy/compose/.env", "deploy/compose/pipeline.env"],
                             cwd=REPO, capture_output=True, text=True).stdout.split()
    assert ignored == ["deploy/compose/.env", "deploy/compose/pipeline.env"]


def test_the_image_installs_the_postgres_storage():
    pins = (REPO / "requirements.lock").read_text().splitlines()
    assert "dagster-postgres==0.29.27" in pins and any(p.startswith("psycopg2-binary==") for p in pins)
    assert '"dagster-postgres==0.29.27"' in (REPO / "pyproject.toml").read_text()


def _render_template(path) -> dict:
    text = path.read_text()
    for name in set(re.findall(r"\$\{([A-Z_]+)\}", text)):
        text = text.replace("${" + name + "}", f"test-{name.lower()}")
    return json.loads(text)


def test_ecs_task_templates_inject_secrets_and_run_the_image():
    from dagster_aws.ecs.container_context import EcsContainerContext

    tasks = {p.stem: _render_template(p) for p in sorted((DEPLOY / "ecs").glob("task-*.json"))}
    assert set(tasks) == {"task-code-location", "task-webserver", "task-daemon"}
    for name, task in tasks.items():
        [container] = task["containerDefinitions"]
        for variable in container["environment"]:
            assert not SECRET_WORDS.search(variable["name"]), f"{name}: {variable['name']} must be an ECS secret"
        assert "DAGSTER_POSTGRES_PASSWORD" in {s["name"] for s in container["secrets"]}, name
    code = tasks["task-code-location"]["containerDefinitions"][0]
    assert "command" not in code, "the code location runs the image's CMD"
    env = {e["name"]: e["value"] for e in code["environment"]}
    assert {"SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN"} <= {s["name"] for s in code["secrets"]}
    context = EcsContainerContext.create_from_config(json.loads(env["DAGSTER_CONTAINER_CONTEXT"]))
    assert context.task_role_arn.endswith(":role/spotify-assets-pipeline")
    assert {s["name"] for s in context.secrets} == {"SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN"}
    assert not any(SECRET_WORDS.search(v.split("=")[0]) for v in context.env_vars)
    for name in ("task-webserver", "task-daemon"):
        assert "/opt/dagster/workspace.yaml" in tasks[name]["containerDefinitions"][0]["command"]
    workspace = _yaml(DEPLOY / "ecs" / "workspace.yaml")["load_from"][0]["grpc_server"]
    assert workspace["location_name"] == "spotify_assets" and workspace["port"] == 4000
    assert "COPY deploy/ecs/workspace.yaml /opt/dagster/workspace.yaml" in (DEPLOY / "Dockerfile").read_text()
