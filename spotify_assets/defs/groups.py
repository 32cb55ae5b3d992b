"""The asset groups, one per stage of the pipeline (the UI's lineage and the jobs select by group)."""

RAW = "raw"  # Spotify API → raw zone
TRANSFORMED = "transformed"  # raw zone → audited, published tables
CATALOG = "catalog"  # Glue tables / DuckDB views over the published tables
ANALYTICS = "analytics"  # SQL over the catalog
INSIGHTS = "insights"  # Python assets over the published tables (the lake IO manager)
# The user's data export → streams → listens, their catalog entries: one run per import, not daily, and
# outside daily_job / transform_job (import_history_job runs it).
HISTORY = "history"

DOWNSTREAM_OF_RAW = (TRANSFORMED, CATALOG, ANALYTICS, INSIGHTS)
ALL = (RAW, *DOWNSTREAM_OF_RAW)  # the daily pipeline
