"""The README as tests read it: its code blocks and the commands it shows, so a test runs the README's own
text (and test_commands.py checks that every command shown is run by some test).

A *command* is what a reader is meant to type: every line of a ```bash block (comments stripped) and every
inline code span that starts like one (``make …``, ``.venv/bin/…``, ``DAGSTER_HOME=…``, ``python -m …``).
Tests get a command with :func:`command`, by a literal prefix, which is how test_commands.py finds them.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
_BLOCK = re.compile(r"^([ \t]*)```(\w*)\n(.*?)^\1```", re.DOTALL | re.MULTILINE)
_INLINE = re.compile(r"`([^`\n]+)`")
_COMMAND_START = re.compile(r"^(make |\.venv/bin/|DAGSTER_HOME=|python -m )")


@cache
def text() -> str:
    return README.read_text()


def blocks(language: str) -> list[str]:
    """The README's ```<language> blocks, in order, their indentation removed."""
    found = []
    for indent, lang, body in _BLOCK.findall(text()):
        if lang == language:
            found.append("".join(line[len(indent):] if line.startswith(indent) else line
                                 for line in body.splitlines(keepends=True)))
    return found


def _strip_comment(line: str) -> str:
    # a shell comment starts at "#" after whitespace (never inside the commands shown here)
    return re.split(r"\s+#\s", " " + line, maxsplit=1)[0].strip()


@cache
def commands() -> tuple[str, ...]:
    """Every command the README shows, in order of appearance, each once."""
    found: list[str] = []
    for block in blocks("bash"):
        found += [c for c in (_strip_comment(line) for line in block.splitlines()) if c]
    outside = _BLOCK.sub("", text())
    found += [span.strip() for span in _INLINE.findall(outside) if _COMMAND_START.match(span.strip())]
    return tuple(dict.fromkeys(found))


def command(prefix: str) -> str:
    """The README command ``prefix`` itself, else the one that starts with it (fails unless exactly one does)."""
    matching = [c for c in commands() if c == prefix] or [c for c in commands() if c.startswith(prefix)]
    assert len(matching) == 1, f"README commands starting with {prefix!r}: {matching}"
    return matching[0]


def first_block_after(heading: str, language: str) -> str:
    """The first ```<language> block after the line ``heading`` (e.g. a section's first Python example)."""
    start = text().index(heading)
    for indent, lang, body in _BLOCK.findall(text()[start:]):
        if lang == language:
            return "".join(line[len(indent):] if line.startswith(indent) else line
                           for line in body.splitlines(keepends=True))
    raise AssertionError(f"no ```{language} block after {heading!r}")
