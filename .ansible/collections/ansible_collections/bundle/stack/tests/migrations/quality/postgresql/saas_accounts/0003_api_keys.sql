-- migrate:up
CREATE TABLE api_keys (
    id text PRIMARY KEY,
    hashed_secret bytea NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    last_used timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_id_idx ON api_keys (user_id);
COMMENT ON COLUMN api_keys.hashed_secret IS 'SHA-256 of the secret; the secret itself is never stored';

-- migrate:down
DROP TABLE api_keys;
