-- migrate:up
CREATE TABLE analytics.page_views (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL,
    path text NOT NULL,
    referrer text,
    viewed_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer
);
CREATE INDEX page_views_viewed_at_idx ON analytics.page_views USING brin (viewed_at);
CREATE INDEX page_views_path_trgm_idx ON analytics.page_views USING gin (path gin_trgm_ops);

-- migrate:down
DROP TABLE analytics.page_views;
