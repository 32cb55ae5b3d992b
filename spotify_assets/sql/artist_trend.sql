-- artist_trend: popularity and followers of every artist over the partitions {{ start_dt }} .. {{ dt }}
-- (the last N days; a calendar window so Athena prunes partitions from the literals), one row per artist
-- and snapshot day, with the change since the artist's previous snapshot in the window (NULL on the
-- first one; NULL too when either value is NULL, e.g. development quota mode).
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH daily AS (
    SELECT
        artist_id,
        name,
        popularity,
        followers,
        dt AS snapshot_dt
    FROM artists
    WHERE dt BETWEEN {{ start_dt }} AND {{ dt }}
)
SELECT
    artist_id,
    name,
    snapshot_dt,
    lag(snapshot_dt) OVER (PARTITION BY artist_id ORDER BY snapshot_dt) AS previous_snapshot_dt,
    popularity,
    popularity - lag(popularity) OVER (PARTITION BY artist_id ORDER BY snapshot_dt) AS popularity_change,
    followers,
    followers - lag(followers) OVER (PARTITION BY artist_id ORDER BY snapshot_dt) AS followers_change,
    {{ dt }} AS dt
FROM daily
ORDER BY artist_id, snapshot_dt
