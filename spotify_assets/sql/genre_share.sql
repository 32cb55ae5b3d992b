-- genre_share: for partition {{ dt }}, per genre
--   artist_count / artist_share: artists tagged with the genre, over all artists of the day;
--   track_appearances / track_appearance_share: playlist positions holding a track by at least one
--   artist of the genre (a position counts once per genre), over all track positions of the day.
-- A track or artist can carry several genres, so each share column sums to more than 1 in general.
-- Dialect: Athena (Trino). DuckDB runs it translated by sqlglot. dt is a 'YYYY-MM-DD' string on both.
WITH day_artists AS (
    SELECT DISTINCT artist_id FROM artists WHERE dt = {{ dt }}
),
day_genres AS (
    SELECT DISTINCT artist_id, genre FROM artist_genres WHERE dt = {{ dt }}
),
day_items AS (
    SELECT playlist_id, position, item_id AS track_id
    FROM playlist_items
    WHERE dt = {{ dt }} AND item_type = 'track' AND item_id IS NOT NULL
),
item_genres AS (
    SELECT DISTINCT i.playlist_id, i.position, g.genre
    FROM day_items i
    JOIN track_artists ta ON ta.track_id = i.track_id AND ta.dt = {{ dt }}
    JOIN day_genres g ON g.artist_id = ta.artist_id
),
artist_counts AS (
    SELECT genre, count(DISTINCT artist_id) AS artist_count FROM day_genres GROUP BY genre
),
item_counts AS (
    SELECT genre, count(*) AS track_appearances FROM item_genres GROUP BY genre
),
totals AS (
    SELECT
        (SELECT count(*) FROM day_artists) AS total_artists,
        (SELECT count(*) FROM day_items) AS total_track_appearances
)
SELECT
    coalesce(a.genre, i.genre) AS genre,
    coalesce(a.artist_count, 0) AS artist_count,
    CAST(coalesce(a.artist_count, 0) AS DOUBLE) / nullif(t.total_artists, 0) AS artist_share,
    coalesce(i.track_appearances, 0) AS track_appearances,
    CAST(coalesce(i.track_appearances, 0) AS DOUBLE) / nullif(t.total_track_appearances, 0) AS track_appearance_share,
    {{ dt }} AS dt
FROM artist_counts a
FULL OUTER JOIN item_counts i ON i.genre = a.genre
CROSS JOIN totals t
ORDER BY track_appearances DESC, artist_count DESC, genre
