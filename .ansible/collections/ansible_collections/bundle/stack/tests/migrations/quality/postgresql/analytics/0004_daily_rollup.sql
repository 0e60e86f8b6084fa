-- migrate:up
CREATE MATERIALIZED VIEW analytics.daily_page_views AS
    SELECT date_trunc('day', viewed_at)::date AS day, path, count(*) AS views, count(DISTINCT session_id) AS sessions
    FROM analytics.page_views
    GROUP BY 1, 2
WITH NO DATA;
CREATE UNIQUE INDEX daily_page_views_day_path_key ON analytics.daily_page_views (day, path);
COMMENT ON MATERIALIZED VIEW analytics.daily_page_views IS 'Refreshed nightly';

-- migrate:down
DROP MATERIALIZED VIEW analytics.daily_page_views;
