-- migrate:up
-- One row per job a worker finished (refapp-worker): what the job queue produced.
-- job_id is the backend's id of the job, unique so a job redelivered after a worker
-- crash is recorded once.
CREATE TABLE job_results (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id text NOT NULL,
    queue text NOT NULL,
    worker_type text NOT NULL,
    worker_id text NOT NULL,
    payload jsonb,
    enqueued_at timestamptz,
    processed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_results_job_id_key UNIQUE (job_id)
);
CREATE INDEX job_results_processed_at_idx ON job_results (processed_at);

-- migrate:down
DROP TABLE job_results;
