-- migrate:up
CREATE TYPE analytics.device_info AS (os text, browser text, is_mobile boolean);
ALTER TABLE analytics.page_views ADD COLUMN device analytics.device_info;
CREATE TYPE analytics.traffic_source AS ENUM ('direct', 'search', 'social', 'referral', 'email');
ALTER TABLE analytics.page_views ADD COLUMN source analytics.traffic_source NOT NULL DEFAULT 'direct';

-- migrate:down
ALTER TABLE analytics.page_views DROP COLUMN source;
DROP TYPE analytics.traffic_source;
ALTER TABLE analytics.page_views DROP COLUMN device;
DROP TYPE analytics.device_info;
