"""The crawl package's modules depend one way: each imports only modules listed before it in the package
docstring (so a newcomer can read them top to bottom, and no cycle can creep in)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import spotify_assets.spotify.crawl as crawl

PACKAGE = Path(crawl.__file__).parent


def _listed_order() -> list[str]:
    return re.findall(r"^\* :mod:`\.(\w+)`", crawl.__doc__, flags=re.MULTILINE)


def _siblings_imported(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    return {node.module.split(".")[0] for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module}


def test_every_module_is_listed_in_the_package_docstring():
    assert sorted(_listed_order()) == sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")


def test_each_module_imports_only_modules_listed_before_it():
    order = _listed_order()
    for i, module in enumerate(order):
        later = _siblings_imported(module) - set(order[:i])
        assert not later, f"crawl/{module}.py imports {sorted(later)}, listed after it (or not at all)"


def test_no_module_of_the_crawl_is_one_to_fear():
    sizes = {p.name: len(p.read_text().splitlines()) for p in PACKAGE.glob("*.py")}
    assert max(sizes.values()) <= 400, sizes
