-- migrate:up
ALTER TYPE job_state ADD VALUE IF NOT EXISTS 'retryable' BEFORE 'running';
ALTER TYPE job_state ADD VALUE IF NOT EXISTS 'scheduled' AFTER 'retryable';

-- migrate:down
ALTER TYPE job_state RENAME TO job_state_old;
CREATE TYPE job_state AS ENUM ('available', 'running', 'completed', 'discarded');
ALTER TABLE jobs ALTER COLUMN state DROP DEFAULT;
ALTER TABLE jobs ALTER COLUMN state TYPE job_state USING state::text::job_state;
ALTER TABLE jobs ALTER COLUMN state SET DEFAULT 'available';
CREATE OR REPLACE FUNCTION jobs_notify() RETURNS TRIGGER AS $$
DECLARE
  payload json;
BEGIN
  IF NEW.state = 'available' AND NEW.scheduled_at <= now() THEN
    payload = json_build_object('queue', NEW.queue);
    PERFORM pg_notify('jobs_insert', payload::text);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TYPE job_state_old;
