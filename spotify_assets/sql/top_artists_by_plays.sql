-- top_artists_by_plays: the user's top {{ top_n }} artists by plays over the last 7 days ({{ start_week_dt }} .. {{ dt }})
-- and the last 30 days ({{ start_month_dt }} .. {{ dt }}), one row per window and rank. A play counts for every artist
-- credited on its track (track_artists of the play's day), so an artist's share_of_plays is its plays over all
-- plays of the window and the shares add up to more than 1 when tracks have several artists. Ties: the artist
-- played most recently ranks first, then by artist_id. name: the artist's name on the latest day of the window.
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH windows AS (
    SELECT 7 AS window_days, {{ start_week_dt }} AS start_dt
    UNION ALL
    SELECT 30 AS window_days, {{ start_month_dt }} AS start_dt
),
window_plays AS (
    SELECT w.window_days, p.dt, p.played_at, p.track_id
    FROM windows w
    JOIN plays p ON p.dt >= w.start_dt
    WHERE p.dt BETWEEN {{ start_month_dt }} AND {{ dt }}
),
totals AS (
    SELECT window_days, count(*) AS plays FROM window_plays GROUP BY window_days
),
credited AS (
    SELECT
        wp.window_days,
        ta.artist_id,
        count(*) AS plays,
        count(DISTINCT wp.track_id) AS distinct_tracks,
        max(wp.played_at) AS last_played_at
    FROM window_plays wp
    JOIN track_artists ta
        ON ta.track_id = wp.track_id
        AND ta.dt = wp.dt
        AND ta.dt BETWEEN {{ start_month_dt }} AND {{ dt }}
    GROUP BY wp.window_days, ta.artist_id
),
names AS (
    SELECT artist_id, max_by(name, dt) AS name
    FROM artists
    WHERE dt BETWEEN {{ start_month_dt }} AND {{ dt }}
    GROUP BY artist_id
),
ranked AS (
    SELECT
        c.window_days,
        c.artist_id,
        c.plays,
        c.distinct_tracks,
        row_number() OVER (
            PARTITION BY c.window_days ORDER BY c.plays DESC, c.last_played_at DESC, c.artist_id
        ) AS artist_rank
    FROM credited c
)
SELECT
    r.window_days,
    r.artist_rank,
    r.artist_id,
    n.name,
    r.plays,
    r.distinct_tracks,
    CAST(r.plays AS DOUBLE) / t.plays AS share_of_plays,
    {{ dt }} AS dt
FROM ranked r
JOIN totals t ON t.window_days = r.window_days
LEFT JOIN names n ON n.artist_id = r.artist_id
WHERE r.artist_rank <= {{ top_n }}
ORDER BY r.window_days, r.artist_rank
