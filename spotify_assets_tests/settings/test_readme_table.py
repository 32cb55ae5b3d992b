"""The README's configuration table is the declarations': one row per declared variable, with its default
and meaning, and no row the declarations do not have. ``python -m spotify_assets.settings`` prints it."""

from __future__ import annotations

import re
import subprocess

from spotify_assets.settings import READ_ELSEWHERE, SETTINGS
from spotify_assets.settings.table import markdown
from spotify_assets_tests.readme import readme
from spotify_assets_tests.readme.project import user_env

SECTION = "## Configuration (environment variables)"


def _readme_rows() -> dict[str, tuple[str, str]]:
    """variable (or the first cell of a row read elsewhere) → (default, meaning), from the README's table."""
    text = readme.text()
    section = text[text.index(SECTION):]
    section = section[: section.index("\n## ", len(SECTION))]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if len(cells) == 4 and cells[0] not in ("variable", "---"):
            rows[cells[0].strip("`")] = (cells[1], cells[3].replace("\\|", "|"))
    return rows


def test_every_declared_variable_is_in_the_readme_with_its_default_and_meaning():
    rows = _readme_rows()
    missing = [s.name for s in SETTINGS if s.name not in rows]
    assert missing == [], f"declared but not in the README (run python -m spotify_assets.settings): {missing}"
    defaults = {s.name: (rows[s.name][0], s.default_text) for s in SETTINGS if rows[s.name][0] != s.default_text}
    assert defaults == {}, "README default ≠ declared default (README, declared)"
    meanings = [s.name for s in SETTINGS if rows[s.name][1] != s.meaning]
    assert meanings == [], f"README meaning ≠ declared meaning: {meanings}"


def test_the_readme_lists_no_variable_that_is_not_declared():
    known = {s.name for s in SETTINGS} | {r.names.strip("`") for r in READ_ELSEWHERE}
    assert sorted(set(_readme_rows()) - known) == []


def test_the_readme_table_is_the_rendered_one():
    assert markdown() in readme.text()


def test_the_command_prints_the_table(tmp_path):
    command = readme.command("python -m spotify_assets.settings")
    done = subprocess.run(f".venv/bin/{command}", shell=True, cwd=readme.REPO, env=user_env(tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == markdown()
