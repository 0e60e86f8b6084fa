-- migrate:up
ALTER TABLE jobs ADD COLUMN priority smallint NOT NULL DEFAULT 1;
ALTER TABLE jobs ADD CONSTRAINT priority_in_range CHECK (priority >= 1 AND priority <= 4);
DROP INDEX jobs_prioritized_fetching_index;
CREATE INDEX jobs_prioritized_fetching_index ON jobs USING btree (state, queue, priority, scheduled_at, id);

-- migrate:down
DROP INDEX jobs_prioritized_fetching_index;
CREATE INDEX jobs_prioritized_fetching_index ON jobs USING btree (state, queue, scheduled_at, id);
ALTER TABLE jobs DROP CONSTRAINT priority_in_range;
ALTER TABLE jobs DROP COLUMN priority;
