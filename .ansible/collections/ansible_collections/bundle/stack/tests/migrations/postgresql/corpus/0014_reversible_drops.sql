-- Drops that lose no data: each object comes back from the catalog snapshot.
DROP INDEX users_created_at_idx;
DROP VIEW active_users;
ALTER TABLE users DROP CONSTRAINT users_display_name_min_length;
DROP TRIGGER users_touch_updated_at ON users;
DROP FUNCTION touch_updated_at();
DROP TYPE price_range;
DROP MATERIALIZED VIEW billing.monthly_revenue;
ALTER TABLE users ALTER COLUMN locale DROP DEFAULT;
