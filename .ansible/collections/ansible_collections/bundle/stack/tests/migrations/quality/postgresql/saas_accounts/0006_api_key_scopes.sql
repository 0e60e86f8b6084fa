-- migrate:up
CREATE TYPE api_key_scope AS ENUM ('all', 'application_connect');
ALTER TABLE api_keys ADD COLUMN scope api_key_scope NOT NULL DEFAULT 'all';
ALTER TABLE api_keys ADD COLUMN lifetime_seconds bigint NOT NULL DEFAULT 86400;

-- migrate:down
ALTER TABLE api_keys DROP COLUMN lifetime_seconds;
ALTER TABLE api_keys DROP COLUMN scope;
DROP TYPE api_key_scope;
