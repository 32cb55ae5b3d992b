-- listening_by_hour: the user's plays of the {{ days }} days {{ start_dt }} .. {{ dt }} by weekday and hour of day,
-- both in UTC (the lake's time zone: played_at is UTC). One row per weekday and hour with at least one play
-- (hours without plays have no row). track_minutes adds up the played tracks' lengths: Spotify does not say
-- how much of a track was heard, so a skipped track counts whole.
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH window_plays AS (
    SELECT
        p.played_at,
        p.track_id,
        t.duration_ms
    FROM plays p
    LEFT JOIN tracks t
        ON t.track_id = p.track_id
        AND t.dt = p.dt
        AND t.dt BETWEEN {{ start_dt }} AND {{ dt }}
    WHERE p.dt BETWEEN {{ start_dt }} AND {{ dt }}
),
cells AS (
    SELECT
        day_of_week(played_at) AS weekday,
        hour(played_at) AS hour,
        count(*) AS plays,
        count(DISTINCT track_id) AS distinct_tracks,
        sum(duration_ms) AS duration_ms
    FROM window_plays
    GROUP BY day_of_week(played_at), hour(played_at)
),
total AS (
    SELECT count(*) AS plays FROM window_plays
)
SELECT
    c.weekday,
    CASE c.weekday
        WHEN 1 THEN 'Monday' WHEN 2 THEN 'Tuesday' WHEN 3 THEN 'Wednesday' WHEN 4 THEN 'Thursday'
        WHEN 5 THEN 'Friday' WHEN 6 THEN 'Saturday' ELSE 'Sunday'
    END AS weekday_name,
    c.hour,
    c.plays,
    c.distinct_tracks,
    CAST(coalesce(c.duration_ms, 0) AS DOUBLE) / 60000 AS track_minutes,
    CAST(c.plays AS DOUBLE) / t.plays AS share_of_plays,
    {{ days }} AS window_days,
    {{ dt }} AS dt
FROM cells c
CROSS JOIN total t
ORDER BY c.weekday, c.hour
