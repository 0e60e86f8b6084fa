-- migrate:up
ALTER TABLE api_keys ADD COLUMN token_name text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX idx_api_key_name ON api_keys USING btree (user_id, token_name) WHERE (token_name <> '');

-- migrate:down
DROP INDEX IF EXISTS idx_api_key_name;
ALTER TABLE api_keys DROP COLUMN IF EXISTS token_name;
