-- migrate:up
CREATE FUNCTION unread_count(p_conversation bigint, p_account bigint) RETURNS bigint
    LANGUAGE sql STABLE
    AS $$
    SELECT count(*) FROM messages m
    JOIN participants p ON p.conversation_id = m.conversation_id AND p.account_id = p_account
    WHERE m.conversation_id = p_conversation AND m.id > coalesce(p.last_read_message_id, 0)
    $$;
GRANT EXECUTE ON FUNCTION unread_count(bigint, bigint) TO readonly;
REVOKE EXECUTE ON FUNCTION unread_count(bigint, bigint) FROM PUBLIC;

-- migrate:down
DROP FUNCTION unread_count(bigint, bigint);
