"""The ``spotify_assets`` code location: everything under :mod:`spotify_assets.defs`, loaded by ``dg``.

raw (Spotify API → raw JSON) → transformed (audited, published Parquet tables; staged in process, in AWS
Lambda or in an AWS Glue job) → catalog (Glue or DuckDB views) → analytics (SQL), and insights (Python
assets reading the tables through the lake IO manager). What runs when: :mod:`spotify_assets.defs.automation`
(``schedules``, ``conditions``).

Your own assets: ``dg.Definitions.merge(definitions.defs, dg.Definitions(assets=[my_asset]))`` in a module of
your own — a parameter named after a table (``tracks: pd.DataFrame``, ``playlist_items: pa.Table``) loads its
published rows — or a module in the ``defs/`` folder (``dg scaffold defs dagster.asset insights/<name>.py``).
"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import dagster as dg

from . import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build_definitions() -> dg.Definitions:
    """The code location for the environment's settings, every one validated first: a bad value fails the
    load with a :class:`~spotify_assets.settings.ConfigurationError` naming the variable.

    What is read at each call and what once per process (the asset definitions' partitions, freshness,
    conditions and check thresholds are fixed when ``spotify_assets.defs`` is first imported; resources and
    schedules are built again at each call) is in :mod:`spotify_assets.settings`. Dagster loads a code
    location once per process: after changing a setting, reload the location.

    What ``dg.load_from_defs_folder`` does, without its need of ``pyproject.toml``: the package is found by
    import, so it also loads where it is installed without the project's files (``pip install .`` in the
    image of ``deploy/Dockerfile``), and the tree is not bound to the location name configured there —
    these definitions are also loaded under other names (a user's ``my_assets.py`` merging them is the
    location ``my_assets``), where Dagster would warn, once per module of ``defs/``, that the names differ.
    The name only matters for components managed in the UI, which the project has none of.
    """
    settings.load()  # all of them, so a bad one is named before any module of defs/ trips over it
    defs_module = importlib.import_module("spotify_assets.defs")
    with warnings.catch_warnings():
        # as load_from_defs_folder does: Dagster's notes on its own preview and beta APIs are not a user's to decode
        for category in (dg.PreviewWarning, dg.BetaWarning, dg.SupersessionWarning, DeprecationWarning):
            warnings.simplefilter("ignore", category)
        return dg.ComponentTree.from_module(defs_module=defs_module, project_root=PROJECT_ROOT).build_defs()


defs = build_definitions()
