"""Metadata helpers shared by the assets: column schemas and small Markdown previews for the UI."""

from __future__ import annotations

import dagster as dg
import pyarrow as pa

from ..tables import TableSpec

PREVIEW_ROWS = 5
PREVIEW_CELL_CHARS = 40


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """The table's columns with types, nullability and descriptions, as ``dagster/column_schema``."""
    descriptions = spec.column_descriptions()
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name,
                type=str(f.type),
                description=descriptions.get(f.name) or None,
                constraints=dg.TableColumnConstraints(nullable=f.nullable, unique=spec.key == (f.name,)),
            )
            for f in spec.schema
        ]
    )


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
