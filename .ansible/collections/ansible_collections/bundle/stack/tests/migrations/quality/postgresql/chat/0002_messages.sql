-- migrate:up
CREATE TYPE message_kind AS ENUM ('text', 'image', 'system');
CREATE TABLE messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    sender_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    kind message_kind NOT NULL DEFAULT 'text',
    body text NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    edited_at timestamptz
);
CREATE INDEX messages_conversation_sent_at_idx ON messages (conversation_id, sent_at DESC);
ALTER TABLE participants ADD CONSTRAINT participants_last_read_fk
    FOREIGN KEY (last_read_message_id) REFERENCES messages (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

-- migrate:down
ALTER TABLE participants DROP CONSTRAINT participants_last_read_fk;
DROP TABLE messages;
DROP TYPE message_kind;
