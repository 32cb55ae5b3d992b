"""Where the transformed step stages is configuration: SPOTIFY_TRANSFORM_COMPUTE and the function/job names
wire exactly one Pipes client resource, the asset requires it, and bad settings fail with a clear message."""

from __future__ import annotations

import contextlib
import re

import dagster as dg
import pytest
from dagster_aws.pipes import PipesGlueClient, PipesLambdaClient

from spotify_assets.defs.transformed.pipes import TransformCompute


def _definitions(monkeypatch, **env):
    for name in ("SPOTIFY_TRANSFORM_COMPUTE", "SPOTIFY_TRANSFORM_LAMBDA_FUNCTION", "SPOTIFY_TRANSFORM_GLUE_JOB"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    from spotify_assets.definitions import build_definitions

    return build_definitions()


def _transformed_requirements(defs: dg.Definitions) -> set[str]:
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey("tracks"))
    return set(node.assets_def.required_resource_keys) - {"io_manager"}  # the check outputs' default


def test_in_process_by_default_with_no_pipes_client(monkeypatch, tmp_path):
    defs = _definitions(monkeypatch, SPOTIFY_LAKE_URI=str(tmp_path / "lake"))
    assert not {"pipes_lambda_client", "pipes_glue_client"} & set(defs.resources)
    assert _transformed_requirements(defs) == {"lake", "lake_io_manager"}


@pytest.mark.parametrize(
    ("mode", "name_env", "key", "client_type"),
    [
        ("lambda", "SPOTIFY_TRANSFORM_LAMBDA_FUNCTION", "pipes_lambda_client", PipesLambdaClient),
        ("glue", "SPOTIFY_TRANSFORM_GLUE_JOB", "pipes_glue_client", PipesGlueClient),
    ],
)
def test_a_remote_mode_wires_its_client_and_the_asset_requires_it(monkeypatch, aws_env, mode, name_env, key, client_type):
    defs = _definitions(
        monkeypatch, SPOTIFY_LAKE_URI="s3://bucket/lake", SPOTIFY_TRANSFORM_COMPUTE=mode.upper(), **{name_env: "spotify-transform"}
    )
    assert isinstance(defs.resources[key], client_type)
    assert not ({"pipes_lambda_client", "pipes_glue_client"} - {key}) & set(defs.resources)
    assert _transformed_requirements(defs) == {"lake", "lake_io_manager", key}
    # its Pipes objects go under the lake's staging area, on the lake's bucket
    reader = defs.resources[key]._message_reader
    assert (reader.bucket, reader.key_prefix) == ("bucket", "lake/_staging/_pipes/")


@contextlib.contextmanager
def _load_fails_with(pattern: str):
    """Loading the definitions fails, and the chain of errors holds a ValueError saying ``pattern``."""
    with pytest.raises(Exception) as raised:
        yield
    error, chain = raised.value, []
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(e, ValueError) and re.search(pattern, str(e)) for e in chain), chain


def test_bad_settings_fail_with_a_clear_message(monkeypatch, tmp_path):
    with _load_fails_with("SPOTIFY_TRANSFORM_LAMBDA_FUNCTION"):
        _definitions(monkeypatch, SPOTIFY_TRANSFORM_COMPUTE="lambda", SPOTIFY_LAKE_URI="s3://bucket/lake")
    with pytest.raises(ValueError, match="SPOTIFY_TRANSFORM_GLUE_JOB"):
        TransformCompute("glue")
    with _load_fails_with("is not one of inprocess, lambda, glue"):
        _definitions(monkeypatch, SPOTIFY_TRANSFORM_COMPUTE="ecs")
    with _load_fails_with(r"only on an s3:// lake"):
        _definitions(
            monkeypatch, SPOTIFY_TRANSFORM_COMPUTE="lambda", SPOTIFY_TRANSFORM_LAMBDA_FUNCTION="f",
            SPOTIFY_LAKE_URI=str(tmp_path / "lake"),
        )
