-- migrate:up
ALTER TABLE jobs ADD COLUMN unique_key bytea;
CREATE UNIQUE INDEX jobs_kind_unique_key_idx ON jobs (kind, unique_key) WHERE unique_key IS NOT NULL;
ALTER TABLE jobs ADD COLUMN tags varchar(255)[] NOT NULL DEFAULT '{}';

-- migrate:down
ALTER TABLE jobs DROP COLUMN tags;
DROP INDEX jobs_kind_unique_key_idx;
ALTER TABLE jobs DROP COLUMN unique_key;
