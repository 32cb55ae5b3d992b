-- daily_top_tracks: the top {{ top_n }} tracks of partition {{ dt }}.
-- Ranked by popularity; tracks whose popularity is NULL (development quota mode) rank after the others
-- by how often they appear in the day's playlists, so in development mode the ranking is entirely by
-- playlist appearances. `ranked_by` tells which measure placed the row.
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH appearances AS (
    SELECT
        item_id AS track_id,
        count(*) AS playlist_appearances,
        count(DISTINCT playlist_id) AS playlist_count
    FROM playlist_items
    WHERE dt = {{ dt }}
      AND item_type = 'track'
      AND item_id IS NOT NULL
    GROUP BY item_id
),
ranked AS (
    SELECT
        t.track_id,
        t.name,
        t.album_id,
        t.popularity,
        coalesce(a.playlist_appearances, 0) AS playlist_appearances,
        coalesce(a.playlist_count, 0) AS playlist_count,
        row_number() OVER (
            ORDER BY (t.popularity IS NULL), t.popularity DESC, coalesce(a.playlist_appearances, 0) DESC, t.track_id
        ) AS track_rank
    FROM tracks t
    LEFT JOIN appearances a ON a.track_id = t.track_id
    WHERE t.dt = {{ dt }}
)
SELECT
    track_rank,
    track_id,
    name,
    album_id,
    popularity,
    playlist_appearances,
    playlist_count,
    CASE WHEN popularity IS NULL THEN 'playlist_appearances' ELSE 'popularity' END AS ranked_by,
    {{ dt }} AS dt
FROM ranked
WHERE track_rank <= {{ top_n }}
ORDER BY track_rank
