CREATE INDEX users_created_at_idx ON users (created_at DESC);
CREATE INDEX ON billing.invoices (user_id, issued_on);
CREATE UNIQUE INDEX IF NOT EXISTS users_lower_display_name_key ON users (lower(display_name)) WHERE display_name IS NOT NULL;
CREATE INDEX audit_log_detail_idx ON audit_log USING gin (detail jsonb_path_ops);
