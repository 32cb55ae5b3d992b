"""The README's configuration table, rendered from the declarations (one row per variable)."""

from __future__ import annotations

from .declared import READ_ELSEWHERE, SETTINGS

HEADER = "| variable | default | secret | meaning |\n|---|---|---|---|"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rows() -> list[str]:
    lines = [f"| `{s.name}` | {_cell(s.default_text)} | {'yes' if s.secret else 'no'} | {_cell(s.meaning)} |"
             for s in SETTINGS]
    lines += [f"| {r.names} | | | {_cell(r.meaning)} |" for r in READ_ELSEWHERE]
    return lines


def markdown() -> str:
    """The table as the README shows it under "Configuration (environment variables)"."""
    return "\n".join([HEADER, *rows()])
