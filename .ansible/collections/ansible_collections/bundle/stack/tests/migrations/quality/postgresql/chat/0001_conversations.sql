-- migrate:up
CREATE TABLE accounts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username varchar(32) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_username_key ON accounts (lower(username));

CREATE TABLE conversations (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title text,
    is_group boolean NOT NULL DEFAULT false,
    created_by bigint NOT NULL REFERENCES accounts (id),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE participants (
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    joined_at timestamptz NOT NULL DEFAULT now(),
    last_read_message_id bigint,
    PRIMARY KEY (conversation_id, account_id)
);

-- migrate:down
DROP TABLE participants;
DROP TABLE conversations;
DROP TABLE accounts;
