-- migrate:up
CREATE SCHEMA archive;
ALTER TABLE reactions SET SCHEMA archive;
CREATE VIEW archive.message_counts AS
    SELECT conversation_id, count(*) AS messages FROM public.messages GROUP BY conversation_id;

-- migrate:down
DROP VIEW archive.message_counts;
ALTER TABLE archive.reactions SET SCHEMA public;
DROP SCHEMA archive;
