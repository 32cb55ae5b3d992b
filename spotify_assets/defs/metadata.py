"""Metadata helpers shared by the assets: column schemas and small Markdown previews for the UI."""

from __future__ import annotations

import dagster as dg

from ..preview import PREVIEW_ROWS, markdown_preview
from ..tables import TableSpec

__all__ = ["PREVIEW_ROWS", "column_schema", "markdown_preview"]


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
