-- migrate:up
ALTER TABLE users
    ADD COLUMN last_seen_at timestamptz,
    ADD COLUMN login_count integer NOT NULL DEFAULT 0;
UPDATE users SET last_seen_at = updated_at WHERE last_seen_at IS NULL;

-- migrate:down
ALTER TABLE users
    DROP COLUMN login_count,
    DROP COLUMN last_seen_at;
