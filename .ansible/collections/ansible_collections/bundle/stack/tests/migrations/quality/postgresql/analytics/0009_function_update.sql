-- migrate:up
CREATE OR REPLACE FUNCTION analytics.bounce_rate(p_path text) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(bounce_rate, 0) FROM analytics.page_stats WHERE path = p_path $$;
COMMENT ON FUNCTION analytics.bounce_rate(text) IS 'Bounce rate of a path, 0 when unknown';

-- migrate:down
COMMENT ON FUNCTION analytics.bounce_rate(text) IS NULL;
CREATE OR REPLACE FUNCTION analytics.bounce_rate(p_path text) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$ SELECT bounce_rate FROM analytics.page_stats WHERE path = p_path $$;
