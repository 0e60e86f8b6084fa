-- migrate:up
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

CREATE TRIGGER jobs_notify AFTER INSERT ON jobs FOR EACH ROW EXECUTE PROCEDURE jobs_notify();

-- migrate:down
DROP TRIGGER jobs_notify ON jobs;
DROP FUNCTION jobs_notify();
