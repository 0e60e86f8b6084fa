-- migrate:up
DELETE FROM messages WHERE kind = 'system';
ALTER TABLE messages DROP COLUMN edited_at;

-- migrate:down
ALTER TABLE messages ADD COLUMN edited_at timestamptz;
