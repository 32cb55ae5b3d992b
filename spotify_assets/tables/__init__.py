"""The tables of the lake, declared once: the transformed tables (:mod:`.transformed`) and the analytics
queries with their tables (:mod:`.analytics`) and the listening history (:mod:`.history`), each column with its type, description and where its value comes from
(:mod:`.contract`). Everything else — Parquet files, Glue, DuckDB views, the UI, the transform — reads them here."""

from .analytics import ANALYTICS_QUERIES, ANALYTICS_TABLES, AnalyticsQuery
from .contract import COERCIONS, PARTITION_DAY, PARTITION_KEYS, Column, Range, Reference, TableSpec
from .history import HISTORY_TABLES
from .transformed import LISTENING_TABLES, TABLE_SOURCES, TABLES

__all__ = ["ANALYTICS_QUERIES", "ANALYTICS_TABLES", "AnalyticsQuery", "COERCIONS", "HISTORY_TABLES", "LISTENING_TABLES", "PARTITION_DAY", "PARTITION_KEYS",
           "TABLES", "TABLE_SOURCES", "Column", "Range", "Reference", "TableSpec"]
