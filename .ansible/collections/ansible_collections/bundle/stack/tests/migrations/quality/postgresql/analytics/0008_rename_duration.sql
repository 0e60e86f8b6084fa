-- migrate:up
ALTER TABLE analytics.page_views RENAME COLUMN duration_ms TO time_on_page_ms;
ALTER TABLE analytics.page_views ALTER COLUMN time_on_page_ms TYPE bigint;
ALTER TABLE analytics.page_stats RENAME COLUMN avg_duration_ms TO avg_time_on_page_ms;

-- migrate:down
ALTER TABLE analytics.page_stats RENAME COLUMN avg_time_on_page_ms TO avg_duration_ms;
ALTER TABLE analytics.page_views ALTER COLUMN time_on_page_ms TYPE integer;
ALTER TABLE analytics.page_views RENAME COLUMN time_on_page_ms TO duration_ms;
