"""The whole code location loads, and its graph has the shape the UI and the docs describe."""

import dagster as dg

from spotify_assets.tables import ANALYTICS_QUERIES, TABLES


def test_definitions_load_with_every_layer_and_resource():
    from spotify_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    assert groups["raw"] == {f"raw_{s}" for s in ("playlists", "playlist_items", "tracks", "albums", "artists",
                                                  "top_tracks", "top_artists", "saved_tracks", "plays")}
    assert groups["transformed"] == set(TABLES)
    assert groups["catalog"] == {f"catalog_{t}" for t in TABLES}
    assert groups["analytics"] == set(ANALYTICS_QUERIES)  # one asset per declared query (the snapshot lists them)
    assert groups["insights"] == {"weekly_movers"}
    # lineage runs raw -> transformed -> catalog -> analytics
    assert dg.AssetKey("raw_tracks") in graph.get(dg.AssetKey("tracks")).parent_keys
    assert dg.AssetKey("tracks") in graph.get(dg.AssetKey("catalog_tracks")).parent_keys
    assert dg.AssetKey("catalog_tracks") in graph.get(dg.AssetKey("daily_top_tracks")).parent_keys
    assert {"spotify", "lake", "warehouse", "s3", "lake_io_manager"} <= set(defs.resources)
    assert "io_manager" not in defs.resources  # Dagster's default stays in place for other assets
    # every table a Python asset may name as a parameter loads through the lake IO manager
    for key in graph.get_all_asset_keys():
        if groups_of(graph, key) in ("transformed", "analytics"):
            assert graph.get(key).metadata["dagster/io_manager_key"] == "lake_io_manager", key
    assert groups["history"] == {"raw_streaming_history", "streams", "listens", "catalog_streams", "catalog_listens",
                                 "listening_report"}
    # the daily job is the whole daily graph, each stage once; the history is imported by its own job
    daily = defs.resolve_job_def("daily_job")
    history = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "history"}
    assert set(daily.asset_layer.executable_asset_keys) == set(graph.get_all_asset_keys()) - history
    assert set(defs.resolve_job_def("import_history_job").asset_layer.executable_asset_keys) == history
    assert dg.AssetKey("plays") in graph.get(dg.AssetKey("listens")).parent_keys


def groups_of(graph, key) -> str:
    return graph.get(key).group_name


def test_every_asset_documents_itself_for_the_ui():
    from spotify_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description and len(node.description) > 30, key
        assert node.kinds, key
    for table in [*TABLES, "streams", "listens"]:
        metadata = graph.get(dg.AssetKey(table)).metadata
        assert metadata["dagster/column_schema"].columns, table


def test_transformed_tables_have_blocking_checks():
    from spotify_assets.definitions import defs

    checks = {k for k in defs.resolve_asset_graph().asset_check_keys}
    blocking = {
        (spec.asset_key.to_user_string(), spec.name)
        for assets_def in defs.resolve_asset_graph().assets_defs
        for spec in assets_def.check_specs
        if spec.blocking
    }
    for table in TABLES:
        assert (table, "keys_unique_and_not_null") in blocking
        assert (table, "not_empty") in blocking
    assert ("tracks", "references_exist") in blocking
    assert ("albums", "values_in_range") in blocking
    assert len(checks) >= 3 * len(TABLES)


def test_the_code_location_loads_from_an_installed_package_without_the_project_files(tmp_path):
    """As in the image (deploy/Dockerfile: ``pip install .``, run from another directory): no pyproject.toml
    above the package, yet the defs folder loads."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import spotify_assets

    site = tmp_path / "site-packages"
    shutil.copytree(Path(spotify_assets.__file__).parent, site / "spotify_assets",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPOTIFY_", "DAGSTER_"))}
    loaded = subprocess.run(
        [sys.executable, "-c", "import spotify_assets.definitions as d; print(d.__file__); "
         "print(len(d.defs.resolve_asset_graph().get_all_asset_keys()))"],
        cwd=tmp_path, env={**env, "PYTHONPATH": str(site)}, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    path, count = loaded.stdout.split()
    assert path.startswith(str(site)) and int(count) >= 41
