"""Dependencies point one way: no import cycle in spotify_assets/, and the layers keep to their side.

Read from the source (``ast``), not by importing: every ``import`` and ``from … import`` of a module, at
module level and inside functions (an import in a function is a dependency too, only a later one), except in
``if __name__ == "__main__":`` and ``if TYPE_CHECKING:`` blocks. ``from package import name`` counts as an
import of ``package.name`` when that is a module, else of ``package`` itself.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "spotify_assets"
ROOT = PACKAGE.parent

# Cycles that exist and are scheduled for removal; the test below fails once one is gone, so the list
# cannot outlive them. None today.
KNOWN_CYCLES: list[set[str]] = []

# Where Dagster may be imported: the Dagster code, and the resource classes that adapt a library.
DAGSTER_ALLOWED = (
    "spotify_assets.defs",
    "spotify_assets.definitions",
    "spotify_assets.commands",
    "spotify_assets.deploy",
    "spotify_assets.lake.resource",
    "spotify_assets.lake.io_manager",
    "spotify_assets.spotify.resource",
    "spotify_assets.emulator.resource",
    "spotify_assets.warehouse.resources",
)
DAGSTER_PACKAGES = ("dagster", "dagster_aws", "dagster_shared", "dagster_graphql", "dagster_webserver")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _skipped_block(node: ast.If) -> bool:
    test = node.test
    if isinstance(test, ast.Compare) and isinstance(test.left, ast.Name) and test.left.id == "__name__":
        return True
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(module: str, path: Path) -> list[tuple[str, int]]:
    """``(imported module, line)`` for every import of ``module`` (see the module docstring)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _skipped_block(child):
                for other in child.orelse:
                    visit_node(other)
            else:
                visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in modules() else target, node.lineno))
        else:
            visit(node)

    visit(ast.parse(path.read_text(), filename=str(path)))
    return found


@cache
def project_graph() -> dict[str, set[str]]:
    """Each module of the project → the modules of the project it imports."""
    names = modules()
    graph = {}
    for module, path in names.items():
        targets = set()
        for target, _line in imports_of(module, path):
            while target and target not in names:  # spotify_assets.tables.TABLES → spotify_assets.tables
                target = target.rpartition(".")[0]
            if target and target != module:
                targets.add(target)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each as one cycle's path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(_one_cycle(graph, set(component)))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A path a → … → a through ``component``, to name in the failure."""
    start = min(component)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & component):
            if nxt == start:
                return paths[node] + [start]
            if nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    return sorted(component)


def test_no_import_cycle():
    found = cycles(project_graph())
    new = [cycle for cycle in found if set(cycle) not in KNOWN_CYCLES]
    assert not new, "import cycles in spotify_assets/ (each: a → … → a):\n" + "\n".join(" → ".join(c) for c in new)
    gone = [known for known in KNOWN_CYCLES if known not in [set(c) for c in found]]
    assert not gone, f"these cycles are gone: remove them from KNOWN_CYCLES: {gone}"


def test_the_cycle_check_names_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert cycles(graph) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_count_and_main_blocks_do_not(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "import json\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import typed_only\n"
        "def f():\n    from .sibling import thing\n    import late\n"
        "if __name__ == '__main__':\n    import only_as_a_script\n"
    )
    got = {name for name, _ in imports_of("spotify_assets.lake.probe", source)}
    assert got == {"json", "typing", "spotify_assets.lake.sibling", "late"}


def _violations(rule) -> list[str]:
    return [f"{module} imports {target} (line {line})"
            for module, path in modules().items() for target, line in imports_of(module, path)
            if rule(module, target)]


def test_dagster_is_imported_only_by_the_dagster_code_and_the_resource_adapters():
    def rule(module: str, target: str) -> bool:
        dagster = target.split(".")[0] in DAGSTER_PACKAGES
        return dagster and not any(module == allowed or module.startswith(allowed + ".") for allowed in DAGSTER_ALLOWED)

    assert not _violations(rule), "\n".join(_violations(rule))


def test_remote_code_needs_dagster_pipes_only():
    """The Lambda and Glue entry points ship with dagster-pipes, not Dagster."""
    def rule(module: str, target: str) -> bool:
        return module.startswith("spotify_assets.remote") and target.split(".")[0] in DAGSTER_PACKAGES

    assert not _violations(rule), "\n".join(_violations(rule))


def test_the_table_contract_imports_nothing_of_the_project():
    """tables/ is read by every layer; it must not pull any of them in."""
    def rule(module: str, target: str) -> bool:
        return (module.startswith("spotify_assets.tables") and target.startswith("spotify_assets")
                and not target.startswith("spotify_assets.tables"))

    assert not _violations(rule), "\n".join(_violations(rule))


@pytest.mark.parametrize("layer", ["spotify_assets.defs", "spotify_assets.definitions"])
def test_the_libraries_never_import_the_dagster_code(layer):
    """defs/ builds on the libraries, never the other way round (the entry points that run jobs excepted)."""
    runners = ("spotify_assets.defs", "spotify_assets.definitions", "spotify_assets.commands", "spotify_assets.deploy")

    def rule(module: str, target: str) -> bool:
        return ((target == layer or target.startswith(layer + "."))
                and not any(module == r or module.startswith(r + ".") for r in runners))

    assert not _violations(rule), "\n".join(_violations(rule))


def test_no_module_imports_a_private_name_of_another():
    """What two modules share is public and named for what it is (``_x`` is one module's own business): the
    fast path once imported ``_PLAYLIST_REQUEST`` from the record path, the history's audit ``_verdict``."""
    found = []
    for path in modules().values():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("spotify_assets")):
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == [], "private names imported from another module:\n" + "\n".join(found)


# The packages in the order the data flows through them (docs/architecture.md, "Modules and their
# dependencies"): each may import only packages listed before it.
LAYERS = ("settings", "tables", "aws", "spotify", "lake", "transform", "publish", "remote", "warehouse", "sql",
          "history", "report", "emulator", "defs", "definitions", "commands", "deploy")


def test_packages_import_only_the_packages_before_them():
    def layer(module: str) -> str:
        return module.split(".")[1]

    assert set(LAYERS) == {layer(m) for m in modules() if m.count(".") >= 1} - {"__init__"}, "a package is missing from LAYERS"
    upward = [f"{m} imports {t}" for m, targets in project_graph().items() if m.count(".") >= 1
              for t in sorted(targets) if t.count(".") >= 1
              and LAYERS.index(layer(t)) > LAYERS.index(layer(m))]
    assert upward == [], "imports against the flow:\n" + "\n".join(upward)
