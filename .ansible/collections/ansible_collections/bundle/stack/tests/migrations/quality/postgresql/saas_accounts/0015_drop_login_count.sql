-- migrate:up
-- login_count was never read; last_seen_at is enough.
ALTER TABLE users DROP COLUMN login_count;

-- migrate:down
ALTER TABLE users ADD COLUMN login_count integer NOT NULL DEFAULT 0;
