"""``python -m spotify_assets.settings``: print the configuration table the README shows."""

from __future__ import annotations

from .table import markdown

if __name__ == "__main__":
    print(markdown())
