-- migrate:up
ALTER TABLE messages ADD COLUMN body_length integer GENERATED ALWAYS AS (char_length(body)) STORED;
ALTER TABLE messages ADD CONSTRAINT messages_body_length_check CHECK (char_length(body) <= 4000);

-- migrate:down
ALTER TABLE messages DROP CONSTRAINT messages_body_length_check;
ALTER TABLE messages DROP COLUMN body_length;
