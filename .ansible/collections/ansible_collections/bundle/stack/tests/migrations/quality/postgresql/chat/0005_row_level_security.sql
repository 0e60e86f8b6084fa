-- migrate:up
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY messages_participant_read ON messages FOR SELECT
    USING (EXISTS (SELECT 1 FROM participants p
                   WHERE p.conversation_id = messages.conversation_id
                     AND p.account_id = current_setting('chat.account_id', true)::bigint));
CREATE POLICY messages_sender_write ON messages FOR INSERT
    WITH CHECK (sender_id = current_setting('chat.account_id', true)::bigint);

-- migrate:down
DROP POLICY messages_sender_write ON messages;
DROP POLICY messages_participant_read ON messages;
ALTER TABLE messages DISABLE ROW LEVEL SECURITY;
