-- playlist_churn: for every playlist in partition {{ dt }}, the tracks/episodes added and removed since the
-- playlist's previous available snapshot (the latest partition before {{ dt }} and on/after {{ start_dt }},
-- the look-back window that keeps Athena's partition pruning static). Compares the *sets* of item_ids
-- (local files, which have no id, are ignored; moving an item is not churn). A playlist with no earlier
-- snapshot in the window has previous_dt, items_added and items_removed NULL.
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH today AS (
    SELECT DISTINCT playlist_id FROM playlists WHERE dt = {{ dt }}
),
previous AS (
    SELECT p.playlist_id, max(p.dt) AS previous_dt
    FROM playlists p
    JOIN today t ON t.playlist_id = p.playlist_id
    WHERE p.dt >= {{ start_dt }} AND p.dt < {{ dt }}
    GROUP BY p.playlist_id
),
cur_items AS (
    SELECT DISTINCT playlist_id, item_id
    FROM playlist_items
    WHERE dt = {{ dt }} AND item_id IS NOT NULL
),
prev_items AS (
    SELECT DISTINCT i.playlist_id, i.item_id
    FROM playlist_items i
    JOIN previous p ON p.playlist_id = i.playlist_id AND p.previous_dt = i.dt
    WHERE i.dt >= {{ start_dt }} AND i.dt < {{ dt }} AND i.item_id IS NOT NULL
),
added AS (
    SELECT c.playlist_id, count(*) AS n
    FROM cur_items c
    LEFT JOIN prev_items p ON p.playlist_id = c.playlist_id AND p.item_id = c.item_id
    WHERE p.item_id IS NULL
    GROUP BY c.playlist_id
),
removed AS (
    SELECT p.playlist_id, count(*) AS n
    FROM prev_items p
    LEFT JOIN cur_items c ON c.playlist_id = p.playlist_id AND c.item_id = p.item_id
    WHERE c.item_id IS NULL
    GROUP BY p.playlist_id
),
counts AS (
    SELECT playlist_id, count(*) AS n FROM cur_items GROUP BY playlist_id
),
prev_counts AS (
    SELECT playlist_id, count(*) AS n FROM prev_items GROUP BY playlist_id
)
SELECT
    t.playlist_id,
    p.previous_dt,
    coalesce(c.n, 0) AS item_count,
    CASE WHEN p.previous_dt IS NULL THEN NULL ELSE coalesce(pc.n, 0) END AS previous_item_count,
    CASE WHEN p.previous_dt IS NULL THEN NULL ELSE coalesce(a.n, 0) END AS items_added,
    CASE WHEN p.previous_dt IS NULL THEN NULL ELSE coalesce(r.n, 0) END AS items_removed,
    {{ dt }} AS dt
FROM today t
LEFT JOIN previous p ON p.playlist_id = t.playlist_id
LEFT JOIN counts c ON c.playlist_id = t.playlist_id
LEFT JOIN prev_counts pc ON pc.playlist_id = t.playlist_id
LEFT JOIN added a ON a.playlist_id = t.playlist_id
LEFT JOIN removed r ON r.playlist_id = t.playlist_id
ORDER BY t.playlist_id
