-- migrate:up
CREATE TYPE user_status AS ENUM ('active', 'suspended');
ALTER TABLE users ADD COLUMN status user_status NOT NULL DEFAULT 'active';
CREATE INDEX users_status_idx ON users (status) WHERE status <> 'active';

-- migrate:down
DROP INDEX users_status_idx;
ALTER TABLE users DROP COLUMN status;
DROP TYPE user_status;
