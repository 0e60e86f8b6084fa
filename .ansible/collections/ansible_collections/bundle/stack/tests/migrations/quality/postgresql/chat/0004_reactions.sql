-- migrate:up
CREATE TABLE reactions (
    message_id bigint NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    emoji text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reactions_pkey PRIMARY KEY (message_id, account_id, emoji)
);

-- migrate:down
DROP TABLE IF EXISTS reactions;
