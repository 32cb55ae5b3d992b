"""What spotify_assets/deploy/run_launcher.py relies on in Dagster's private modules, pinned.

The launcher uses names Dagster does not export (see its module docstring for why). Each test names one of
them; an upgrade that moves, renames or reshapes one fails here with what changed, instead of the daemon's
run monitoring silently stopping to notice dead runs.
"""

from __future__ import annotations

import importlib
import inspect

import pytest

PINNED_NAMES = [
    ("dagster._core.launcher", "DefaultRunLauncher"),
    ("dagster._core.launcher", "CheckRunHealthResult"),
    ("dagster._core.launcher", "WorkerStatus"),
    ("dagster._core.storage.tags", "GRPC_INFO_TAG"),
    ("dagster._core.events", "DagsterEventType"),
    ("dagster._grpc.client", "DagsterGrpcClient"),
    ("dagster._grpc.types", "CanCancelExecutionRequest"),
    ("dagster._grpc.types", "CanCancelExecutionResult"),
    ("dagster._core.storage.runs.in_memory", "InMemoryRunStorage"),
    ("dagster._core.storage.runs.sqlite.sqlite_run_storage", "SqliteRunStorage"),
    ("dagster_shared.serdes", "deserialize_value"),
]


def _get(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        pytest.fail(f"Dagster changed: {module}.{name}, which deploy/run_launcher.py imports, is gone ({error})")


@pytest.mark.parametrize(("module", "name"), PINNED_NAMES, ids=[f"{m}.{n}" for m, n in PINNED_NAMES])
def test_every_private_name_the_launcher_imports_exists(module, name):
    _get(module, name)


def _parameters(func) -> list[str]:
    return list(inspect.signature(func).parameters)


def test_the_run_launcher_health_interface():
    launcher = _get("dagster._core.launcher", "DefaultRunLauncher")
    result = _get("dagster._core.launcher", "CheckRunHealthResult")
    status = _get("dagster._core.launcher", "WorkerStatus")
    assert isinstance(inspect.getattr_static(launcher, "supports_check_run_worker_health"), property), (
        "Dagster changed: RunLauncher.supports_check_run_worker_health is no longer a property")
    assert _parameters(launcher.check_run_worker_health) == ["self", "run"], (
        f"Dagster changed: RunLauncher.check_run_worker_health{inspect.signature(launcher.check_run_worker_health)}")
    assert isinstance(inspect.getattr_static(launcher, "_instance"), property), (
        "Dagster changed: a launcher no longer reaches its instance as self._instance")
    assert _parameters(result)[:2] == ["status", "msg"], f"Dagster changed: CheckRunHealthResult{inspect.signature(result)}"
    assert {"RUNNING", "FAILED"} <= {member.name for member in status}, (
        f"Dagster changed: WorkerStatus is {[m.name for m in status]}")
    built = result(status.FAILED, "why")
    assert (built.status, built.msg) == (status.FAILED, "why")


def test_the_tag_the_default_launcher_writes():
    assert _get("dagster._core.storage.tags", "GRPC_INFO_TAG") == ".dagster/grpc_info", (
        "Dagster changed: the code server's address is no longer in the run tag .dagster/grpc_info")


def test_asking_a_code_server_whether_it_still_runs_a_run():
    client = _get("dagster._grpc.client", "DagsterGrpcClient")
    request = _get("dagster._grpc.types", "CanCancelExecutionRequest")
    result = _get("dagster._grpc.types", "CanCancelExecutionResult")
    deserialize_value = _get("dagster_shared.serdes", "deserialize_value")
    from dagster_shared.serdes import serialize_value

    assert {"port", "socket", "host", "use_ssl"} <= set(_parameters(client)), (
        f"Dagster changed: DagsterGrpcClient{inspect.signature(client)}")
    assert _parameters(client.can_cancel_execution)[:3] == ["self", "can_cancel_execution_request", "timeout"], (
        f"Dagster changed: DagsterGrpcClient.can_cancel_execution{inspect.signature(client.can_cancel_execution)}")
    assert request(run_id="r1").run_id == "r1"
    answer = deserialize_value(serialize_value(result(can_cancel=False)), result)
    assert answer.can_cancel is False


def test_reading_the_pid_of_a_run_from_its_engine_events():
    import dagster as dg

    event_type = _get("dagster._core.events", "DagsterEventType")
    assert event_type.ENGINE_EVENT.value == "ENGINE_EVENT"
    assert {"run_id", "of_type", "limit"} <= set(_parameters(dg.DagsterInstance.get_records_for_run)), (
        f"Dagster changed: DagsterInstance.get_records_for_run{inspect.signature(dg.DagsterInstance.get_records_for_run)}")
    with dg.DagsterInstance.ephemeral() as instance:
        run_storage = _get("dagster._core.storage.runs.in_memory", "InMemoryRunStorage")
        assert isinstance(instance.run_storage, run_storage), type(instance.run_storage)

        @dg.op
        def noop():
            return 1

        result = dg.GraphDefinition("g", node_defs=[noop]).to_job().execute_in_process(instance=instance)
        from spotify_assets.deploy.run_launcher import run_process

        found = run_process(instance, result.run_id)
        assert found is not None, "Dagster changed: no engine event with a pid among the run's first events"
        import os

        assert found[0] == os.getpid()
