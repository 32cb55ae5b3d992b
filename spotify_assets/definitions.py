"""The ``spotify_assets`` code location: everything under :mod:`spotify_assets.defs`, loaded by ``dg``.

raw (Spotify API → raw JSON) → transformed (audited, published Parquet tables; staged in process, in AWS
Lambda or in an AWS Glue job) → catalog (Glue or DuckDB views) → analytics (SQL), and insights (Python
assets reading the tables through the lake IO manager). What runs when: :mod:`spotify_assets.defs.automation.conditions`.

Your own assets: ``dg.Definitions.merge(defs, dg.Definitions(assets=[my_asset]))`` — a parameter named
after a table (``tracks: pd.DataFrame``, ``playlist_items: pa.Table``) loads its published rows.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg


def build_definitions() -> dg.Definitions:
    """The code location for the environment as it is now (the settings are read at each call)."""
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


defs = build_definitions()
