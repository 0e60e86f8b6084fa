ALTER TABLE users ADD COLUMN trial_ends_at timestamp;
ALTER TABLE users ALTER COLUMN trial_ends_at TYPE timestamptz USING trial_ends_at AT TIME ZONE 'UTC';
CREATE TABLE events_2026 (id bigint NOT NULL, happened_on date NOT NULL, kind text);
ALTER TABLE events ATTACH PARTITION events_2026 FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
