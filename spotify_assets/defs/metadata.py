"""Metadata helpers shared by the assets: column schemas and small Markdown previews for the UI."""

from __future__ import annotations

import dagster as dg

from ..publish.preview import PREVIEW_ROWS, markdown_preview
from ..tables import TableSpec

__all__ = ["PREVIEW_ROWS", "column_schema", "markdown_preview"]


def column_schema(spec: TableSpec) -> dg.TableSchema:
    """The table's columns with types, nullability, descriptions and the rules of a valid record (range,
    reference), as ``dagster/column_schema``."""
    descriptions = spec.column_descriptions()
    ranges, references = dict(spec.ranges), dict(spec.references)

    def rules(name: str) -> list[str]:
        out = [f"values in {ranges[name].describe()}"] if name in ranges else []
        if name in references:
            ref = references[name]
            when = f" (where {ref.when[0]} = {ref.when[1]})" if ref.when else ""
            out.append(f"references {ref.table}.{ref.column}{when}")
        return out

    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=f.name,
                type=str(f.type),
                description=descriptions.get(f.name) or None,
                constraints=dg.TableColumnConstraints(
                    nullable=f.nullable, unique=spec.key == (f.name,), other=rules(f.name)
                ),
            )
            for f in spec.schema
        ]
    )
