"""The tables of the lake, declared once: the transformed tables (:mod:`.transformed`) and the analytics
tables (:mod:`.analytics`), each column with its type, description and where its value comes from
(:mod:`.contract`). Everything else — Parquet files, Glue, DuckDB views, the UI, the transform — reads them here."""

from .analytics import ANALYTICS_TABLES
from .contract import COERCIONS, PARTITION_DAY, Column, Range, Reference, TableSpec
from .transformed import LISTENING_TABLES, TABLE_SOURCES, TABLES

__all__ = ["ANALYTICS_TABLES", "COERCIONS", "LISTENING_TABLES", "PARTITION_DAY", "TABLES", "TABLE_SOURCES", "Column", "Range",
           "Reference", "TableSpec"]
