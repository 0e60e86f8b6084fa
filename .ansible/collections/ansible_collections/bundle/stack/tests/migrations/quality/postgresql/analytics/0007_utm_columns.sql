-- migrate:up
ALTER TABLE analytics.page_views
    ADD COLUMN utm_source text,
    ADD COLUMN utm_medium text,
    ADD COLUMN utm_campaign text;
COMMENT ON COLUMN analytics.page_views.utm_source IS 'utm_source of the landing URL';

-- migrate:down
ALTER TABLE analytics.page_views
    DROP COLUMN utm_campaign,
    DROP COLUMN utm_medium,
    DROP COLUMN utm_source;
