-- migrate:up
CREATE TABLE analytics.page_stats (
    path text PRIMARY KEY,
    bounce_rate analytics.percentage,
    avg_duration_ms integer,
    computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION analytics.bounce_rate(p_path text) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$ SELECT bounce_rate FROM analytics.page_stats WHERE path = p_path $$;

-- migrate:down
DROP FUNCTION analytics.bounce_rate(text);
DROP TABLE analytics.page_stats;
