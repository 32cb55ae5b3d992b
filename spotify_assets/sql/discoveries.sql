-- discoveries: the tracks the user played on {{ dt }} and not in the {{ lookback_days }} days before ({{ start_dt }} ..
-- the day before {{ dt }}): first plays within that look-back, one row per track, with the day's first play of it
-- (when, from which context) and how often it was played that day. The look-back only sees the plays the lake
-- holds: on the first days of a lake almost every track is a discovery. Local files (no track_id) are left out.
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH today AS (
    SELECT
        track_id,
        min(played_at) AS first_played_at,
        count(*) AS plays,
        min_by(context_type, played_at) AS first_context_type,
        min_by(context_uri, played_at) AS first_context_uri
    FROM plays
    WHERE dt = {{ dt }} AND track_id IS NOT NULL
    GROUP BY track_id
),
earlier AS (
    SELECT DISTINCT track_id
    FROM plays
    WHERE dt >= {{ start_dt }} AND dt < {{ dt }} AND track_id IS NOT NULL
)
SELECT
    d.track_id,
    t.name,
    t.album_id,
    d.first_played_at,
    d.plays,
    d.first_context_type,
    d.first_context_uri,
    {{ dt }} AS dt
FROM today d
LEFT JOIN earlier e ON e.track_id = d.track_id
LEFT JOIN tracks t ON t.track_id = d.track_id AND t.dt = {{ dt }}
WHERE e.track_id IS NULL
ORDER BY d.first_played_at, d.track_id
