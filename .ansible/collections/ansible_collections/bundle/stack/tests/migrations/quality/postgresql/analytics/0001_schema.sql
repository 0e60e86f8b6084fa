-- migrate:up
CREATE SCHEMA analytics;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
CREATE DOMAIN analytics.percentage AS numeric(5,2) CHECK (VALUE >= 0 AND VALUE <= 100);

-- migrate:down
DROP DOMAIN analytics.percentage;
DROP EXTENSION IF EXISTS pg_trgm;
DROP SCHEMA analytics;
