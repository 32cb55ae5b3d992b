"""Every file and module the docs and docstrings point at exists.

Files and packages move; the prose that names them is easy to forget. This test reads README.md,
docs/*.md, the package READMEs and the project's docstrings and checks that every ``spotify_assets/….py``
path, every package-relative ``lake/publication.py``-style path and every dotted ``spotify_assets.x.y``
name (module, or an attribute of one) resolves — so the next move that leaves a pointer behind fails here,
naming the file and the pointer.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "spotify_assets"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *sorted(PACKAGE.rglob("README.md"))]
CODE = sorted(PACKAGE.rglob("*.py"))
# Files the README asks the reader to create (they do not exist in the repository).
CREATED_BY_THE_READER = {"spotify_assets/defs/insights/explicit_share.py"}

FULL_PATH = re.compile(r"(?<![\w/.:-])spotify_assets(?:_tests)?/[\w/.-]*?\.py\b")
# A backticked relative path such as `lake/publication.py` or `defs/automation/jobs.py`.
RELATIVE_PATH = re.compile(r"`((?:[a-z_]+/)+[a-z_]+\.py)`")
# A dotted name such as spotify_assets.lake.publication or spotify_assets.sql.to_engine_sql.
DOTTED = re.compile(r"\bspotify_assets(?:\.[A-Za-z_]\w*)+")
# A backticked name with three or more lower-case parts (`lake.raw.list_raw_files`): a module path of the
# project unless its first part is another importable package (`pyarrow.json.read_json`).
SHORT_DOTTED = re.compile(r"`([a-z_]\w*(?:\.[a-z_]\w*){2,})`")
# A Sphinx role naming a module relative to the docstring's package (:mod:`.publication`, :class:`~.glue.X`).
RELATIVE_ROLE = re.compile(r":(?:mod|func|class|data|meth|attr):`~?(\.[A-Za-z_][\w.]*)`")
FILE_SUFFIXES = (".gz", ".json", ".py", ".lock", ".yaml", ".yml", ".sql", ".zip", ".toml", ".log", ".duckdb")


def _resolves(dotted: str) -> bool:
    """``dotted`` is a module of the project, or attributes (at most two deep) of one."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        rest = parts[cut:]
        if len(rest) > 2:
            return False
        for attr in rest:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


def _is_other_package(name: str) -> bool:
    top = name.split(".")[0]
    if top == "spotify_assets" or (PACKAGE / top).is_dir():
        return False
    try:
        importlib.import_module(top)
    except ImportError:
        return False
    return True


def _stale_pointers(path: Path) -> list[str]:
    text = path.read_text()
    where = path.relative_to(REPO)
    stale = []
    for match in FULL_PATH.finditer(text):
        pointer = match.group(0)
        if pointer not in CREATED_BY_THE_READER and not (REPO / pointer).exists():
            stale.append(f"{where}: {pointer} (no such file)")
    for match in RELATIVE_PATH.finditer(text):
        pointer = match.group(1)
        if pointer.split("/")[-1] in {Path(p).name for p in CREATED_BY_THE_READER}:
            continue
        if not any((base / pointer).exists() for base in (REPO, PACKAGE, path.parent)):
            stale.append(f"{where}: {pointer} (no such file under the repository or spotify_assets/)")
    for match in DOTTED.finditer(text):
        name = match.group(0).rstrip(".")
        if text[match.end():match.end() + 1] in ("/", '"') or name.endswith(FILE_SUFFIXES) or name == "spotify_assets.jsonl":
            continue  # a file name (spotify_assets.jsonl.gz) or a string value, not a module
        if not _resolves(name):
            stale.append(f"{where}: {name} (no such module or attribute)")
    for match in SHORT_DOTTED.finditer(text):
        name = match.group(1)
        if name.endswith(FILE_SUFFIXES) or name.startswith("spotify_assets.") or _is_other_package(name):
            continue
        if not _resolves(f"spotify_assets.{name}"):
            stale.append(f"{where}: {name} (no such module or attribute under spotify_assets)")
    if path.suffix == ".py":
        package = ".".join(path.parent.relative_to(REPO).parts)
        for match in RELATIVE_ROLE.finditer(text):
            if not _resolves(package + match.group(1)):
                stale.append(f"{where}: {match.group(1)} (no such module or attribute in {package})")
    return stale


def test_docs_point_at_files_and_modules_that_exist():
    stale = [line for doc in DOCS for line in _stale_pointers(doc)]
    assert not stale, "stale pointers in the docs:\n" + "\n".join(stale)


def test_docstrings_point_at_files_and_modules_that_exist():
    stale = [line for module in CODE for line in _stale_pointers(module)]
    assert not stale, "stale pointers in the code:\n" + "\n".join(stale)


def test_the_check_catches_a_stale_pointer(tmp_path):
    doc = REPO / "docs" / "_pointer_probe.md"
    doc.write_text("`assets.transformed.build_transformed_tables`, spotify_assets/wap.py, "
                   "spotify_assets.sql.tables, `defs/analytics/nothing.py`, spotify_assets.sql.to_engine_sql\n")
    try:
        stale = _stale_pointers(doc)
    finally:
        doc.unlink()
    assert [line.split(": ", 1)[1].split(" (")[0] for line in stale] == [
        "spotify_assets/wap.py", "defs/analytics/nothing.py", "spotify_assets.sql.tables",
        "assets.transformed.build_transformed_tables"]
