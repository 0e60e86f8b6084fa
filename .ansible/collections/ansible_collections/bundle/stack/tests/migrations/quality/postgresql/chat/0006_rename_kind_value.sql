-- migrate:up
ALTER TYPE message_kind RENAME VALUE 'image' TO 'attachment';
ALTER TABLE messages ADD COLUMN attachment_url text;

-- migrate:down
ALTER TABLE messages DROP COLUMN attachment_url;
ALTER TYPE message_kind RENAME VALUE 'attachment' TO 'image';
