"""Small Markdown previews of Arrow tables, shown as ``preview`` metadata in the UI.

Dagster-free so the remote transform (Lambda, Glue) renders the same preview an in-process run does.
"""

from __future__ import annotations

import pyarrow as pa

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 40


def _cell(value) -> str:
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"


def markdown_preview(table: pa.Table, rows: int = PREVIEW_ROWS) -> str:
    """The first rows of ``table`` as a Markdown table (cells truncated, pipes escaped)."""
    names = table.column_names
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    for row in table.slice(0, rows).to_pylist():
        lines.append("| " + " | ".join(_cell(row[n]) for n in names) + " |")
    if table.num_rows > rows:
        lines.append(f"\n… {table.num_rows - rows} more rows")
    return "\n".join(lines)
