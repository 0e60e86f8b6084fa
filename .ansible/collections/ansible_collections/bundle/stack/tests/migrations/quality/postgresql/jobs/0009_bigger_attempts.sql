-- migrate:up
ALTER TABLE jobs ALTER COLUMN attempt TYPE integer;
ALTER TABLE jobs ALTER COLUMN max_attempts TYPE integer;
ALTER TABLE jobs ALTER COLUMN queue SET DEFAULT 'main';

-- migrate:down
ALTER TABLE jobs ALTER COLUMN queue SET DEFAULT 'default';
ALTER TABLE jobs ALTER COLUMN max_attempts TYPE smallint;
ALTER TABLE jobs ALTER COLUMN attempt TYPE smallint;
