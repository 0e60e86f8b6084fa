-- migrate:up
GRANT SELECT ON organizations, users, audit_logs TO readonly;
GRANT SELECT (id, user_id, last_used, expires_at) ON api_keys TO readonly;
COMMENT ON TABLE audit_logs IS 'Who changed what, and when';

-- migrate:down
COMMENT ON TABLE audit_logs IS NULL;
REVOKE SELECT (id, user_id, last_used, expires_at) ON api_keys FROM readonly;
REVOKE SELECT ON organizations, users, audit_logs FROM readonly;
