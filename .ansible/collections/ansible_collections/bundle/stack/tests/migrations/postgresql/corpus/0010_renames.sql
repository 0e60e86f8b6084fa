ALTER TABLE audit_log RENAME TO audit_events;
ALTER TABLE audit_events RENAME COLUMN detail TO payload;
ALTER INDEX audit_log_detail_idx RENAME TO audit_events_payload_idx;
ALTER TABLE users RENAME CONSTRAINT users_display_name_length TO users_display_name_min_length;
ALTER TYPE mood RENAME TO user_mood;
ALTER FUNCTION set_updated_at() RENAME TO touch_updated_at;
ALTER TRIGGER users_set_updated_at ON users RENAME TO users_touch_updated_at;
ALTER TYPE user_mood RENAME VALUE 'neutral' TO 'calm';
