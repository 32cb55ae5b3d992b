"""The asset groups, one per stage of the pipeline (the UI's lineage). What the jobs run is named asset by
asset in :data:`spotify_assets.defs.automation.jobs.PIPELINE`, not by group."""

RAW = "raw"  # Spotify API → raw zone
TRANSFORMED = "transformed"  # raw zone → audited, published tables
CATALOG = "catalog"  # Glue tables / DuckDB views over the published tables
ANALYTICS = "analytics"  # SQL over the catalog
INSIGHTS = "insights"  # Python assets over the published tables (the lake IO manager)
# The user's data export → streams → listens, their catalog entries, the listening report: not daily;
# import_history_job runs it
HISTORY = "history"
